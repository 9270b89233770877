#!/usr/bin/env bash
# Checks that need the whole platform running, as a user runs it: brings it up with
# up.sh (which also runs the demo), then
#   - a real Prometheus scrapes it and finds the saga metrics and alert rules,
#   - the k6 smoke scenario and the locust smoke run pass their thresholds,
#   - the Python producer example (confluent-kafka) starts a checkout on Kafka and
#     sees it complete,
#   - the browser test drives the web page (headless Chromium) through a checkout,
# and stops the platform again (also on failure). Each step is bounded in time.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$SAGAFLOW_ROOT"

trap '"$SAGAFLOW_ROOT/infra/dev/down.sh" >/dev/null 2>&1 || true' EXIT
"$SAGAFLOW_ROOT/infra/dev/up.sh"

export GATEWAY_URL="${GATEWAY_URL:-http://127.0.0.1:8080}"
export METRICS_URL="${METRICS_URL:-http://127.0.0.1:9464}"

run_check() {
  local name="$1"; shift
  log "platform check: $name"
  if ! timeout 900 "$@"; then
    log "platform check failed: $name (platform log: $SAGAFLOW_DATA_DIR/platform.log)"
    tail -n 40 "$SAGAFLOW_DATA_DIR/platform.log" >&2 || true
    exit 1
  fi
}

run_check "prometheus scrape" "$SAGAFLOW_ROOT/infra/checks/prometheus-scrape.sh"
run_check "k6 smoke" "$SAGAFLOW_ROOT/loadtest/k6/smoke.sh"
run_check "locust smoke" "$SAGAFLOW_ROOT/loadtest/locust/smoke.sh"
run_check "python producer" "$SAGAFLOW_ROOT/examples/python-producer/smoke.sh"
run_check "browser" "$SAGAFLOW_ROOT/services/gateway/web/test.sh"
log "platform checks passed"
