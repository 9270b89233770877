#!/usr/bin/env bash
# Checks that the README's layout table matches the folders: every workspace
# member (Cargo.toml `members`) and every top-level folder is named in the table,
# and every path the table names exists. Brace forms such as
# `services/{inventory,pricing}/` are expanded.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"

# The paths in the first column of the table under "## Layout".
table=$(awk '/^## Layout/{on=1; next} on && /^## /{exit} on && /^\| `/' README.md |
  grep -o '^| [^|]*|' | grep -o '`[^`]*`')
paths=()
for cell in $table; do
  cell=${cell//\`/}
  cell=${cell%,}
  # shellcheck disable=SC2086
  for p in $(eval echo "$cell"); do paths+=("${p%/}"); done
done

fail=0
for p in "${paths[@]}"; do
  [[ -e "$p" ]] || { echo "layout: README names $p, which does not exist" >&2; fail=1; }
done
named() {
  local want=$1 p
  for p in "${paths[@]}"; do
    [[ "$p" == "$want" || "$want" == "$p"/* ]] && return 0
  done
  return 1
}
members=$(sed -n '/^members = \[/,/^\]/p' Cargo.toml | grep -o '"[^"]*"' | tr -d '"')
for m in $members; do
  named "$m" || { echo "layout: workspace member $m is missing from the README's layout table" >&2; fail=1; }
done
for d in */; do
  d=${d%/}
  [[ "$d" == target ]] && continue
  for p in "${paths[@]}"; do [[ "$p" == "$d" || "$p" == "$d"/* ]] && continue 2; done
  echo "layout: top-level folder $d/ is missing from the README's layout table" >&2
  fail=1
done
[[ $fail == 0 ]] && echo "layout: the README's table names all ${#paths[@]} paths and every crate"
exit $fail
