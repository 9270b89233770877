#!/usr/bin/env bash
# Runs the Locust shoppers headless against a running platform (./infra/dev/up.sh):
# installs locust and PyJWT (requirements.txt) into .tools/venv-load (with
# infra/dev/python.sh), takes the SKUs from the catalogue (GET /v1/products:
# active, priced in EUR) unless LOCUST_SKUS names them, seeds their stock
# (`sagaflow stock set`, when the binary is built) and runs LOCUST_USERS users
# (default 10, spawned 5/s) for LOCUST_RUN_TIME (default 30s).
# Fails when more than 1% of the requests failed (locustfile.py's verdict;
# --exit-code-on-error covers errors it does not see).
#
#   GATEWAY_URL (http://127.0.0.1:8080), LOCUST_USERS, LOCUST_SPAWN_RATE,
#   LOCUST_RUN_TIME, LOCUST_SKUS; extra arguments go to locust.
#   CSV stats go to .data/loadtest/locust_*.csv (LOCUST_CSV to change).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../../infra/dev/env.sh
source "$HERE/../../infra/dev/env.sh"   # SAGAFLOW_ROOT, GATEWAY_JWT_HS256_SECRET (dev), SAGAFLOW_PG_URL
GATEWAY_URL="${GATEWAY_URL:-http://127.0.0.1:8080}"
export LOCUST_RUN_ID="${LOCUST_RUN_ID:-locust-$(date +%s)}"
csv="${LOCUST_CSV:-$SAGAFLOW_DATA_DIR/loadtest/locust}"

python="$("$HERE/../../infra/dev/python.sh" load "$HERE/requirements.txt")"

curl -fsS --max-time 5 "$GATEWAY_URL/readyz" >/dev/null ||
  die "the gateway at $GATEWAY_URL is not ready: start the platform with ./infra/dev/up.sh"

# shellcheck source=../catalogue.sh
source "$HERE/../catalogue.sh"
LOCUST_SKUS="${LOCUST_SKUS:-$(catalogue_skus "$GATEWAY_URL")}" ||
  die "the catalogue at $GATEWAY_URL/v1/products has no product priced in EUR (is the catalogue service seeded?)"
export LOCUST_SKUS
log "SKUs: $LOCUST_SKUS"

bin="${SAGAFLOW_BIN:-$SAGAFLOW_ROOT/target/release/sagaflow}"
if [[ -x $bin ]]; then
  IFS=, read -ra skus <<<"$LOCUST_SKUS"
  for sku in "${skus[@]}"; do "$bin" stock set "$sku" 1000000 >/dev/null; done
  log "stock: ${#skus[@]} SKUs set to 1,000,000 units"
else
  log "warning: $bin not built; make sure $LOCUST_SKUS have stock (sagaflow stock set <sku> <n>)"
fi

mkdir -p "$(dirname "$csv")"
users="${LOCUST_USERS:-10}"
run_time="${LOCUST_RUN_TIME:-30s}"
log "locust: $users users for $run_time against $GATEWAY_URL"
rc=0
"$(dirname "$python")/locust" -f "$HERE/locustfile.py" --headless --host "$GATEWAY_URL" \
  --users "$users" --spawn-rate "${LOCUST_SPAWN_RATE:-5}" --run-time "$run_time" \
  --stop-timeout 40 --exit-code-on-error 1 --only-summary --csv "$csv" \
  --loglevel WARNING "$@" || rc=$?
[[ $rc -eq 0 ]] || die "locust failed (exit $rc; stats: ${csv}_stats.csv)"
log "locust passed (stats: ${csv}_stats.csv)"
