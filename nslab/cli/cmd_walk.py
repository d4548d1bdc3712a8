from __future__ import annotations

import click

from nslab.cli.common import LAB_OPTION, need_root, resolve_lab


@click.command("walk")
@LAB_OPTION
@click.argument("source", metavar="FROM")
@click.argument("destination", metavar="TO")
@click.option("--tcp", "tcp", type=click.IntRange(1, 65535), metavar="PORT", help="Send a TCP SYN to PORT.")
@click.option(
    "--udp", "udp", type=click.IntRange(1, 65535), metavar="PORT", help="Send a UDP datagram to PORT."
)
@click.option("--icmp", is_flag=True, help="Send an ICMP echo request (the default).")
@click.option(
    "--size", type=click.IntRange(0, 65000), default=0, help="Payload bytes (udp, icmp); DF is always set."
)
@click.option(
    "--wait",
    type=click.FloatRange(0.1, 10),
    default=1.0,
    show_default=True,
    help="Seconds to wait for an answer.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the walk as JSON.")
def walk_command(
    lab: str | None,
    source: str,
    destination: str,
    tcp: int | None,
    udp: int | None,
    icmp: bool,
    size: int,
    wait: float,
    as_json: bool,
) -> None:
    """Send one probe from FROM to TO and follow it across every interface of the lab.

    Prints each hop (interface in and out, the addresses seen there, any NAT rewrite), then
    where the packet died and why: the firewall rule that dropped it, no route, a blackhole,
    forwarding off, rp_filter, no ARP answer, TTL, MTU with DF, or the RST/ICMP error and who
    sent it. TO is an address or a node name. Exits 0 when the probe was answered, else 1.

    \b
    Example:
      sudo nslab walk client 10.0.2.10 --tcp 80
      sudo nslab walk client server --icmp --size 1400
      sudo nslab walk pc1 203.0.113.80 --udp 53 --json
    """
    from nslab.packets.walk import Probe, render, walk

    chosen = [
        name for name, on in (("--tcp", tcp is not None), ("--udp", udp is not None), ("--icmp", icmp)) if on
    ]
    if len(chosen) > 1:
        raise click.UsageError(f"choose one of --tcp, --udp, --icmp (got {' and '.join(chosen)})")
    need_root("nslab walk")
    lab_name = resolve_lab(lab)
    if tcp is not None:
        probe = Probe("tcp", tcp, wait=wait)
    elif udp is not None:
        probe = Probe("udp", udp, size, wait=wait)
    else:
        probe = Probe("icmp", 0, size, wait=wait)
    result = walk(lab_name, source, destination, probe)
    if as_json:
        from nslab.cli.common import echo_json

        echo_json(result.to_json())
    else:
        click.echo(render(result))
    if result.outcome != "answered":
        raise SystemExit(1)
