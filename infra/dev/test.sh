#!/usr/bin/env bash
# Runs every test against real components, installing whatever is missing first:
#   1. `cargo test --workspace`: PostgreSQL (local or DATABASE_URL), the in-process
#      mock Kafka cluster, local broker (Nisshi) processes the tests start themselves,
#      Redis, a CJK font and poppler's pdftotext (infra/dev/fonts.sh).
#   2. Static checks of what operators deploy: dashboards and alert rules (promtool),
#      the Helm chart, Terraform and the GitHub workflows, and the Kafka contracts'
#      AsyncAPI document (@asyncapi/parser), the README's layout table against the
#      folders (infra/checks/).
#   3. Checks on the running platform (infra/dev/platform-checks.sh): Prometheus
#      scraping it, k6 and locust smoke runs, the web page in headless Chromium.
#   4. A bounded chaos run (infra/dev/chaos.sh): 300 checkouts through the gateway,
#      10 SIGKILLs, two replicas of every checkout service; fails on any violation.
#   5. The bench gate (infra/dev/bench-gate.sh): 600 checkouts at 20/s on the mock
#      cluster against the bounds of loadtest/bench/gate.json (throughput, latency
#      over the measured floor, rows and CPU per saga).
# Extra arguments go to `cargo test`. SAGAFLOW_TEST_ONLY=cargo|static|platform|chaos|bench
# runs one part.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$SAGAFLOW_ROOT"

only="${SAGAFLOW_TEST_ONLY:-}"
if [[ -z "$only" || "$only" == cargo ]]; then
  # A platform left running by up.sh holds ports and many PostgreSQL connections.
  if [[ -f "$SAGAFLOW_DATA_DIR/platform.pid" ]] && kill -0 "$(cat "$SAGAFLOW_DATA_DIR/platform.pid")" 2>/dev/null; then
    log "stopping the platform started by up.sh (tests need its ports and connections)"
    "$SAGAFLOW_ROOT/infra/dev/down.sh"
  fi
  "$SAGAFLOW_ROOT/infra/dev/postgres.sh" server
  "$SAGAFLOW_ROOT/infra/dev/postgres.sh" drop-test-databases
  "$SAGAFLOW_ROOT/infra/dev/broker.sh" install
  "$SAGAFLOW_ROOT/infra/dev/redis.sh" ensure
  "$SAGAFLOW_ROOT/infra/dev/fonts.sh"
  export SAGAFLOW_TEST_PG_URL="$SAGAFLOW_PG_URL"
  log "cargo test --workspace --no-fail-fast"
  # --no-fail-fast: one failing test binary must not hide the rest of the suite;
  # the run still exits non-zero when anything failed.
  cargo test --workspace --locked --no-fail-fast "$@"
fi
if [[ -z "$only" || "$only" == static ]]; then
  log "observability checks (promtool)"
  "$SAGAFLOW_ROOT/infra/checks/observability.sh"
  log "deployment checks (helm, terraform, workflows)"
  "$SAGAFLOW_ROOT/infra/checks/deploy.sh"
  log "layout check (the README's table against the folders)"
  "$SAGAFLOW_ROOT/infra/checks/layout.sh"
  log "AsyncAPI check (docs/asyncapi.json through @asyncapi/parser)"
  "$SAGAFLOW_ROOT/infra/checks/asyncapi.sh"
fi
if [[ -z "$only" || "$only" == platform ]]; then
  "$SAGAFLOW_ROOT/infra/dev/platform-checks.sh"
fi
if [[ -z "$only" || "$only" == chaos ]]; then
  "$SAGAFLOW_ROOT/infra/dev/chaos.sh"
fi
if [[ -z "$only" || "$only" == bench ]]; then
  "$SAGAFLOW_ROOT/infra/dev/bench-gate.sh"
fi
log "all tests passed"
