#!/usr/bin/env bash
# Runs every test against real components: PostgreSQL (local or DATABASE_URL), the
# in-process mock Kafka cluster, and Tansu broker processes the tests start themselves.
# Installs whatever is missing first. Extra arguments go to `cargo test`.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$SAGAFLOW_ROOT"

"$SAGAFLOW_ROOT/infra/dev/postgres.sh" server
"$SAGAFLOW_ROOT/infra/dev/postgres.sh" drop-test-databases
"$SAGAFLOW_ROOT/infra/dev/tansu.sh" install
export SAGAFLOW_TEST_PG_URL="$SAGAFLOW_PG_URL"

log "cargo test --workspace"
cargo test --workspace --locked "$@"
