"""Packets: capture on lab interfaces (an AF_PACKET socket per interface, in a thread inside
the node's namespace), classic BPF filters compiled by tcpdump, a small pcapng writer, and
`nslab walk` (walk.py follows one probe, then asks the node where it died why; probe.py sends
it, trail.py orders its sightings into hops, dissect.py parses frames, why.py asks the kernel).
Imports nslab.engine, nslab.kernel, nslab.scenario and nslab.errors only; never scapy (the
tests use scapy as the oracle that reads our files back), never grading or the CLI."""
