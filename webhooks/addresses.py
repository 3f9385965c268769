"""Which IP addresses a partner webhook may be sent to: globally routable ones only, wrappers unwrapped."""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

NAT64_WELL_KNOWN = ipaddress.ip_network("64:ff9b::/96")  # RFC 6052: the last 32 bits are the IPv4 address
NAT64_LOCAL_USE = ipaddress.ip_network("64:ff9b:1::/48")  # RFC 8215: translates to an operator's own network
LOOPBACK_NAMES = {"localhost", "127.0.0.1", "::1"}


def parse(address: str) -> IPAddress:
    """An address from getaddrinfo or a URL host (an IPv6 scope id such as `%eth0` is dropped)."""
    return ipaddress.ip_address(address.split("%", 1)[0].strip("[]"))


def embedded_ipv4(ip: IPAddress) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 address carries (mapped, NAT64, 6to4, Teredo server and client)."""
    if isinstance(ip, ipaddress.IPv4Address):
        return []
    found = []
    if ip.ipv4_mapped is not None:
        found.append(ip.ipv4_mapped)
    if ip in NAT64_WELL_KNOWN:
        found.append(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF))
    if ip.sixtofour is not None:
        found.append(ip.sixtofour)
    if ip.teredo is not None:
        found.extend(ip.teredo)  # (server, client); the client is already un-XORed by ipaddress
    return found


def _plainly_public(ip: IPAddress) -> bool:
    # Python's is_global still counts IPv6 site-local fec0::/10 (deprecated, yet routed inside some networks).
    site_local = isinstance(ip, ipaddress.IPv6Address) and ip.is_site_local
    return ip.is_global and not (
        ip.is_multicast or ip.is_reserved or ip.is_loopback or ip.is_link_local or ip.is_unspecified or site_local
    )


def is_public(ip: IPAddress) -> bool:
    """True only for a globally routable unicast address that does not wrap a private IPv4 one."""
    if isinstance(ip, ipaddress.IPv4Address):
        return _plainly_public(ip)
    if ip in NAT64_LOCAL_USE:
        return False
    inner = embedded_ipv4(ip)
    if ip.ipv4_mapped is not None or ip in NAT64_WELL_KNOWN:
        # The IPv6 form is only a way of writing (or translating to) the IPv4 address: judge that.
        return all(_plainly_public(v4) for v4 in inner)
    return _plainly_public(ip) and all(_plainly_public(v4) for v4 in inner)


def is_loopback(ip: IPAddress) -> bool:
    if ip.is_loopback:
        return True
    return isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None and ip.ipv4_mapped.is_loopback
