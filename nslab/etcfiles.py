"""Per-node /etc/hosts and /etc/resolv.conf, served by `ip netns exec` from /etc/netns/<ns>/."""

from __future__ import annotations

from nslab import model as m

HEADER = "# written by nslab for lab {lab}, node {node}; removed by 'nslab down'\n"


def hosts_text(lab: str, node: m.Node) -> str:
    lines = [HEADER.format(lab=lab, node=node.name), "127.0.0.1\tlocalhost\n", "::1\tlocalhost\n"]
    for name, addresses in node.hosts.items():
        for address in addresses:
            lines.append(f"{address}\t{name}\n")
    return "".join(lines)


def resolv_text(lab: str, node: m.Node) -> str:
    assert node.resolv is not None
    lines = [HEADER.format(lab=lab, node=node.name)]
    lines += [f"nameserver {ns}\n" for ns in node.resolv.nameservers]
    if node.resolv.search:
        lines.append("search " + " ".join(node.resolv.search) + "\n")
    if node.resolv.options:
        lines.append("options " + " ".join(node.resolv.options) + "\n")
    return "".join(lines)


def files_for(lab: str, node: m.Node) -> dict[str, str]:
    files: dict[str, str] = {}
    if node.hosts:
        files["hosts"] = hosts_text(lab, node)
    if node.resolv is not None:
        files["resolv.conf"] = resolv_text(lab, node)
    return files


OWNER_FILE = ".nslab-owner"


def owner_text(lab: str) -> str:
    return f"nslab:{lab}\n"
