#!/usr/bin/env bash
# System packages nslab and its labs need, listed once: used by the Makefile, .ci/run,
# the Vagrant provisioner and the Containerfile. Every tool a lab's text tells the learner
# to use is here, and `nslab doctor` checks for the same list (nslab/doctor.py TOOLS; a unit
# test keeps the two in step):
#   iproute2 (ip, ss, bridge, tc), iptables (iptables*, ip6tables*), nftables (nft: the
#   rules behind iptables-nft), conntrack (list and flush connection tracking entries),
#   procps (sysctl, ps), iputils-ping, iputils-arping, traceroute, tcpdump,
#   dnsutils + bind9-host (dig, host, nslookup), netcat-openbsd (nc), curl, openssl,
#   unbound (the lab resolver service), strace (watch what a program asks the kernel),
#   util-linux (unshare, nsenter, mount).
set -euo pipefail
PACKAGES=(
  iproute2 iptables nftables conntrack procps iputils-ping iputils-arping traceroute tcpdump
  dnsutils bind9-host netcat-openbsd curl openssl unbound strace util-linux
  python3 python3-pip python3-venv ca-certificates
)
if [ "$(id -u)" -ne 0 ]; then
  echo "install-deps.sh: run as root (sudo)" >&2
  exit 4
fi
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
# unbound is only a program the resolver service runs inside labs, never a host service:
# keep Debian's postinst from starting it (that would take port 53 on the host).
if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
  systemctl mask unbound.service >/dev/null 2>&1 || true
fi
if [ "${#missing[@]}" -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "system packages: ok"
