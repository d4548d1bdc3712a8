#!/usr/bin/env bash
# Refuse (exit 4) unless the checkout this script lives in is root's alone: learners run
# `sudo nslab`, which is <checkout>/.venv/bin/nslab, so whoever can change the checkout, the
# venv in it, or any directory above it (rename it, swap it) runs code as root.
# Used by scripts/install.sh for a learner install (not with --dev).
set -euo pipefail
cd "$(dirname "$0")/.."
# Every directory from / down to the checkout, and everything in it, must be root's and not
# writable by group or other (a sticky directory such as /tmp is fine above the checkout).
unsafe_checkout() {
  local dir="$PWD"
  while :; do
    if [ "$(stat -c %u "$dir")" != 0 ]; then echo "$dir is owned by uid $(stat -c %u "$dir")"; return 0; fi
    local perm; perm=$(stat -c %a "$dir")
    if [ "$dir" != "$PWD" ] && [ ${#perm} = 4 ] && [ $(( 0${perm:0:1} & 1 )) = 1 ]; then
      :  # sticky: others cannot rename or remove root's entries in it
    elif [ $(( 0${perm: -2:1} & 2 )) = 2 ] || [ $(( 0${perm: -1} & 2 )) = 2 ]; then
      echo "$dir is writable by group or other (mode $perm)"; return 0
    fi
    [ "$dir" = / ] && break
    dir=$(dirname "$dir")
  done
  local bad
  bad=$(find . -path ./.venv -prune -o \( ! -user 0 -o -perm /022 \) -print -quit)
  if [ -n "$bad" ]; then echo "$PWD/${bad#./} is not root's alone"; return 0; fi
  return 1
}
if why=$(unsafe_checkout); then
  echo "error: refusing to install nslab for learners from $PWD: $why" >&2
  echo "    hint: learners run nslab as root through sudo, so its code must be root's alone:" >&2
  echo "          clone it as root into a root-owned directory (e.g. sudo git clone ... /opt/nslab)," >&2
  echo "          or use 'bash scripts/install.sh --dev' on a machine where that does not matter" >&2
  exit 4
fi
