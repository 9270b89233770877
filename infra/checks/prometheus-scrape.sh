#!/usr/bin/env bash
# Checks a RUNNING platform (./infra/dev/up.sh) against a real Prometheus:
#   starts Prometheus on 127.0.0.1 (a free port, temp storage) scraping
#   METRICS_LISTEN every second with recording.yml and alerts.yml loaded, waits
#   (bounded) for a successful scrape, then asserts through the HTTP API that
#   - the target is up and saga metrics are there: sagaflow_sagas_finished_total > 0
#     (the demo's sagas), sagaflow_outbox_published_total > 0, and the inbox, saga
#     and gateway series the dashboards read;
#   - every rule group and rule of the files is loaded and evaluates without error,
#     and the recording rules produce series from the real metrics.
# Prometheus is stopped on exit, whatever happens.
#
#   METRICS_LISTEN  the platform's metrics address     (default 127.0.0.1:9464)
#   GATEWAY_URL     the gateway, checked to be ready   (default http://127.0.0.1:8080)
#   SCRAPE_TIMEOUT_SECS  how long to wait for scrapes and rule evaluations (60)
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
OBS="$ROOT/infra/observability"
METRICS_LISTEN="${METRICS_LISTEN:-127.0.0.1:9464}"
GATEWAY_URL="${GATEWAY_URL:-http://127.0.0.1:8080}"
TIMEOUT="${SCRAPE_TIMEOUT_SECS:-60}"

say() { printf '\033[1m[prometheus-scrape]\033[0m %s\n' "$*" >&2; }
die() { say "error: $*"; exit 1; }

# shellcheck source=../observability/tools/prometheus.sh
source "$OBS/tools/prometheus.sh"
ensure_prometheus || die "no prometheus"

curl -fsS --max-time 5 "http://$METRICS_LISTEN/metrics" >/dev/null ||
  die "no metrics at http://$METRICS_LISTEN/metrics: is the platform up (./infra/dev/up.sh)?"
curl -fsS --max-time 5 "$GATEWAY_URL/readyz" >/dev/null ||
  die "the gateway at $GATEWAY_URL is not ready"
# A few requests so the gateway's HTTP metrics have fresh samples.
for _ in 1 2 3; do curl -fsS --max-time 5 "$GATEWAY_URL/healthz" >/dev/null || true; done

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
tmp="$(mktemp -d)"
pid=""
cleanup() {
  if [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -rf "$tmp"
}
trap cleanup EXIT

cp "$OBS/prometheus/recording.yml" "$OBS/prometheus/alerts.yml" "$tmp/"
cat >"$tmp/prometheus.yml" <<YAML
global:
  scrape_interval: 1s
  scrape_timeout: 1s
  evaluation_interval: 1s
rule_files: [recording.yml, alerts.yml]
scrape_configs:
  - job_name: sagaflow
    static_configs:
      - targets: ['$METRICS_LISTEN']
        labels: { service: all }
YAML
promtool check config "$tmp/prometheus.yml" >/dev/null || die "the generated config is invalid"

api="http://127.0.0.1:$port/api/v1"
say "starting Prometheus on 127.0.0.1:$port scraping $METRICS_LISTEN every 1s"
prometheus --config.file="$tmp/prometheus.yml" --storage.tsdb.path="$tmp/data" \
  --web.listen-address="127.0.0.1:$port" --log.level=warn >"$tmp/prometheus.log" 2>&1 &
pid=$!

# Waits until `python3 -c "$2"` (reading the JSON of GET $api/$1 on stdin) exits 0.
wait_for() {
  local path="$1" test="$2" what="$3" deadline=$((SECONDS + TIMEOUT))
  while ((SECONDS < deadline)); do
    kill -0 "$pid" 2>/dev/null || { cat "$tmp/prometheus.log" >&2; die "Prometheus exited"; }
    if curl -fsS --max-time 2 "$api/$path" 2>/dev/null | python3 -c "$test" 2>/dev/null; then
      return 0
    fi
    sleep 0.5
  done
  cat "$tmp/prometheus.log" >&2
  die "timed out after ${TIMEOUT}s waiting for: $what"
}

wait_for targets 'import json,sys
t=[t for t in json.load(sys.stdin)["data"]["activeTargets"] if t["labels"]["job"]=="sagaflow"]
sys.exit(0 if t and t[0]["health"]=="up" else 1)' "a successful scrape of $METRICS_LISTEN"
say "target $METRICS_LISTEN is up"

# value of an instant query (the sum of its samples), or "none".
query() {
  curl -fsS --max-time 5 --get --data-urlencode "query=$1" "$api/query" | python3 -c '
import json, sys
r = json.load(sys.stdin)["data"]["result"]
print(sum(float(s["value"][1]) for s in r) if r else "none")'
}

failed=0
expect() { # expect <description> <query> <python condition on v>
  local v
  v="$(query "$2")"
  if [[ $v != none ]] && python3 -c "import sys; v=float(sys.argv[1]); sys.exit(0 if ($3) else 1)" "$v"; then
    say "ok   $1: $2 = $v"
  else
    say "FAIL $1: $2 = $v (wanted $3)"
    failed=1
  fi
}

expect "target up" 'up{job="sagaflow"}' 'v == 1'
expect "sagas finished (the demo's)" 'sum(sagaflow_sagas_finished_total)' 'v > 0'
expect "completed checkouts" 'sum(sagaflow_sagas_finished_total{definition="checkout",outcome="completed"})' 'v > 0'
expect "outbox messages published" 'sum(sagaflow_outbox_published_total)' 'v > 0'
expect "saga durations recorded" 'sum(sagaflow_saga_duration_seconds_count)' 'v > 0'
expect "inbox handlers ran" 'sum(sagaflow_handler_seconds_count)' 'v > 0'
expect "outbox backlog gauge" 'count(sagaflow_outbox_backlog)' 'v >= 1'
expect "checkouts started at the gateway" 'sum(sagaflow_gateway_checkouts_total)' 'v > 0'
# The SLO recording rules and alerts read the request histogram's buckets (the
# exporter renders a histogram without configured buckets as a summary).
expect "HTTP latency histogram has buckets" 'count(sagaflow_http_request_seconds_bucket)' 'v > 0'

# Every group and rule of the files is loaded and has been evaluated without error.
want_rules="$(python3 - "$OBS/prometheus/recording.yml" "$OBS/prometheus/alerts.yml" <<'PY'
import sys, yaml
names = []
for path in sys.argv[1:]:
    for g in yaml.safe_load(open(path))["groups"]:
        names += [r.get("record") or r.get("alert") for r in g["rules"]]
print(" ".join(names))
PY
)"
wait_for rules "import json,sys
want=set('$want_rules'.split())
groups=json.load(sys.stdin)['data']['groups']
rules=[r for g in groups for r in g['rules']]
got={r['name'] for r in rules}
ok=want<=got and all(r['health']=='ok' for r in rules) and all(g['lastEvaluation'][:4]!='0001' for g in groups)
sys.exit(0 if ok else 1)" "every rule loaded and evaluated healthy"
curl -fsS "$api/rules" | python3 -c '
import json, sys
groups = json.load(sys.stdin)["data"]["groups"]
rules = [r for g in groups for r in g["rules"]]
print(f"  {len(groups)} rule groups, {len(rules)} rules loaded, all healthy", file=sys.stderr)
for r in rules:
    if r["type"] == "alerting" and r["state"] != "inactive":
        print("  alert " + r["name"] + ": " + r["state"], file=sys.stderr)'
say "ok   rules: $(wc -w <<<"$want_rules") rules loaded from recording.yml and alerts.yml, all healthy"

# Recording rules evaluate against the real series (rate() needs two scrapes).
wait_for "query?query=sagaflow%3Asagas_finished%3Arate5m" \
  'import json,sys; sys.exit(0 if json.load(sys.stdin)["data"]["result"] else 1)' \
  "the recording rule sagaflow:sagas_finished:rate5m to produce series"
say "ok   recording rule sagaflow:sagas_finished:rate5m has $(query 'count(sagaflow:sagas_finished:rate5m)') series"

if [[ $failed -ne 0 ]]; then
  say "prometheus scrape check FAILED"
  exit 1
fi
say "prometheus scrape check passed"
