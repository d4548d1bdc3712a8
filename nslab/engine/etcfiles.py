"""Per-node files under /etc/netns/<ns>/, which `ip netns exec` (and so `nslab shell` and
`nslab exec`) bind-mounts over /etc/: hosts, resolv.conf, and the lab CA trust.

`ip netns exec` mounts each entry of the directory over the /etc entry of the same name, so
an `ssl/` directory here replaces the whole of /etc/ssl inside the lab: it holds the lab
CA as the only trusted certificate (labs are closed worlds) and a copy of the host's
openssl.cnf, so openssl, curl, wget and Python see the lab CA and nothing else.
"""

from __future__ import annotations

import logging
import os
import shutil
from typing import TYPE_CHECKING

from nslab.engine import state
from nslab.errors import LabStateError

if TYPE_CHECKING:
    # Types only: teardown imports this module, and `nslab down` must not pay for the model.
    from nslab.engine.journal import Journal
    from nslab.scenario import model as m

log = logging.getLogger(__name__)

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
    os.makedirs(target, exist_ok=True)
    journal.record("etc", path=link)
    os.makedirs(state.ETC_NETNS, exist_ok=True)
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
    os.makedirs(os.path.dirname(bundle), mode=0o755, exist_ok=True)
    if os.path.exists(HOST_OPENSSL_CNF):
        shutil.copyfile(HOST_OPENSSL_CNF, os.path.join(directory, "ssl", "openssl.cnf"))
    with open(os.path.join(directory, CA_COPY), "w") as handle:
        handle.write(ca_pem)
    tmp = bundle + ".tmp"
    with open(tmp, "w") as handle:
        handle.write(ca_pem)
    os.replace(tmp, bundle)  # last: its presence means the tree is complete
