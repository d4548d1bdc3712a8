"""Two iproute2 baselines, each a shell script run as one whole process (bash -e).

script: what a person writes by hand, one `ip` process per command.
batch:  `ip -batch` for what can run from outside (namespaces, veths created directly
        inside them), then one `ip -n NS -batch` per namespace for the rest.
Neither touches the root namespace: every link is created inside a lab namespace.
"""

from __future__ import annotations

import os
import subprocess

from topo import Star


def script_build(star: Star) -> str:
    sw = star.switch_ns
    lines = [
        f"ip netns add {sw}",
        f"ip -n {sw} link set lo up",
        f"ip -n {sw} link add br0 type bridge",
        f"ip -n {sw} link set br0 up",
    ]
    for i in star.hosts():
        h = star.host_ns(i)
        lines += [
            f"ip netns add {h}",
            f"ip -n {h} link set lo up",
            f"ip -n {h} link add eth0 type veth peer name p{i} netns {sw}",
            f"ip -n {h} addr add {star.host_cidr(i)} dev eth0",
            f"ip -n {h} link set eth0 up",
            f"ip -n {h} route add default dev eth0",
            f"ip -n {sw} link set p{i} master br0",
            f"ip -n {sw} link set p{i} up",
        ]
    return "\n".join(lines) + "\n"


def script_teardown(star: Star) -> str:
    return "".join(f"ip netns del {name}\n" for name in star.namespaces())


def batch_build(star: Star, directory: str) -> str:
    """Writes the batch files into directory; returns the script that runs them."""
    sw = star.switch_ns
    outside = [f"netns add {name}" for name in star.namespaces()]
    outside += [
        f"link add eth0 netns {star.host_ns(i)} type veth peer name p{i} netns {sw}" for i in star.hosts()
    ]
    files = {"outside": outside, sw: ["link set lo up", "link add br0 type bridge", "link set br0 up"]}
    files[sw] += [f"link set p{i} master br0 up" for i in star.hosts()]
    for i in star.hosts():
        files[star.host_ns(i)] = [
            "link set lo up",
            f"addr add {star.host_cidr(i)} dev eth0",
            "link set eth0 up",
            "route add default dev eth0",
        ]
    for name, lines in files.items():
        with open(os.path.join(directory, f"{name}.batch"), "w") as handle:
            handle.write("\n".join(lines) + "\n")
    runs = [f"ip -batch {directory}/outside.batch"]
    runs += [f"ip -n {name} -batch {directory}/{name}.batch" for name in star.namespaces()]
    return "\n".join(runs) + "\n"


def batch_teardown(star: Star, directory: str) -> str:
    path = os.path.join(directory, "teardown.batch")
    with open(path, "w") as handle:
        handle.write("".join(f"netns del {name}\n" for name in star.namespaces()))
    return f"ip -batch {path}\n"


def run_script(path: str, env: dict[str, str] | None = None) -> None:
    """Run a shell script as one process (stopping at the first failing command)."""
    done = subprocess.run(["/bin/bash", "-e", path], capture_output=True, text=True, env=env)
    if done.returncode != 0:
        raise RuntimeError(f"{path} failed ({done.returncode}): {done.stderr.strip()[-300:]}")
