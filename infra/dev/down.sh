#!/usr/bin/env bash
# Stops what up.sh started (the platform and, if the scripts started it, the broker).
set -euo pipefail
source "$(dirname "$0")/env.sh"
pidfile="$SAGAFLOW_DATA_DIR/platform.pid"
if [[ -f "$pidfile" ]] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  stop_pid "$(cat "$pidfile")" && log "platform stopped"
fi
rm -f "$pidfile"
"$SAGAFLOW_ROOT/infra/dev/broker.sh" stop
