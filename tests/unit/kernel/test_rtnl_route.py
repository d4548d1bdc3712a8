"""Route requests: our encoder's bytes, decoded by pyroute2 (an independent implementation)."""

from __future__ import annotations

import ipaddress

from pyroute2.netlink.rtnl.rtmsg import rtmsg

from nslab.kernel import rtnl


def decoded(request: rtnl.Request) -> rtmsg:
    data = request.encode(1)
    msg = rtmsg(data)
    msg.decode()
    return msg


def test_onlink_sets_rtnh_f_onlink_and_metrics_nest_mtu_and_advmss() -> None:
    req = rtnl.add_route(
        ipaddress.ip_network("0.0.0.0/0"),
        ipaddress.ip_address("192.0.2.1"),
        oif=7,
        onlink=True,
        mtu=1400,
        advmss=1360,
    )
    msg = decoded(req)
    assert msg["flags"] & 4 and msg["flags"] == rtnl.RTNH_F_ONLINK
    assert msg.get_attr("RTA_GATEWAY") == "192.0.2.1" and msg.get_attr("RTA_OIF") == 7
    metrics = msg.get_attr("RTA_METRICS")
    assert metrics.get_attr("RTAX_MTU") == 1400 and metrics.get_attr("RTAX_ADVMSS") == 1360


def test_a_plain_route_has_no_flags_and_no_metrics() -> None:
    msg = decoded(rtnl.add_route(ipaddress.ip_network("10.9.0.0/16"), ipaddress.ip_address("10.0.1.1")))
    assert msg["flags"] == 0 and msg.get_attr("RTA_METRICS") is None
    only_mtu = decoded(rtnl.add_route(ipaddress.ip_network("2001:db8::/32"), oif=3, mtu=1280))
    assert only_mtu.get_attr("RTA_METRICS").get_attr("RTAX_MTU") == 1280
    assert only_mtu.get_attr("RTA_METRICS").get_attr("RTAX_ADVMSS") is None
