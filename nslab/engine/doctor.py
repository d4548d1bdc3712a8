"""Can this machine run labs? Each finding says what is wrong and how to fix it."""

from __future__ import annotations

import importlib.util
import os
import resource
import shutil
import subprocess
import sys
import threading
from dataclasses import dataclass

# tool -> (Debian package that provides it, whether labs cannot do without it). The packages
# are the ones scripts/install-deps.sh installs (a unit test keeps the two in step).
TOOLS: dict[str, tuple[str, bool]] = {
    "ip": ("iproute2", True),
    "ss": ("iproute2", True),
    "bridge": ("iproute2", True),
    "iptables": ("iptables", True),
    "iptables-restore": ("iptables", True),
    "iptables-save": ("iptables", True),
    "ip6tables": ("iptables", True),
    "nft": ("nftables", True),
    "conntrack": ("conntrack", True),
    "sysctl": ("procps", True),
    "ping": ("iputils-ping", True),
    "tcpdump": ("tcpdump", True),
    "dig": ("dnsutils", True),
    "host": ("bind9-host", True),
    "nc": ("netcat-openbsd", True),
    "curl": ("curl", True),
    "openssl": ("openssl", True),
    "traceroute": ("traceroute", False),
    "arping": ("iputils-arping", False),
    "unbound": ("unbound", False),
    "strace": ("strace", False),
}
# Where root's tools live when the PATH of a non-root shell leaves them out.
SBIN = ("/usr/sbin", "/sbin")


@dataclass
class Finding:
    name: str
    ok: bool
    detail: str
    fix: str = ""
    required: bool = True


def run() -> list[Finding]:
    findings = [_python(), _root()]
    findings += _tools()
    findings.append(_modules())
    findings.append(_ulimit())
    if os.geteuid() == 0:
        findings += _kernel_features()
    return findings


def _python() -> Finding:
    ok = sys.version_info >= (3, 11)
    return Finding("python", ok, f"Python {sys.version.split()[0]}", "install Python 3.11 or newer")


def _root() -> Finding:
    ok = os.geteuid() == 0
    return Finding("root", ok, "running as root" if ok else "not root", "run nslab with sudo")


def _tools() -> list[Finding]:
    out = []
    for tool, (package, required) in TOOLS.items():
        path = shutil.which(tool) or next(
            (f"{d}/{tool}" for d in SBIN if os.access(f"{d}/{tool}", os.X_OK)), None
        )
        out.append(
            Finding(
                f"tool {tool}",
                path is not None,
                path or "not found",
                f"apt-get install {package}",
                required,
            )
        )
    return out


def _modules() -> Finding:
    missing = [m for m in ("click", "yaml", "pyroute2", "scapy") if importlib.util.find_spec(m) is None]
    return Finding(
        "python packages",
        not missing,
        "all present" if not missing else "missing: " + ", ".join(missing),
        "pip install -e . (from the nslab checkout)",
    )


def _ulimit() -> Finding:
    soft, _ = resource.getrlimit(resource.RLIMIT_NOFILE)
    ok = soft >= 256
    return Finding("open files limit", ok, f"ulimit -n = {soft}", "ulimit -n 1024", required=False)


def _kernel_features() -> list[Finding]:
    """Create one of each device kind in a throwaway namespace: the only honest test."""
    from nslab.kernel import netns, rtnl

    results: dict[str, str] = {}

    def body() -> None:
        import ipaddress

        try:
            netns.new_here()
        except OSError as exc:
            results["netns"] = str(exc)
            return
        results["netns"] = ""
        fd = netns.current_fd()
        try:
            with rtnl.Rtnl() as sock:
                trials = {
                    "veth": rtnl.veth("dr0", 0, "dr1", 0, fd),
                    "bridge": rtnl.bridge("drbr", 0),
                    "vxlan": rtnl.vxlan("drvx", 0, 7, ipaddress.ip_address("192.0.2.1"), None, None, 4789),
                }
                for name, request in trials.items():
                    try:
                        sock.run([request])
                        results[name] = ""
                    except OSError as exc:
                        results[name] = exc.strerror or str(exc)
            exe = shutil.which("iptables-restore")
            if exe:
                done = subprocess.run(
                    [exe, "--noflush"],
                    input="*filter\n-A INPUT -p icmp -j DROP\nCOMMIT\n",
                    capture_output=True,
                    text=True,
                    check=False,
                )
                results["iptables"] = done.stderr.strip() if done.returncode else ""
        finally:
            os.close(fd)

    thread = threading.Thread(target=body, daemon=True)
    thread.start()
    thread.join()
    out = [
        Finding(
            "network namespaces",
            results.get("netns") == "",
            results.get("netns") or "can create them",
            "run as root on a kernel with CONFIG_NET_NS (in a container: --privileged)",
        )
    ]
    for name, fix in (
        ("veth", "load the veth module: modprobe veth"),
        ("bridge", "load the bridge module: modprobe bridge"),
        ("vxlan", "load the vxlan module: modprobe vxlan (only VXLAN labs need it)"),
    ):
        if name in results:
            error = results[name]
            out.append(Finding(f"kernel {name}", not error, error or "works", fix, required=name != "vxlan"))
    if "iptables" in results:
        error = results["iptables"]
        out.append(
            Finding(
                "iptables in a namespace",
                not error,
                error or "works",
                "install iptables and make sure the nf_tables or ip_tables modules load",
            )
        )
    return out
