#!/usr/bin/env bash
# Makes sure a Redis server answers on 127.0.0.1:6379 (the gateway's shared rate
# limits use it when GATEWAY_REDIS_URL is set; its tests use it for real). Installs
# it from Debian packages and starts it without persistence when missing.
#   redis.sh ensure
set -euo pipefail
source "$(dirname "$0")/env.sh"

redis_ready() {
  if command -v redis-cli >/dev/null 2>&1; then
    [[ "$(redis-cli -h 127.0.0.1 -p 6379 ping 2>/dev/null)" == PONG ]]
  else
    (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null
  fi
}

case "${1:-ensure}" in
  ensure)
    redis_ready && exit 0
    if ! command -v redis-server >/dev/null 2>&1; then
      log "installing Redis from Debian packages"
      export DEBIAN_FRONTEND=noninteractive
      apt-get update -qq && apt-get install -y -qq redis-server >/dev/null
    fi
    log "starting Redis on 127.0.0.1:6379 (no persistence)"
    mkdir -p "$SAGAFLOW_DATA_DIR/redis"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir "$SAGAFLOW_DATA_DIR/redis" --logfile "$SAGAFLOW_DATA_DIR/redis/redis.log"
    for _ in $(seq 1 50); do redis_ready && exit 0; sleep 0.1; done
    die "Redis did not start; see $SAGAFLOW_DATA_DIR/redis/redis.log"
    ;;
  *) die "usage: redis.sh ensure" ;;
esac
