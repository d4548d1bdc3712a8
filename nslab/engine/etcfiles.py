"""Per-node files under /etc/netns/<ns>/, which `ip netns exec` (and so `nslab shell` and
`nslab exec`) bind-mounts over /etc/: hosts, resolv.conf, and the lab CA trust.

`ip netns exec` mounts each entry of the directory over the /etc entry of the same name, so
an `ssl/` directory here replaces the whole of /etc/ssl inside the lab: it holds the lab
CA as the only trusted certificate (labs are closed worlds) and a copy of the host's
openssl.cnf, so openssl, curl, wget and Python see the lab CA and nothing else.

Each node's own view lives here too: its size-limited tmpfs, the overlays of /etc, /var,
/root, /home and /run, its UTS namespace, and entering all of that (see docs/design.md).

Long on purpose: a node's files and its view are one layout (the /etc upper layer is where
the files above are written, and what `ip netns exec` finds through the /etc/netns link);
apart, two modules would share every path and ordering rule.
"""

from __future__ import annotations

import contextlib
import logging
import os
import stat
import sys
from typing import TYPE_CHECKING

from nslab.engine import state, statefiles
from nslab.errors import LabStateError

if TYPE_CHECKING:
    # Types only: teardown imports this module, and `nslab down` must not pay for the model.
    from nslab.engine.journal import Journal
    from nslab.scenario import model as m

log = logging.getLogger(__name__)

HEADER = "# written by nslab for lab {lab}, node {node}; removed by 'nslab down'\n"


def node_names(scenario: m.Scenario, node: m.Node) -> dict[str, str]:
    """Name -> address of every host and router, as `node` would reach it: an address on a
    subnet `node` shares, else the peer's first address. A real office's machines find each
    other by name (`ping nas`); a lab that teaches name resolution sets `metadata.hosts: none`
    and its nodes know only their own name.
    Names the node's own `hosts:` entries give are left to them."""
    mine = [a.network for _, a in node.addresses()]
    # A lab about DNS names no other node: a real machine still knows its own name.
    peers = [node] if scenario.metadata.hosts == "none" else list(scenario.nodes.values())
    out: dict[str, str] = {}
    for peer in peers:
        addresses = [a for _, a in peer.addresses()]
        if peer.kind == "switch" or not addresses or peer.name in node.hosts:
            continue
        near = [a for a in addresses if any(a.ip in net for net in mine)]
        out[peer.name] = str((near or addresses)[0].ip)
    return out


def hosts_text(lab: str, node: m.Node, names: dict[str, str] | None = None) -> str:
    lines = [HEADER.format(lab=lab, node=node.name), "127.0.0.1\tlocalhost\n", "::1\tlocalhost\n"]
    for name, near in (names or {}).items():
        lines.append(f"{near}\t{name}\n")
    for name, addresses in node.hosts.items():
        for address in addresses:
            lines.append(f"{address}\t{name}\n")
    return "".join(lines)


def resolv_text(lab: str, node: m.Node) -> str:
    lines = [HEADER.format(lab=lab, node=node.name)]
    if node.resolv is None:
        lines.append("# this node has no resolver in the lab's scenario\n")
        return "".join(lines)
    lines += [f"nameserver {ns}\n" for ns in node.resolv.nameservers]
    if node.resolv.search:
        lines.append("search " + " ".join(node.resolv.search) + "\n")
    if node.resolv.options:
        lines.append("options " + " ".join(node.resolv.options) + "\n")
    return "".join(lines)


def files_for(lab: str, node: m.Node, scenario: m.Scenario | None = None) -> dict[str, str]:
    """Every host and router gets its own hosts and resolv.conf: without them `ip netns exec`
    shows the machine's own files, and a learner editing /etc/hosts inside a node would be
    editing the host's. Switches have no shell life worth protecting."""
    if node.kind == "switch":
        return {}
    names = node_names(scenario, node) if scenario is not None else {}
    return {"hosts": hosts_text(lab, node, names), "resolv.conf": resolv_text(lab, node)}


def node_dir(lab: str, netns: str) -> str:
    """Where a node's /etc files really live: the upper layer of the node's /etc overlay, on
    the node's own size-limited tmpfs (see nodeview_root)."""
    return os.path.join(nodeview_root(lab, netns), "etc", "upper")


def is_ours(link: str, lab: str) -> bool:
    """/etc/netns/<ns> belongs to this lab when it is a symlink to the lab's node directory."""
    return os.path.islink(link) and os.readlink(link) == node_dir(lab, os.path.basename(link))


def _into_state(link: str) -> bool:
    """A symlink whose target lies in nslab's state root: only nslab makes those."""
    if not os.path.islink(link):
        return False
    target = os.readlink(link)
    return target.startswith(state.STATE_ROOT.rstrip("/") + "/")


def stale_links() -> list[str]:
    """/etc/netns entries that are nslab's symlinks with a vanished target (the lab's state
    directory was removed by hand, or its build was killed): safe to remove."""
    try:
        names = os.listdir(state.ETC_NETNS)
    except FileNotFoundError:
        return []
    paths = [os.path.join(state.ETC_NETNS, n) for n in names]
    return [p for p in paths if _into_state(p) and not os.path.exists(p)]


def claim(journal: Journal, lab: str, netns: str) -> str:
    """The node's /etc directory, made if needed: the files go on tmpfs under the lab's state
    directory and /etc/netns/<ns> is a symlink to them. `ip netns exec` follows it, so the
    node sees its own hosts and resolv.conf; the disk sees one symlink per node (creating
    files on ext4 costs ~0.3 ms each), and ownership is plain from the link's target.
    Journaled before the link exists. A dangling symlink into nslab's state root is an
    earlier lab's leftover and is replaced; anything else there is refused, with the fix."""
    link = state.etc_dir(netns)
    target = node_dir(lab, netns)
    if is_ours(link, lab) and os.path.isdir(target):
        return target
    if _into_state(link) and not os.path.exists(link):
        log.info("removing stale %s (its target %s is gone)", link, os.readlink(link))
        os.unlink(link)
    if os.path.lexists(link):
        raise _taken(link)
    ensure_node_fs(lab, netns)
    # 0755/0644 inside the lab's 0700 directory: `ip netns exec` bind-mounts these files over
    # /etc, where unprivileged programs in the node (resolvers, curl as a user) must read them.
    statefiles.make_dirs(target, statefiles.SHARED_DIR)
    journal.record("etc", path=link)
    statefiles.make_dirs(state.ETC_NETNS, statefiles.SHARED_DIR)  # a host directory: as ip(8) makes it
    os.symlink(target, link)
    return target


def _taken(link: str) -> LabStateError:
    if _into_state(link):
        other = os.path.relpath(os.readlink(link), state.STATE_ROOT).split(os.sep)[0]
        return LabStateError(
            f"{link} belongs to running lab {other}",
            f"pick another --prefix; lab {other} is left as it is",
        )
    if os.path.isdir(link) and not os.path.islink(link):
        return LabStateError(
            f"{link} is a directory nslab did not make",
            f"if it is empty and nobody needs it: 'rmdir {link}'; otherwise pick another --prefix",
        )
    return LabStateError(
        f"{link} already exists and nslab did not make it",
        f"if nobody needs it: 'rm {link}'; otherwise pick another --prefix",
    )


# Labs built before the symlink layout had a real directory, marked with this attribute.
OWNER_XATTR = "user.nslab.owner"


def legacy_owner(directory: str) -> str | None:
    try:
        return os.getxattr(directory, OWNER_XATTR).decode(errors="replace")
    except OSError:
        return None


HOST_OPENSSL_CNF = "/etc/ssl/openssl.cnf"
CA_BUNDLE = os.path.join("ssl", "certs", "ca-certificates.crt")  # Debian's default CA file
CA_COPY = os.path.join("ssl", "certs", "nslab-lab-ca.pem")


def add_ca_trust(journal: Journal, lab: str, netns: str, ca_pem: str) -> None:
    """Make the node trust the lab CA (idempotent: a restart finds it already there)."""
    directory = claim(journal, lab, netns)
    bundle = os.path.join(directory, CA_BUNDLE)
    if os.path.exists(bundle):
        return
    # Shared (0755/0644): the node's programs read their trust store as any user.
    statefiles.make_dirs(os.path.dirname(bundle), statefiles.SHARED_DIR)
    # The lab CA replaces the host's /etc/ssl in the node, not merges with it.
    os.setxattr(os.path.join(directory, "ssl"), OPAQUE_XATTR, b"y")
    if os.path.exists(HOST_OPENSSL_CNF):
        with open(HOST_OPENSSL_CNF, "rb") as handle:
            cnf = handle.read()
        statefiles.write_atomic(os.path.join(directory, "ssl", "openssl.cnf"), cnf, statefiles.SHARED)
    statefiles.write_atomic(os.path.join(directory, CA_COPY), ca_pem, statefiles.SHARED)
    statefiles.write_atomic(bundle, ca_pem, statefiles.SHARED)  # last: its presence means the tree is whole


# --- The node's own view: mount + UTS namespaces (kernel-gotchas #14, docs/design.md) -------

NODE_FS_SIZE = "16m"  # all a node can write: /etc, /run, /var, /root, /home layers and /tmp
OPAQUE_XATTR = "trusted.overlay.opaque"
MS_NOSUID, MS_NODEV, MS_NOEXEC = 2, 4, 8  # mount(2) flags of the tmpfs that hides the state root
# Host directories a node sees through its own overlay (reads: the host's; writes: the node's).
# /run goes last: the other layers live under /run/nslab, which the /run overlay hides.
OVERLAID = ("etc", "var", "root", "home", "run")


def nodeview_root(lab: str, netns: str) -> str:
    """The node's tmpfs: <lab dir>/nodes/<ns>/, holding its overlay layers, mounted views,
    /tmp and its UTS namespace. Everything mounted under the lab directory is the lab's, and
    teardown unmounts it by location (a kill -9 between a mount and a journal line cannot
    strand it)."""
    return os.path.join(state.lab_dir(lab), "nodes", netns)


def _locked(lab: str) -> int:
    import fcntl

    path = os.path.join(state.lab_dir(lab), "nodes")
    os.makedirs(path, mode=0o700, exist_ok=True)
    fd = os.open(os.path.join(path, ".lock"), os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    fcntl.flock(fd, fcntl.LOCK_EX)  # two shells opening the same node at once mount once
    return fd


def ensure_node_fs(lab: str, netns: str) -> str:
    """Mount the node's size-limited tmpfs if it is not there yet (idempotent)."""
    from nslab.kernel import netns as kns

    root = nodeview_root(lab, netns)
    if os.path.ismount(root):
        return root
    fd = _locked(lab)
    try:
        if not os.path.ismount(root):
            os.makedirs(root, mode=0o700, exist_ok=True)
            kns.mount("nslab", root, "tmpfs", 0, f"size={NODE_FS_SIZE},mode=0700")
            for name in OVERLAID:
                upper = os.path.join(root, name, "upper")
                os.makedirs(upper, mode=0o700)
                # The overlay's top directory takes the upper's mode, and builds run under a
                # 077 umask: without this a node's /etc and /run are root's alone, and its
                # unprivileged programs (a service's worker, `runuser -u nobody`) read nothing.
                os.chmod(upper, _host_mode("/" + name))
                os.mkdir(os.path.join(root, name, "work"), 0o700)
                os.mkdir(os.path.join(root, name, "view"), 0o755)
            os.mkdir(os.path.join(root, "tmp"))
            os.chmod(os.path.join(root, "tmp"), 0o1777)
    finally:
        os.close(fd)
    return root


def _host_mode(path: str) -> int:
    """The permission bits of a host directory a node overlays (0755 if it is missing)."""
    try:
        return stat.S_IMODE(os.stat(path).st_mode)
    except OSError:
        return 0o755


# Commands nslab adds inside every node, first on PATH in `nslab shell` and `nslab exec`. It
# lives in the node's own /run, so it costs nothing on the host and goes with the lab.
NODE_BIN = "/run/nslab-node/bin"

# The course types `sudo tcpdump ...`; inside a node the learner is already root, and the host's
# sudo (if any) would want its own /etc/sudoers and a resolvable host name. This one runs the
# command as it is, or as another user with runuser (-u USER).
SUDO = """#!/bin/sh
# sudo inside an nslab node: you are already root here, so the command runs as it is.
user=
while [ $# -gt 0 ]; do
  case "$1" in
    -u|--user) user=$2; shift 2 ;;
    -u*) user=${1#-u}; shift ;;
    --user=*) user=${1#--user=}; shift ;;
    -E|-H|-n|-S|-k|-P|-b|-i|-s|--login|--shell|--preserve-env|--preserve-env=*|--non-interactive) shift ;;
    --) shift; break ;;
    -*) echo "sudo: option $1 is not supported inside an nslab node (you are root here)" >&2; exit 1 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || set -- "${SHELL:-/bin/sh}"
if [ -n "$user" ] && [ "$user" != root ] && [ "$user" != 0 ]; then
  exec runuser -u "$user" -- "$@"
fi
exec "$@"
"""


def node_path(path: str | None) -> str:
    """PATH inside a node: nslab's node tools first, then the caller's (or a sane default)."""
    rest = path or "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
    return NODE_BIN + ":" + rest


def _install_node_tools(root: str) -> None:
    """Write the node's tools into its /run overlay (idempotent; the node may edit or delete them)."""
    bin_dir = os.path.join(root, "run", "view", NODE_BIN.removeprefix("/run/"))
    target = os.path.join(bin_dir, "sudo")
    if os.path.lexists(target):
        return
    os.makedirs(bin_dir, mode=0o755, exist_ok=True)
    statefiles.write_atomic(target, SUDO, 0o755)


def ensure_node_view(lab: str, netns: str, node: str) -> str:
    """The node's persistent pieces, made on first use: its tmpfs, one overlay per OVERLAID
    directory (one overlay per node, shared by every shell and service, so they all see the
    same files at once), and its UTS namespace named after the node. Idempotent."""
    from nslab.kernel import netns as kns

    root = ensure_node_fs(lab, netns)
    uts = os.path.join(root, "uts")
    if os.path.ismount(uts) and os.path.ismount(os.path.join(root, OVERLAID[-1], "view")):
        return root
    fd = _locked(lab)
    try:
        for name in OVERLAID:
            view = os.path.join(root, name, "view")
            if os.path.isdir("/" + name) and not os.path.ismount(view):
                layers = f"lowerdir=/{name},upperdir={root}/{name}/upper,workdir={root}/{name}/work"
                kns.mount("overlay", view, "overlay", 0, layers)
        if not os.path.ismount(uts):
            if os.path.lexists(uts):
                os.unlink(uts)  # an empty file left by a kill between create and bind
            kns.bind_new_uts(uts, node)
        _install_node_tools(root)
    finally:
        os.close(fd)
    return root


def enter_node_view(lab: str, netns: str, node: str, keep: tuple[str, ...] = ()) -> None:
    """Move the calling (single-threaded) process into the node: its network and UTS
    namespaces and a private mount namespace where the host's tree is read-only and /etc, /var,
    /root, /home, /run and /tmp are the node's own. A root learner can `umount` any of them:
    below is the host's directory, read-only in this namespace.

    `keep`: host directories that stay reachable, writable, at their own path (a service's
    lab state directory and /run/netns; never for a learner's shell)."""
    enter_prepared(ensure_node_view(lab, netns, node), netns, keep)


def code_paths() -> tuple[str, ...]:
    """Where this interpreter and nslab's own code live, when a node's view would hide them:
    /tmp is the node's own, so a checkout or virtualenv under /tmp (a CI job's clone) must be
    bound back, read-only, for services and solution steps that run `python -m nslab...`."""
    import nslab

    home = os.path.dirname(os.path.dirname(os.path.abspath(nslab.__file__)))
    found = sorted({p for p in (sys.prefix, sys.base_prefix, home) if p == "/tmp" or p.startswith("/tmp/")})
    # A path inside another one is bound with it.
    return tuple(p for p in found if not any(p != q and p.startswith(q.rstrip("/") + "/") for q in found))


def enter_prepared(root: str, netns: str, keep: tuple[str, ...] = (), code: tuple[str, ...] = ()) -> None:
    """enter_node_view after ensure_node_view: no lock, no new mounts in the host namespace,
    so a forked child may call it (the supervisor's preexec_fn). `code`: host directories
    bound back read-only at their own path (code_paths())."""
    from nslab.kernel import libc
    from nslab.kernel import netns as kns

    fd = kns.open_fd(netns)
    try:
        libc.setns_net(fd)
    finally:
        os.close(fd)
    kns.enter_uts(os.path.join(root, "uts"))
    cwd = os.getcwd()
    kns.new_private_mounts()
    kns.set_readonly("/", True, recursive=True)
    for writable in ("/dev", "/proc"):
        # Read-only from the start (a container's /proc/sys, locked): it stays so.
        with contextlib.suppress(OSError):
            kns.set_readonly(writable, False, recursive=True)
    # /sys shows the devices of the namespace that mounted it: remount it from inside the node
    # (what `ip netns exec` does too).
    try:
        libc.umount_detach("/sys")
        kns.mount("sysfs", "/sys", "sysfs")
    except OSError:
        pass
    targets = [("/tmp", os.path.join(root, "tmp"))]
    targets += [(f"/{n}", os.path.join(root, n, "view")) for n in OVERLAID if os.path.isdir(f"/{n}")]
    kept = [(path, os.open(path, os.O_PATH | os.O_CLOEXEC)) for path in keep]
    shown = [(path, os.open(path, os.O_PATH | os.O_CLOEXEC)) for path in code]
    for target, source in targets:  # /run last: its overlay hides the sources under /run/nslab
        libc.bind_mount(source, target)
        kns.set_readonly(target, False, recursive=False)
    _hide_state(keep)
    for path, kept_fd in kept:
        with contextlib.suppress(OSError):
            os.makedirs(path, exist_ok=True)  # under the node's own /tmp: a mount point first
        # Recursive: /run/netns is a directory of namespace binds, not of plain files.
        kns.mount(f"/proc/self/fd/{kept_fd}", path, None, libc.MS_BIND | libc.MS_REC)
        kns.set_readonly(path, False, recursive=True)
        os.close(kept_fd)
    for path, code_fd in shown:
        with contextlib.suppress(OSError):
            os.makedirs(path, exist_ok=True)
        kns.mount(f"/proc/self/fd/{code_fd}", path, None, libc.MS_BIND | libc.MS_REC)
        kns.set_readonly(path, True, recursive=True)
        os.close(code_fd)
    try:
        os.chdir(cwd)  # through the new mounts: a shell started in /root writes the node's /root
    except OSError:
        os.chdir("/")


def _hide_state(keep: tuple[str, ...]) -> None:
    """Cover nslab's state root with an empty read-only tmpfs in this mount namespace. The
    node's /run is an overlay of the host's /run, so without it a root shell in any node reads
    every lab's state: scenario.yaml (the solution), the CA key, the journals. Paths in `keep`
    under it get an empty directory first, to be bound over; keeping the root itself (solution
    steps) binds all of it back. A root learner can still `umount` it: this keeps the answer
    out of sight, it is no wall against the machine's own root (who has the host shell)."""
    from nslab.kernel import netns as kns

    for top in dict.fromkeys(("/run/nslab", state.STATE_ROOT)):
        if not os.path.isdir(top):
            continue
        kns.mount("nslab-hidden", top, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC, "size=64k,mode=0755")
        inside = top.rstrip("/") + "/"
        for path in keep:
            if path.startswith(inside):
                os.makedirs(path, mode=0o700, exist_ok=True)
        kns.set_readonly(top, True, recursive=False)
