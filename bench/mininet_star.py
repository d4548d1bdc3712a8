"""Baseline: Mininet 2.3 builds and stops the star once; prints one JSON line of timings.

Run by the python3 that has Mininet (Debian's /usr/bin/python3), one process per build:
    python3 bench/mininet_star.py N
Mininet is used as documented (Mininet(), addHost/addSwitch/addLink, build/start, stop),
with a LinuxBridge switch and no controller. Two settings keep the shared host untouched:
the switch runs in its own namespace (Mininet's default puts it in the root namespace),
and Mininet.init() is skipped (its fixLimits() raises sysctls of the root namespace).
Its hosts are unnamed namespaces (one bash per node); node names start with "be".
The time to import Mininet is not counted, as for the in-process ways.
"""

from __future__ import annotations

import json
import os
import signal
import sys
import time

import probe
from topo import Star


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def main() -> None:
    n = int(sys.argv[1])
    star = Star(n, "be-mn")
    sys.path.append("/usr/lib/python3/dist-packages")
    from mininet.log import setLogLevel
    from mininet.net import Mininet
    from mininet.node import Host
    from mininet.nodelib import LinuxBridge

    setLogLevel("error")
    Mininet.inited = True  # skip Mininet.init(): fixLimits() would change root-namespace sysctls
    out: dict[str, object] = {"n": n}
    net = None
    pids: list[int] = []
    try:
        started = time.perf_counter()
        net = Mininet(topo=None, switch=LinuxBridge, host=Host, controller=None, build=False)
        switch = net.addSwitch("bes1", cls=LinuxBridge, inNamespace=True)
        for i in star.hosts():
            host = net.addHost(f"beh{i}", ip=star.host_cidr(i), defaultRoute=f"dev beh{i}-eth0")
            net.addLink(host, switch)
        net.build()
        net.start()
        out["build"] = time.perf_counter() - started
        pids = [node.pid for node in net.hosts + net.switches]
        out["probe"] = probe.ping(f"/proc/{net.hosts[-1].pid}/ns/net", star.host_ip(1))
        started = time.perf_counter()
        net.stop()
        out["teardown"] = time.perf_counter() - started
        net = None
        deadline = time.monotonic() + 5
        while any(_alive(pid) for pid in pids) and time.monotonic() < deadline:
            time.sleep(0.01)
        left = [pid for pid in pids if _alive(pid)]
        out["left"] = len(left)
        out["ok"] = not left
    except Exception as exc:
        out["ok"] = False
        out["error"] = f"{type(exc).__name__}: {exc}"
    finally:
        if net is not None:  # failed part-way: stop what exists, then make sure its shells are gone
            pids = [node.pid for node in net.hosts + net.switches if node.pid]
            try:
                net.stop()
            finally:
                for pid in pids:
                    if _alive(pid):
                        os.kill(pid, signal.SIGKILL)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
