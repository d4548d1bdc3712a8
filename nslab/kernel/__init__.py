"""Kernel access: namespaces, our own rtnetlink writer, sysctls, iptables, processes, ICMP tables.

The bottom of the pipeline: imports nothing of nslab but nslab.errors. Nothing here ever
changes the root network namespace."""
