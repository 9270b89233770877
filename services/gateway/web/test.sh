#!/usr/bin/env bash
# Browser test of the gateway's web page (services/gateway/web/) against a RUNNING
# platform: start it first with ./infra/dev/up.sh (stop it with ./infra/dev/down.sh).
#
#   GATEWAY_URL                 the gateway (default http://127.0.0.1:8080)
#   GATEWAY_JWT_HS256_SECRET    its HS256 secret (default: the development one, env.sh)
#   SAGAFLOW_BIN                the sagaflow binary (default: newest under target/)
#   WEB_TEST_TIMEOUT_SECS       give up on the whole run after this long (default 300)
#
# Installs Debian's Chromium when /usr/bin/chromium is missing (no browser download
# by npm: the tests depend on playwright-core only), runs `npm ci` in tests/, then
# the node:test suite in tests/page.test.mjs. Screenshots of failures go to
# .data/browser/.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
source "$here/../../../infra/dev/env.sh"

if [[ ! -x /usr/bin/chromium ]]; then
  log "installing chromium (Debian package)"
  sudo=""
  [[ "$(id -u)" -eq 0 ]] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
command -v node >/dev/null || die "node is required (Debian package nodejs, version 18 or later)"
command -v npm >/dev/null || die "npm is required (Debian package npm)"

cd "$here/tests"
PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund --loglevel=error

export GATEWAY_URL="${GATEWAY_URL:-http://127.0.0.1:8080}"
export CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
log "browser test against $GATEWAY_URL"
timeout --kill-after=10 "${WEB_TEST_TIMEOUT_SECS:-300}" \
  node --test --test-timeout=240000 page.test.mjs
