#!/usr/bin/env bash
# The bench gate of the test command (loadtest/bench): builds sagaflow-bench in
# release, runs the whole platform in one process on librdkafka's mock cluster,
# measures the floor (physical and platform broker hop, PostgreSQL step), drives
# 600 checkouts at 20/s through the gateway, and exits non-zero when a bound of
# loadtest/bench/gate.json fails (sustained/offered, p50 over the physical floor,
# p99, rows and CPU per saga), naming each bound and the measured value. About a
# minute and a half after the build. The figures go to .data/bench-report.json.
# Extra arguments go to sagaflow-bench (e.g. --floor-samples 500).
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$SAGAFLOW_ROOT"

"$SAGAFLOW_ROOT/infra/dev/postgres.sh" server
log "building sagaflow-bench (release)"
cargo build --release --locked -p sagaflow-bench
export SAGAFLOW_TEST_PG_URL="$SAGAFLOW_PG_URL"
mkdir -p "$SAGAFLOW_DATA_DIR"
log "bench gate run (loadtest/bench/gate.json)"
exec "$SAGAFLOW_ROOT/target/release/sagaflow-bench" --broker mock --count 600 --rate 20 \
  --gate "$SAGAFLOW_ROOT/loadtest/bench/gate.json" \
  --json "${BENCH_JSON_REPORT:-$SAGAFLOW_DATA_DIR/bench-report.json}" "$@"
