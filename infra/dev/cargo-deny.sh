#!/usr/bin/env bash
# The dependency policy (deny.toml at the repository root), checked by cargo-deny,
# pinned and built from crates.io.
#   check       (default) `cargo deny --locked check bans licenses sources`: duplicate
#               versions, wildcards, licences, crates.io only. Needs nothing but
#               crates.io; seconds once installed. .ci/run calls it after clippy.
#   advisories  `cargo deny --locked check advisories`: the RustSec advisory database
#               is a git clone of github.com/rustsec/advisory-db, so this needs GitHub;
#               the dev machines here have none, and GitHub Actions (ci.yml, job
#               `deps`) runs it instead.
#   install     build the pinned version into .tools/ (reused when present; a copy
#               cached in ~/.cache/sagaflow saves the rebuild on the next clone)
set -euo pipefail
source "$(dirname "$0")/env.sh"

CARGO_DENY_VERSION="0.20.2"
BIN="$SAGAFLOW_TOOLS_DIR/bin/cargo-deny"
CACHE="${XDG_CACHE_HOME:-$HOME/.cache}/sagaflow/cargo-deny-$CARGO_DENY_VERSION"

is_pinned() { [[ -x "$1" ]] && "$1" --version 2>/dev/null | grep -qx "cargo-deny $CARGO_DENY_VERSION"; }

# Copy, then rename: a check running meanwhile keeps its (replaced) binary.
copy_in() {
  cp "$CACHE/bin/cargo-deny" "$BIN.tmp.$$"
  mv -f "$BIN.tmp.$$" "$BIN"
}

install() {
  is_pinned "$BIN" && return 0
  mkdir -p "$(dirname "$BIN")"
  if is_pinned "$CACHE/bin/cargo-deny"; then
    copy_in
    log "cargo-deny $CARGO_DENY_VERSION copied from $CACHE"
    return 0
  fi
  log "building cargo-deny $CARGO_DENY_VERSION (a few minutes, once)"
  # --locked: the published lock file is the set of versions the release was tested with.
  cargo install --locked "cargo-deny@$CARGO_DENY_VERSION" --root "$CACHE" >&2
  copy_in
  is_pinned "$BIN" || die "cargo-deny did not install"
}

# `cargo deny` finds the plugin on PATH; --locked: never touch Cargo.lock.
deny() {
  install
  cd "$SAGAFLOW_ROOT"
  PATH="$SAGAFLOW_TOOLS_DIR/bin:$PATH" cargo deny --locked check "$@"
}

case "${1:-check}" in
  check) deny bans licenses sources ;;
  advisories) deny advisories ;;
  install) install ;;
  *) die "usage: $0 [check|advisories|install]" ;;
esac
