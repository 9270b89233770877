# shellcheck shell=bash
# Shared settings for the bring-up scripts. Source it; do not run it.
#
#   DATABASE_URL / SAGAFLOW_PG_URL  PostgreSQL server (admin database) to use;
#                                   default: the local server on 127.0.0.1:5432.
#   KAFKA_BOOTSTRAP_SERVERS         an existing Kafka cluster; when unset the scripts
#                                   start the pinned Nisshi broker on 127.0.0.1:9092.
#   SAGAFLOW_TOOLS_DIR              where pinned tools are installed (default .tools/).

SAGAFLOW_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export SAGAFLOW_ROOT
export SAGAFLOW_TOOLS_DIR="${SAGAFLOW_TOOLS_DIR:-$SAGAFLOW_ROOT/.tools}"
export SAGAFLOW_DATA_DIR="${SAGAFLOW_DATA_DIR:-$SAGAFLOW_ROOT/.data}"
export SAGAFLOW_PG_URL="${SAGAFLOW_PG_URL:-${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/postgres}}"
# The local broker: Nisshi (formerly Tansu), built from crates.io by broker.sh.
export SAGAFLOW_BROKER_VERSION="0.8.1"
export SAGAFLOW_BROKER_BIN="${SAGAFLOW_BROKER_BIN:-$SAGAFLOW_TOOLS_DIR/bin/nisshi}"
export SAGAFLOW_BROKER_PORT="${SAGAFLOW_BROKER_PORT:-9092}"

# Development JWT signing secret (HS256). The gateway accepts tokens signed with it;
# `sagaflow token`, the demo, the load tests and the browser test mint tokens with it.
# Never use this value outside a developer machine.
export SAGAFLOW_DEV_JWT_SECRET="${SAGAFLOW_DEV_JWT_SECRET:-sagaflow-dev-only-secret-0123456789abcdef}"
export GATEWAY_JWT_HS256_SECRET="${GATEWAY_JWT_HS256_SECRET:-$SAGAFLOW_DEV_JWT_SECRET}"

# Development service-token secrets (HS256, >= 32 bytes): the gateway signs the token
# of every request it forwards to cart, planner, applications, generation and
# catalog with SAGAFLOW_INTERNAL_TOKEN_SECRET; operator APIs (orchestrator,
# `sagaflow saga`) take tokens signed with SAGAFLOW_OPERATOR_JWT_SECRET
# (`sagaflow token --operator-api --tenant '*' --user ops`). Dev only, like the above.
export SAGAFLOW_INTERNAL_TOKEN_SECRET="${SAGAFLOW_INTERNAL_TOKEN_SECRET:-sagaflow-dev-only-internal-token-secret-0123456789}"
export SAGAFLOW_OPERATOR_JWT_SECRET="${SAGAFLOW_OPERATOR_JWT_SECRET:-sagaflow-dev-only-operator-jwt-secret-0123456789}"

# The catalogue service creates the demo products (MUG-BLUE at 12.50 EUR, ...) at
# start when they are missing; the pricing service prices checkouts from them.
export CATALOG_SEED_DEMO="${CATALOG_SEED_DEMO:-true}"

# One database per service.
SAGAFLOW_SERVICES=(gateway orchestrator inventory pricing payment order cart notification generation planner applications catalog)

# Sends SIGTERM to pid $1 and waits (up to 30 s) until it has exited.
stop_pid() {
  local pid="$1"
  kill "$pid" 2>/dev/null || return 0
  for _ in $(seq 1 300); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
  log "pid $pid ignored SIGTERM for 30 s; killing it"
  kill -9 "$pid" 2>/dev/null || true
}

log() { printf '\033[1m[sagaflow]\033[0m %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

# postgres://user@host:port/db -> postgres://user@host:port/<name>
db_url() {
  local base="${SAGAFLOW_PG_URL%%\?*}" query=""
  [[ "$SAGAFLOW_PG_URL" == *\?* ]] && query="?${SAGAFLOW_PG_URL#*\?}"
  printf '%s/%s%s' "${base%/*}" "$1" "$query"
}
