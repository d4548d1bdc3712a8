#!/usr/bin/env bash
# Tools that only CI needs on top of scripts/install.sh, so that tests which would otherwise
# skip run for real there:
#   strace   exact-syscall kill points of the crash-safety suite (tests/reliability)
#   ruby     `ruby -c vagrant/Vagrantfile`, and evaluating the Vagrantfile to list what the
#            VM is given (tests/container/test_vagrant.py)
#   vagrant  `vagrant validate` of the same file, where the distribution still packages it
#            (Debian 12 does; it is optional: the test skips without it)
# Not podman: the container test (tests/container/test_podman.py) builds an image for
# minutes; it runs on machines where podman is installed and skips elsewhere.
# Usage (as root): bash scripts/install-ci-extras.sh
set -euo pipefail
REQUIRED=(ruby strace)
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
for pkg in "${REQUIRED[@]}" "${OPTIONAL[@]}"; do
    if installed "$pkg"; then echo "CI extra $pkg: ok"; fi
done
