"""The one place that decides a request's client IP address, trusting only the proxies the settings name.

`X-Forwarded-For` is written by whoever sends the request, so by default it is ignored and the
address is the TCP peer (`REMOTE_ADDR`). Behind N proxies (`TRUSTED_PROXY_COUNT=N`) the client is
the N-th address from the right: each proxy appends the peer it saw, and entries further left were
written by the client itself. `TRUSTED_CLIENT_IP_HEADER` (e.g. `X-Real-IP`) instead names a header
that the one proxy in front of us sets and overwrites.
"""

from __future__ import annotations

import ipaddress

from django.conf import settings
from django.http import HttpRequest

UNKNOWN = "0.0.0.0"


def _parse(value: str | None) -> str | None:
    try:
        return str(ipaddress.ip_address((value or "").strip()))
    except ValueError:
        return None


def _from_trusted_proxies(request: HttpRequest) -> str | None:
    header = settings.TRUSTED_CLIENT_IP_HEADER
    if header:
        return _parse(request.headers.get(header))
    proxies = settings.TRUSTED_PROXY_COUNT
    if proxies <= 0:
        return None
    forwarded = [entry for entry in request.headers.get("X-Forwarded-For", "").split(",") if entry.strip()]
    if not forwarded:
        return None
    # Fewer entries than proxies: the request skipped the outer ones, and the leftmost was still written by ours.
    return _parse(forwarded[-min(proxies, len(forwarded))])


def client_ip(request: HttpRequest) -> str:
    """The client's address: from the trusted proxies when configured and present, else the TCP peer."""
    return _from_trusted_proxies(request) or _parse(request.META.get("REMOTE_ADDR")) or UNKNOWN


def client_network(request: HttpRequest) -> str:
    """The client's network, as one person or household usually holds it: IPv4 /24, IPv6 /64."""
    address = ipaddress.ip_address(client_ip(request))
    prefix = 24 if address.version == 4 else 64
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))
