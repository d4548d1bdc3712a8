"""Packets: capture on lab interfaces (an AF_PACKET socket per interface, in a thread inside
the node's namespace), classic BPF filters compiled by tcpdump, and a small pcapng writer; `nslab walk` (walk.py: follow one probe, then ask the node where it
died why, through probe, trail, dissect and why).
Imports nslab.engine, nslab.kernel, nslab.scenario and nslab.errors only; never scapy (the
tests use scapy as the oracle that reads our files back), never grading or the CLI."""
