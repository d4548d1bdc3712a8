"""Per-node files under /etc/netns/<ns>/, which `ip netns exec` (and so `nslab shell` and
`nslab exec`) bind-mounts over /etc/: hosts, resolv.conf, and the lab CA trust.

`ip netns exec` mounts each entry of the directory over the /etc entry of the same name, so
an `ssl/` directory here replaces the whole of /etc/ssl inside the lab: it holds the lab
CA as the only trusted certificate (labs are closed worlds) and a copy of the host's
openssl.cnf, so openssl, curl, wget and Python see the lab CA and nothing else.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from nslab.engine import state, statefiles
from nslab.errors import LabStateError

if TYPE_CHECKING:
    # Types only: teardown imports this module, and `nslab down` must not pay for the model.
    from nslab.engine.journal import Journal
    from nslab.scenario import model as m

HEADER = "# written by nslab for lab {lab}, node {node}; removed by 'nslab down'\n"


def hosts_text(lab: str, node: m.Node) -> str:
    lines = [HEADER.format(lab=lab, node=node.name), "127.0.0.1\tlocalhost\n", "::1\tlocalhost\n"]
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


def files_for(lab: str, node: m.Node) -> dict[str, str]:
    """Every host and router gets its own hosts and resolv.conf: without them `ip netns exec`
    shows the machine's own files, and a learner editing /etc/hosts inside a node would be
    editing the host's. Switches have no shell life worth protecting."""
    if node.kind == "switch":
        return {}
    return {"hosts": hosts_text(lab, node), "resolv.conf": resolv_text(lab, node)}


def node_dir(lab: str, netns: str) -> str:
    """Where a node's /etc files really live: on tmpfs, in the lab's state directory."""
    return os.path.join(state.lab_dir(lab), "etc", netns)


def is_ours(link: str, lab: str) -> bool:
    """/etc/netns/<ns> belongs to this lab when it is a symlink to the lab's node directory."""
    return os.path.islink(link) and os.readlink(link) == node_dir(lab, os.path.basename(link))


def claim(journal: Journal, lab: str, netns: str) -> str:
    """The node's /etc directory, made if needed: the files go on tmpfs under the lab's state
    directory and /etc/netns/<ns> is a symlink to them. `ip netns exec` follows it, so the
    node sees its own hosts and resolv.conf; the disk sees one symlink per node (creating
    files on ext4 costs ~0.3 ms each), and ownership is plain from the link's target.
    Journaled before the link exists."""
    link = state.etc_dir(netns)
    target = node_dir(lab, netns)
    if is_ours(link, lab):
        return target
    if os.path.lexists(link):
        raise LabStateError(
            f"{link} already exists and is not this lab's",
            "'nslab cleanup' removes what earlier nslab runs left; otherwise pick another --prefix",
        )
    # 0755/0644 inside the lab's 0700 directory: `ip netns exec` bind-mounts these files over
    # /etc, where unprivileged programs in the node (resolvers, curl as a user) must read them.
    statefiles.make_dirs(target, statefiles.SHARED_DIR)
    journal.record("etc", path=link)
    statefiles.make_dirs(state.ETC_NETNS, statefiles.SHARED_DIR)  # a host directory: as ip(8) makes it
    os.symlink(target, link)
    return target


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
    if os.path.exists(HOST_OPENSSL_CNF):
        with open(HOST_OPENSSL_CNF, "rb") as handle:
            cnf = handle.read()
        statefiles.write_atomic(os.path.join(directory, "ssl", "openssl.cnf"), cnf, statefiles.SHARED)
    statefiles.write_atomic(os.path.join(directory, CA_COPY), ca_pem, statefiles.SHARED)
    statefiles.write_atomic(bundle, ca_pem, statefiles.SHARED)  # last: its presence means the tree is whole
