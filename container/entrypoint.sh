#!/bin/sh
# Entry point of the nslab CI image.
#
# 1. Prepare /run/netns the way `ip netns add` does (a shared bind mount), so namespaces that
#    nslab names there stay visible to `ip netns exec` and to every later `docker exec`.
#    nslab does this itself too; doing it here also serves plain `ip netns` users and lets us
#    say early, in one line, that the container is not privileged.
# 2. Dispatch: `IMAGE doctor`, `IMAGE up two-hosts`, `IMAGE --debug status` run nslab;
#    `IMAGE bash script.sh` (or GitLab's shell) runs that program instead.
set -eu

prepare_netns_dir() {
    mkdir -p /run/netns || return 1
    if ! mountpoint -q /run/netns; then
        mount --bind /run/netns /run/netns || return 1
    fi
    mount --make-shared /run/netns
}

if ! prepare_netns_dir 2>/dev/null; then
    echo "nslab-entrypoint: cannot prepare /run/netns: this container is not privileged;" \
        "labs will not build (run it with --privileged)" >&2
fi

if [ "$#" -eq 0 ]; then
    set -- doctor
fi
case "$1" in
    nslab)
        shift
        exec nslab "$@"
        ;;
    -*)
        exec nslab "$@"
        ;;
esac
# The list is written at image build time from nslab's own command table, so a command
# added to nslab needs no change here (and `reset` means nslab's, not ncurses').
if grep -qxF -- "$1" /usr/local/share/nslab/commands; then
    exec nslab "$@"
fi
exec "$@"
