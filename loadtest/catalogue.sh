# shellcheck shell=bash
# Sourced by the load scripts (k6/smoke.sh, locust/smoke.sh):
# `catalogue_skus <gateway url>` prints the catalogue's active products priced in
# EUR (GET /v1/products, public, the first 100) as a comma-separated list, waiting
# up to 60 s for the gateway's read model to have any; fails when it has none.
catalogue_skus() {
  local url="$1" skus="" deadline=$((SECONDS + 60))
  while [[ -z $skus && $SECONDS -lt $deadline ]]; do
    skus="$(curl -fsS --max-time 5 "$url/v1/products?limit=100" 2>/dev/null | python3 -c '
import json, sys
page = json.load(sys.stdin)
print(",".join(p["sku"] for p in page.get("items", [])
               if any(x.get("currency") == "EUR" for x in p.get("prices", []))))
' 2>/dev/null || true)"
    [[ -n $skus ]] || sleep 1
  done
  [[ -n $skus ]] && printf '%s\n' "$skus"
}
