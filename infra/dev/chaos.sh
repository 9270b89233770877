#!/usr/bin/env bash
# The bounded chaos run of the test command (loadtest/chaos): the whole platform as
# separate processes on fresh databases (two replicas of the gateway, the
# orchestrator and every checkout participant), 300 checkouts through the gateway,
# 10 SIGKILLs of random processes, duplicate and poison messages; exits non-zero on
# any violated invariant. Arguments go to `sagaflow-chaos run` (and override these
# defaults), e.g. `infra/dev/chaos.sh --checkouts 5000 --kills 50` for a full run.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$SAGAFLOW_ROOT"

"$SAGAFLOW_ROOT/infra/dev/postgres.sh" server
"$SAGAFLOW_ROOT/infra/dev/broker.sh" install
log "building sagaflow and sagaflow-chaos (release)"
cargo build --release --locked -p sagaflow -p sagaflow-chaos
export CHAOS_SAGAFLOW_BIN="$SAGAFLOW_ROOT/target/release/sagaflow"
log "chaos run"
# Defaults through the tool's environment keys, so arguments can override them.
export CHAOS_CHECKOUTS="${CHAOS_CHECKOUTS:-300}" CHAOS_KILLS="${CHAOS_KILLS:-10}"
export CHAOS_DURATION_LIMIT="${CHAOS_DURATION_LIMIT:-600}"
export CHAOS_JSON_REPORT="${CHAOS_JSON_REPORT:-$SAGAFLOW_DATA_DIR/chaos-report.json}"
exec "$SAGAFLOW_ROOT/target/release/sagaflow-chaos" run "$@"
