#!/usr/bin/env bash
# Makes sure a PostgreSQL server is reachable and that every service has its own
# database. Uses DATABASE_URL when set; otherwise the local server on
# 127.0.0.1:5432, started if stopped and installed from Debian packages if missing.
set -euo pipefail
source "$(dirname "$0")/env.sh"

pg_ready() { psql "$SAGAFLOW_PG_URL" -Atqc 'SELECT 1' >/dev/null 2>&1; }

ensure_server() {
  pg_ready && return 0
  if [[ -n "${DATABASE_URL:-}" || "$SAGAFLOW_PG_URL" != *"@127.0.0.1:5432/"* ]]; then
    die "PostgreSQL at $SAGAFLOW_PG_URL is not reachable"
  fi
  if ! command -v pg_ctlcluster >/dev/null 2>&1 || [[ -z "$(ls /etc/postgresql 2>/dev/null)" ]]; then
    log "installing PostgreSQL from Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq postgresql postgresql-client >/dev/null
  fi
  local version
  version="$(ls /etc/postgresql | sort -V | tail -n1)"
  log "starting PostgreSQL $version"
  pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  local conf="/etc/postgresql/$version/main/pg_hba.conf"
  if ! pg_ready && [[ -f "$conf" ]] && ! grep -q 'sagaflow: local trust' "$conf"; then
    # A fresh Debian cluster asks for passwords on TCP; the dev server trusts loopback.
    printf '# sagaflow: local trust\nhost all all 127.0.0.1/32 trust\nhost all all ::1/128 trust\n' | cat - "$conf" > "$conf.new"
    mv "$conf.new" "$conf"
    pg_ctlcluster --skip-systemctl-redirect "$version" main reload || true
  fi
  for _ in $(seq 1 50); do pg_ready && break; sleep 0.2; done
  pg_ready || die "PostgreSQL did not come up at $SAGAFLOW_PG_URL"
}

ensure_connections() {
  # The platform (ten services with a pool each) and the tests that run whole
  # platforms need more than Debian's default of 100 connections.
  local wanted=300 current
  current="$(psql "$SAGAFLOW_PG_URL" -Atqc 'SHOW max_connections')"
  (( current >= wanted )) && return 0
  if [[ -n "${DATABASE_URL:-}" || "$SAGAFLOW_PG_URL" != *"@127.0.0.1:5432/"* ]]; then
    log "warning: max_connections is $current on $SAGAFLOW_PG_URL; the platform and its tests want $wanted"
    return 0
  fi
  log "raising max_connections from $current to $wanted (restarts the local server)"
  psql "$SAGAFLOW_PG_URL" -qc "ALTER SYSTEM SET max_connections = $wanted" >/dev/null
  local version
  version="$(ls /etc/postgresql | sort -V | tail -n1)"
  pg_ctlcluster --skip-systemctl-redirect "$version" main restart
  for _ in $(seq 1 50); do pg_ready && return 0; sleep 0.2; done
  die "PostgreSQL did not come back at $SAGAFLOW_PG_URL after the restart"
}

ensure_autovacuum() {
  # The outbox and inbox churn (an insert, an update and a delete per message): with
  # autovacuum off their dead rows pile up and the relay's claim query slows from
  # milliseconds to seconds within minutes (a soak at 5 checkouts/s saw p50 go from
  # 0.3 s to 13 s). Some CI images turn it off; the local server gets it back.
  local current
  current="$(psql "$SAGAFLOW_PG_URL" -Atqc 'SHOW autovacuum')"
  [[ "$current" == "on" ]] && return 0
  if [[ -n "${DATABASE_URL:-}" || "$SAGAFLOW_PG_URL" != *"@127.0.0.1:5432/"* ]]; then
    log "warning: autovacuum is off on $SAGAFLOW_PG_URL; the outbox and inbox tables will bloat"
    return 0
  fi
  log "turning autovacuum on (it was off on the local server)"
  psql "$SAGAFLOW_PG_URL" -qc "ALTER SYSTEM SET autovacuum = on" -qc "SELECT pg_reload_conf()" >/dev/null
}

ensure_databases() {
  local sync
  sync="$(psql "$SAGAFLOW_PG_URL" -Atqc 'SHOW synchronous_commit')"
  [[ "$sync" == "off" ]] && die "synchronous_commit is off on the server: outbox, inbox and saga logs need it on"
  for service in "${SAGAFLOW_SERVICES[@]}"; do
    local db="sagaflow_$service"
    if [[ -z "$(psql "$SAGAFLOW_PG_URL" -Atqc "SELECT 1 FROM pg_database WHERE datname = '$db'")" ]]; then
      psql "$SAGAFLOW_PG_URL" -qc "CREATE DATABASE \"$db\"" >/dev/null
      log "created database $db"
    fi
  done
}

drop_test_databases() {
  # Test databases (sf_t_*) are left for inspection after a run; clear old ones.
  psql "$SAGAFLOW_PG_URL" -Atqc "SELECT datname FROM pg_database WHERE datname LIKE 'sf\_t\_%'" |
    while read -r db; do
      [[ -n "$db" ]] && psql "$SAGAFLOW_PG_URL" -qc "DROP DATABASE IF EXISTS \"$db\" WITH (FORCE)" >/dev/null 2>&1 || true
    done
}

case "${1:-ensure}" in
  ensure) ensure_server; ensure_connections; ensure_autovacuum; ensure_databases ;;
  server) ensure_server; ensure_connections; ensure_autovacuum ;;
  drop-test-databases) ensure_server; drop_test_databases ;;
  *) die "usage: $0 [ensure|server|drop-test-databases]" ;;
esac
