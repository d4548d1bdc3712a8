"""Linux socket option numbers that Python's socket module does not export (from linux/in.h,
linux/in6.h, linux/icmp.h, linux/errqueue.h)."""

from __future__ import annotations

SOL_IPV6 = 41
SOL_RAW = 255
ICMP_FILTER = 1
ICMP6_FILTER = 1

IP_MTU_DISCOVER = 10
IP_RECVERR = 11
IP_PMTUDISC_DONT = 0
IP_PMTUDISC_PROBE = 3

IPV6_MTU_DISCOVER = 23
IPV6_RECVERR = 25
IPV6_PMTUDISC_DONT = 0
IPV6_PMTUDISC_PROBE = 3

SO_EE_ORIGIN_LOCAL = 1
SO_EE_ORIGIN_ICMP = 2
SO_EE_ORIGIN_ICMP6 = 3
