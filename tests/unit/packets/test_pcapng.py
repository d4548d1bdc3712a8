"""The pcapng writer, read back by scapy (an independent reader), and the BPF compiler."""

from __future__ import annotations

import io
import shutil
import struct
from pathlib import Path

import pytest

from nslab.errors import UsageError
from nslab.packets import bpf, pcapng

ETHER_ICMP = bytes.fromhex(
    "02000000000202000000000108004500001c000100004001f78c0a0001010a000102"  # eth + ipv4
    "0800f7ff00000000"  # icmp echo request
)


def _blocks(data: bytes) -> list[tuple[int, int]]:
    """(type, length) of every block, asserting the framing a reader relies on."""
    blocks, offset = [], 0
    while offset < len(data):
        kind, length = struct.unpack_from("<II", data, offset)
        assert length % 4 == 0 and length >= 12, (kind, length)
        (trailer,) = struct.unpack_from("<I", data, offset + length - 4)
        assert trailer == length, f"block at {offset}: header says {length}, trailer {trailer}"
        blocks.append((kind, length))
        offset += length
    assert offset == len(data)
    return blocks


def _write(path: Path) -> None:
    with open(path, "wb") as out:
        writer = pcapng.Writer(
            out, [("h1:eth0", pcapng.LINKTYPE_ETHERNET), ("sw:p1", pcapng.LINKTYPE_ETHERNET)]
        )
        writer.packet(0, 1_700_000_000_123_456_789, ETHER_ICMP, len(ETHER_ICMP), pcapng.OUTBOUND)
        writer.packet(1, 1_700_000_000_223_456_789, ETHER_ICMP[:17], 60, pcapng.INBOUND)  # odd, cut short
        assert writer.packets == 2


def test_block_lengths_and_order(tmp_path: Path) -> None:
    path = tmp_path / "t.pcapng"
    _write(path)
    blocks = _blocks(path.read_bytes())
    assert [k for k, _ in blocks] == [pcapng.SHB, pcapng.IDB, pcapng.IDB, pcapng.EPB, pcapng.EPB]


def test_scapy_reads_names_timestamps_and_packets(tmp_path: Path) -> None:
    from scapy.layers.inet import ICMP, IP
    from scapy.layers.l2 import Ether
    from scapy.utils import PcapNgReader

    path = tmp_path / "t.pcapng"
    _write(path)
    with PcapNgReader(str(path)) as reader:
        packets = list(reader)
        names = [opts["name"] for _, _, opts in reader.interfaces]
        resolutions = {opts["tsresol"] for _, _, opts in reader.interfaces}
    assert names == [b"h1:eth0", b"sw:p1"]
    assert resolutions == {10**9}
    first, second = packets
    assert first.sniffed_on == "h1:eth0" and second.sniffed_on == "sw:p1"
    assert Ether in first and first[IP].dst == "10.0.1.2" and first[ICMP].type == 8
    assert first.time == pytest.approx(1_700_000_000.123456789, abs=1e-9)
    assert first.direction == pcapng.OUTBOUND and second.direction == pcapng.INBOUND
    assert first.wirelen == len(ETHER_ICMP) and second.wirelen == 60 and len(bytes(second)) == 17


def test_every_block_is_flushed_as_written() -> None:
    """Live piping to Wireshark needs each packet out at once, not when a buffer fills."""
    flushed: list[int] = []

    class Sink(io.BytesIO):
        def flush(self) -> None:
            flushed.append(len(self.getvalue()))

    sink = Sink()
    writer = pcapng.Writer(sink, [("a:b", pcapng.LINKTYPE_ETHERNET)])
    writer.packet(0, 1, ETHER_ICMP, len(ETHER_ICMP))
    assert flushed == [len(sink.getvalue()) - _blocks(sink.getvalue())[-1][1], len(sink.getvalue())]


@pytest.mark.skipif(shutil.which("tcpdump") is None, reason="needs tcpdump to compile filters")
def test_filters_compile_with_tcpdump_and_bad_ones_say_why() -> None:
    program = bpf.compile_filter("icmp")
    assert program[-1][0] == bpf.BPF_RET_K and len(program) > 2
    assert bpf.compile_filter("icmp") != bpf.compile_filter("tcp")
    with pytest.raises(UsageError) as caught:
        bpf.compile_filter("icmp andd tcp")
    assert "bad capture filter 'icmp andd tcp'" in caught.value.message
    assert "syntax error" in caught.value.message


@pytest.mark.parametrize("argv", [["--help"], ["list"], ["check", "--help"]])
def test_fast_paths_never_import_the_capture_code_or_scapy(argv: list[str]) -> None:
    import subprocess
    import sys

    proc = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "nslab", *argv], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    imported = {line.split("|")[-1].strip() for line in proc.stderr.splitlines() if "|" in line}
    assert "nslab.cli.main" in imported  # the probe sees our own imports
    assert not {m for m in imported if m.startswith(("nslab.packets", "scapy"))}
