"""The client address comes from the trusted proxies only; a spoofed X-Forwarded-For changes nothing."""

import pytest
from django.test import RequestFactory

from seedance_saas.client_ip import client_ip, client_network


def request_from(remote_addr: str, **headers):
    return RequestFactory().get("/", REMOTE_ADDR=remote_addr, headers=headers)


def test_by_default_x_forwarded_for_is_ignored():
    assert client_ip(request_from("198.51.100.7", x_forwarded_for="1.2.3.4")) == "198.51.100.7"


@pytest.mark.parametrize(
    ("count", "forwarded", "expected"),
    [
        (1, "1.2.3.4, 203.0.113.5", "203.0.113.5"),  # the client wrote 1.2.3.4; our proxy appended its peer
        (2, "1.2.3.4, 203.0.113.5, 10.0.0.2", "203.0.113.5"),
        (2, "203.0.113.5", "203.0.113.5"),  # came in past the outer proxy: the one entry is still ours
        (1, "not-an-ip", "10.0.0.1"),
    ],
)
def test_behind_trusted_proxies_the_nth_address_from_the_right(settings, count, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = count
    assert client_ip(request_from("10.0.0.1", x_forwarded_for=forwarded)) == expected


def test_a_trusted_client_ip_header_wins_and_falls_back_to_the_peer(settings):
    settings.TRUSTED_CLIENT_IP_HEADER = "X-Real-IP"
    assert client_ip(request_from("10.0.0.1", x_real_ip="203.0.113.9", x_forwarded_for="1.2.3.4")) == "203.0.113.9"
    assert client_ip(request_from("10.0.0.1")) == "10.0.0.1"


def test_networks_are_ipv4_slash_24_and_ipv6_slash_64():
    assert client_network(request_from("203.0.113.77")) == "203.0.113.0/24"
    assert client_network(request_from("2001:db8:1:2:3:4:5:6")) == "2001:db8:1:2::/64"
