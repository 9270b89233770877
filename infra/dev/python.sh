#!/usr/bin/env bash
# A Python virtualenv with pinned packages, made once and reused: prints the path of
# its python on stdout (everything else goes to stderr).
#
#   infra/dev/python.sh NAME REQUIREMENTS.txt
#
# The venv is $SAGAFLOW_TOOLS_DIR/venv-NAME (.tools/ by default). It is (re)installed
# when the requirements file changed since the last install (a stamp of its sha256),
# so a second run only compares the stamp. python3 and its venv module come from
# Debian's packages when missing (as root with apt-get); otherwise it fails saying
# what to install. Runs that overlap (parallel tests) wait for each other.
set -euo pipefail
source "$(dirname "$0")/env.sh"

[[ $# -eq 2 ]] || die "usage: $0 NAME REQUIREMENTS.txt"
name="$1"
requirements="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
[[ -f $requirements ]] || die "no requirements file $2"
venv="$SAGAFLOW_TOOLS_DIR/venv-$name"
mkdir -p "$SAGAFLOW_TOOLS_DIR"

apt_install() {
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    log "installing $* from Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq && apt-get install -y -qq "$@" >/dev/null
  else
    die "$1 is missing: install $* (Debian/Ubuntu: apt-get install $*)"
  fi
}

exec 9>"$venv.lock"
flock 9
stamp="$(sha256sum "$requirements" | cut -c1-16)"
if [[ -x $venv/bin/python && -f $venv/.stamp && "$(cat "$venv/.stamp")" == "$stamp" ]]; then
  echo "$venv/bin/python"
  exit 0
fi
command -v python3 >/dev/null || apt_install python3 python3-venv
if [[ ! -x $venv/bin/pip ]]; then
  rm -rf "$venv"
  if ! python3 -m venv "$venv" >/dev/null 2>&1; then
    rm -rf "$venv"
    apt_install python3-venv
    python3 -m venv "$venv" || die "python3 -m venv $venv failed"
  fi
fi
log "installing $(grep -cv '^\s*\(#\|$\)' "$requirements") pinned Python packages into $venv"
"$venv/bin/pip" install -q --disable-pip-version-check -r "$requirements" >&2 ||
  die "pip could not install $requirements into $venv (is PyPI reachable?)"
echo "$stamp" >"$venv/.stamp"
echo "$venv/bin/python"
