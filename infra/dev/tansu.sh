#!/usr/bin/env bash
# The local Kafka-protocol broker: Tansu, pinned, with SQLite storage under .data/.
#   install   build the pinned version into .tools/ (reused when present; a copy
#             cached in ~/.cache/sagaflow saves the rebuild on the next clone)
#   start     start it on 127.0.0.1:$SAGAFLOW_TANSU_PORT unless it already runs
#   stop      stop it
set -euo pipefail
source "$(dirname "$0")/env.sh"

CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/sagaflow/tansu-$SAGAFLOW_TANSU_VERSION"
DIR="$SAGAFLOW_DATA_DIR/tansu"
PIDFILE="$DIR/tansu.pid"

installed() { [[ -x "$SAGAFLOW_TANSU_BIN" ]] && "$SAGAFLOW_TANSU_BIN" --version 2>/dev/null | grep -q "$SAGAFLOW_TANSU_VERSION"; }

# Copy, then rename: a running broker keeps its (replaced) binary.
copy_in() {
  cp "$CACHE/bin/tansu" "$SAGAFLOW_TANSU_BIN.tmp.$$"
  mv -f "$SAGAFLOW_TANSU_BIN.tmp.$$" "$SAGAFLOW_TANSU_BIN"
}

install() {
  installed && return 0
  mkdir -p "$(dirname "$SAGAFLOW_TANSU_BIN")"
  if [[ -x "$CACHE/bin/tansu" ]] && "$CACHE/bin/tansu" --version 2>/dev/null | grep -q "$SAGAFLOW_TANSU_VERSION"; then
    copy_in
    log "tansu $SAGAFLOW_TANSU_VERSION copied from $CACHE"
    return 0
  fi
  log "building tansu $SAGAFLOW_TANSU_VERSION (takes a while, once)"
  # --locked: the published lock file is the only set of versions that compiles.
  cargo install --locked "tansu@$SAGAFLOW_TANSU_VERSION" --features libsql,postgres,dynostore \
    --root "$CACHE" >&2
  copy_in
  installed || die "tansu did not install"
}

running() { [[ -f "$PIDFILE" ]] && kill -0 "$(cat "$PIDFILE")" 2>/dev/null; }

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$SAGAFLOW_TANSU_PORT") 2>/dev/null; }

start() {
  install
  if running; then log "tansu already running (pid $(cat "$PIDFILE"))"; return 0; fi
  port_open && die "port $SAGAFLOW_TANSU_PORT is taken by another process; set SAGAFLOW_TANSU_PORT"
  mkdir -p "$DIR"
  local url="tcp://127.0.0.1:$SAGAFLOW_TANSU_PORT"
  # Tansu resolves a sqlite:// path against its working directory.
  (cd "$DIR" && RUST_LOG="${TANSU_LOG:-warn}" exec nohup "$SAGAFLOW_TANSU_BIN" broker \
    --listener-url "$url" --advertised-listener-url "$url" \
    --storage-engine "sqlite://tansu.db" >>"$DIR/tansu.log" 2>&1) &
  echo $! >"$PIDFILE"
  for _ in $(seq 1 100); do port_open && { log "tansu listening on 127.0.0.1:$SAGAFLOW_TANSU_PORT"; return 0; }; sleep 0.1; done
  die "tansu did not start; see $DIR/tansu.log"
}

stop() {
  if running; then stop_pid "$(cat "$PIDFILE")"; rm -f "$PIDFILE"; log "tansu stopped"; fi
}

case "${1:-start}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  *) die "usage: $0 [install|start|stop]" ;;
esac
