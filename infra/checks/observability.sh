#!/usr/bin/env bash
# Static checks of infra/observability/ (no running platform needed):
#   1. Prometheus' promtool (installed from Debian's `prometheus` package if missing;
#      the package's service is not left running):
#      `promtool check config`, `check rules`, `test rules` (alerts.test.yml);
#   2. every alert has a unit test where it fires and one where it does not;
#   3. the Grafana dashboards are what build_dashboards.py generates, and every
#      dashboard query (panels and variables, Grafana variables substituted) parses:
#      they are written as recording rules and checked with `promtool check rules`;
#   4. drift: every `sagaflow_*` metric a dashboard, rule or annotation names is
#      registered in the Rust sources, every `sagaflow:*` recording rule used is
#      defined, and histograms read through `_bucket` have buckets configured;
#   5. the OpenTelemetry collector config: valid YAML, pipelines name only defined
#      components.
# Usage: infra/checks/observability.sh   (exit 0 when everything passes)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OBS="$ROOT/infra/observability"
PROM="$OBS/prometheus"
TOOLS="${SAGAFLOW_TOOLS_DIR:-$ROOT/.tools}"

say() { printf '\033[1m[observability]\033[0m %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# --- Prometheus (promtool) ------------------------------------------------------
# shellcheck source=../observability/tools/prometheus.sh
source "$OBS/tools/prometheus.sh"
ensure_prometheus || die "no promtool"
say "$(promtool --version 2>&1 | head -1)"

# --- Python with PyYAML ---------------------------------------------------------
PY=python3
if ! "$PY" -c 'import yaml' 2>/dev/null; then
  venv="$TOOLS/venv-obs"
  if [[ ! -x $venv/bin/python ]] || ! "$venv/bin/python" -c 'import yaml' 2>/dev/null; then
    say "installing PyYAML into $venv"
    python3 -m venv "$venv"
    "$venv/bin/pip" install -q 'PyYAML==6.0.2'
  fi
  PY="$venv/bin/python"
fi
check_queries() { "$PY" "$OBS/tools/check_queries.py" "$@"; }

tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
failed=0
step() {
  local name="$1"; shift
  say "$name"
  if ! "$@"; then say "FAILED: $name"; failed=1; fi
}

step "promtool check config prometheus.yml" promtool check config "$PROM/prometheus.yml"
step "promtool check rules recording.yml alerts.yml" \
  promtool check rules "$PROM/recording.yml" "$PROM/alerts.yml"
# `test rules` resolves rule_files relative to the test file's folder.
step "promtool test rules alerts.test.yml" bash -c "cd '$PROM' && promtool test rules alerts.test.yml"
step "every alert tested firing and not firing" check_queries coverage
step "dashboards match build_dashboards.py" "$PY" "$OBS/grafana/build_dashboards.py" --check
dashboard_rules() {
  check_queries dashboard-rules "$tmp/dashboard-queries.yml" &&
    promtool check rules "$tmp/dashboard-queries.yml"
}
step "every dashboard query parses (promtool check rules)" dashboard_rules
step "metric names registered by the code (drift)" check_queries drift
step "OpenTelemetry collector config" check_queries otel

if [[ $failed -ne 0 ]]; then
  say "observability checks FAILED"
  exit 1
fi
say "observability checks passed"
