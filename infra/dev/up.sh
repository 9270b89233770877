#!/usr/bin/env bash
# Brings the whole platform up on this machine and runs its main job:
#   PostgreSQL (a database per service), the Kafka broker (Nisshi, unless
#   KAFKA_BOOTSTRAP_SERVERS names one), topics, migrations, every service, and then
#   `sagaflow demo`: a checkout that completes and one that is compensated,
#   end to end through the gateway. The platform keeps running; stop it with
#   infra/dev/down.sh.
set -euo pipefail
source "$(dirname "$0")/env.sh"
cd "$SAGAFLOW_ROOT"

"$SAGAFLOW_ROOT/infra/dev/postgres.sh" ensure
# A CJK font for PDFs with Japanese, Chinese or Korean text.
"$SAGAFLOW_ROOT/infra/dev/fonts.sh"
if [[ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]]; then
  "$SAGAFLOW_ROOT/infra/dev/broker.sh" start
  export KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$SAGAFLOW_BROKER_PORT"
  # Nisshi does not wake a waiting fetch, so an empty fetch returns at once: at 5 ms
  # every consumer polls it 200 times a second and it saturates a core (README,
  # "The local broker"). 50 ms bounds that at a cost of up to 50 ms a hop.
  export KAFKA_FETCH_WAIT_MAX_MS="${KAFKA_FETCH_WAIT_MAX_MS:-50}"
fi

profile="${SAGAFLOW_PROFILE:-release}"
log "building sagaflow ($profile)"
cargo build --locked --profile "$profile" -p sagaflow
bin="$SAGAFLOW_ROOT/target/$([[ "$profile" == dev ]] && echo debug || echo "$profile")/sagaflow"

"$bin" topics create >/dev/null
# An open port is not a working broker: wait for a produce-and-consume round trip.
"$bin" broker probe --wait-secs 60
"$bin" migrate all

mkdir -p "$SAGAFLOW_DATA_DIR"
pidfile="$SAGAFLOW_DATA_DIR/platform.pid"
if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  log "stopping the previous platform (pid $(cat "$pidfile"))"
  stop_pid "$(cat "$pidfile")"
fi
GATEWAY_LISTEN="${GATEWAY_LISTEN:-127.0.0.1:8080}"
ORCHESTRATOR_LISTEN="${ORCHESTRATOR_LISTEN:-127.0.0.1:8081}"
METRICS_LISTEN="${METRICS_LISTEN:-127.0.0.1:9464}"
GATEWAY_LISTEN="$GATEWAY_LISTEN" ORCHESTRATOR_LISTEN="$ORCHESTRATOR_LISTEN" METRICS_LISTEN="$METRICS_LISTEN" \
  nohup "$bin" serve all >"$SAGAFLOW_DATA_DIR/platform.log" 2>&1 &
echo $! >"$pidfile"
log "platform starting (pid $(cat "$pidfile"), log $SAGAFLOW_DATA_DIR/platform.log)"
for _ in $(seq 1 100); do
  curl -fsS "http://$GATEWAY_LISTEN/readyz" >/dev/null 2>&1 && break
  kill -0 "$(cat "$pidfile")" 2>/dev/null || die "the platform exited; see $SAGAFLOW_DATA_DIR/platform.log"
  sleep 0.2
done

"$bin" demo --gateway "http://$GATEWAY_LISTEN"
cat <<TXT

Sagaflow is up:
  gateway         http://$GATEWAY_LISTEN   (POST /v1/checkouts, GET /v1/checkouts/{id})
  operator API    http://$ORCHESTRATOR_LISTEN   ($bin saga list --status running)
  metrics         http://$METRICS_LISTEN/metrics
  broker          $KAFKA_BOOTSTRAP_SERVERS
Stop it with infra/dev/down.sh
TXT
