#!/usr/bin/env bash
# The local Kafka-protocol broker: Nisshi (formerly Tansu), pinned, with SQLite
# storage under .data/.
#   install   build the pinned version into .tools/ (reused when present; a copy
#             cached in ~/.cache/sagaflow saves the rebuild on the next clone)
#   start     start it on 127.0.0.1:$SAGAFLOW_BROKER_PORT unless it already runs
#   stop      stop it
set -euo pipefail
source "$(dirname "$0")/env.sh"

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/sagaflow/nisshi-$SAGAFLOW_BROKER_VERSION"
DIR="$SAGAFLOW_DATA_DIR/broker"
PIDFILE="$DIR/broker.pid"

installed() { [[ -x "$SAGAFLOW_BROKER_BIN" ]] && "$SAGAFLOW_BROKER_BIN" --version 2>/dev/null | grep -q "$SAGAFLOW_BROKER_VERSION"; }

# Copy, then rename: a running broker keeps its (replaced) binary.
copy_in() {
  cp "$CACHE/bin/nisshi" "$SAGAFLOW_BROKER_BIN.tmp.$$"
  mv -f "$SAGAFLOW_BROKER_BIN.tmp.$$" "$SAGAFLOW_BROKER_BIN"
}

install() {
  installed && return 0
  mkdir -p "$(dirname "$SAGAFLOW_BROKER_BIN")"
  if [[ -x "$CACHE/bin/nisshi" ]] && "$CACHE/bin/nisshi" --version 2>/dev/null | grep -q "$SAGAFLOW_BROKER_VERSION"; then
    copy_in
    log "nisshi $SAGAFLOW_BROKER_VERSION copied from $CACHE"
    return 0
  fi
  log "building nisshi $SAGAFLOW_BROKER_VERSION (takes a while, once)"
  # --locked: the published lock file is the set of versions the release was tested
  # with. --ignore-rust-version: that lock file pins rama 0.4.0, which declares
  # rust-version 1.96 but builds with the 1.95 toolchain this project supports.
  # Only the SQLite (libsql) storage engine: the others are not used here.
  cargo install --locked --ignore-rust-version "nisshi@$SAGAFLOW_BROKER_VERSION" \
    --no-default-features --features libsql --root "$CACHE" >&2
  copy_in
  installed || die "nisshi did not install"
}

running() { [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$SAGAFLOW_BROKER_PORT") 2>/dev/null; }

start() {
  install
  if running; then log "broker already running (pid $(cat "$PIDFILE"))"; return 0; fi
  port_open && die "port $SAGAFLOW_BROKER_PORT is taken by another process; set SAGAFLOW_BROKER_PORT"
  mkdir -p "$DIR"
  local url="tcp://127.0.0.1:$SAGAFLOW_BROKER_PORT"
  # The broker resolves a sqlite:// path against its working directory.
  (cd "$DIR" && RUST_LOG="${SAGAFLOW_BROKER_LOG:-warn}" exec nohup "$SAGAFLOW_BROKER_BIN" broker \
    --listener-url "$url" --advertised-listener-url "$url" \
    --storage-engine "sqlite://broker.db" >>"$DIR/broker.log" 2>&1) &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 100); do port_open && { log "nisshi listening on 127.0.0.1:$SAGAFLOW_BROKER_PORT"; return 0; }; sleep 0.1; done
  die "the broker did not start; see $DIR/broker.log"
}

stop() {
  if running; then stop_pid "$(cat "$PIDFILE")"; rm -f "$PIDFILE"; log "broker stopped"; fi
}

case "${1:-start}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) die "usage: $0 [install|start|stop]" ;;
esac
