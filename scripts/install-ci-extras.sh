#!/usr/bin/env bash
# Tools that only CI (and developers running the whole suite) need on top of
# scripts/install.sh, so that no test skips on a fresh CI machine:
#   ruby         `ruby -c vagrant/Vagrantfile`, and evaluating the Vagrantfile to list what the
#                VM is given (tests/container/test_vagrant.py)
#   podman, runc, debootstrap, slirp4netns
#                the container test (tests/container/test_podman.py): a Debian base image made
#                with debootstrap (no registry needed), the CI image built from
#                container/Containerfile, labs run in it, privileged; slirp4netns gives the
#                provisioning run its own network namespace with user-space NAT
#   vagrant      `vagrant validate` of the same file, where the distribution still packages it
#                (Debian 12 does; it is optional: the test skips without it)
# (strace, for the crash-safety suite, comes with scripts/install-deps.sh.)
# Usage (as root): bash scripts/install-ci-extras.sh
set -euo pipefail
REQUIRED=(ruby podman runc debootstrap slirp4netns)
OPTIONAL=(vagrant)
if [ "$(id -u)" -ne 0 ]; then
    echo "install-ci-extras.sh: run as root (sudo)" >&2
    exit 4
fi
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }
missing=()
for pkg in "${REQUIRED[@]}" "${OPTIONAL[@]}"; do
    installed "$pkg" || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    wanted=()
    for pkg in "${missing[@]}"; do
        if [[ " ${OPTIONAL[*]} " == *" $pkg "* ]] && ! apt-cache show "$pkg" >/dev/null 2>&1; then
            echo "install-ci-extras.sh: $pkg is not packaged here; its test will skip" >&2
            continue
        fi
        wanted+=("$pkg")
    done
    if [ "${#wanted[@]}" -gt 0 ]; then
        apt-get install -y -qq --no-install-recommends "${wanted[@]}" >/dev/null
    fi
fi
status=0
for pkg in "${REQUIRED[@]}"; do
    if installed "$pkg"; then echo "CI extra $pkg: ok"; else echo "CI extra $pkg: MISSING" >&2; status=4; fi
done
for pkg in "${OPTIONAL[@]}"; do
    if installed "$pkg"; then echo "CI extra $pkg: ok"; fi
done
exit "$status"
