"""Issue 10, findings 2 and 3: a partner's webhook URL cannot probe our network or tie up our workers.

Every test goes through the public services (endpoint create, publish -> delivery attempt) against real
servers on 127.0.0.1; DNS is the only thing replaced, at its boundary (`socket.getaddrinfo`).
"""

from __future__ import annotations

import socket
import time
import tracemalloc

import pytest
from rest_framework.test import APIClient

from accounts import services as accounts
from seedance_saas.errors import InvalidInput
from tests.webhooks.servers import RawServer, answer_dripping, answer_garbage, answer_huge, answer_ok
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint

SHORT_CLASSES = {
    "DNS failure",
    "address not allowed",
    "connection refused",
    "connection failed",
    "TLS error",
    "timeout",
    "invalid HTTP response",
}
PUBLIC_V4 = "192.0.43.10"  # globally routable; nothing in the test listens there


class ScriptedDns:
    """getaddrinfo for the names a test scripts (a list of answers, one per lookup); others resolve normally."""

    def __init__(self, real):
        self.real = real
        self.answers: dict[str, list[list[str]]] = {}
        self.lookups: list[str] = []

    def __call__(self, host, port, family=0, type=0, proto=0, flags=0):
        host = host.decode() if isinstance(host, bytes) else host
        if host not in self.answers:
            return self.real(host, port, family, type, proto, flags)
        self.lookups.append(host)
        script = self.answers[host]
        ips = script.pop(0) if len(script) > 1 else script[0]
        return [
            (socket.AF_INET6 if ":" in ip else socket.AF_INET, socket.SOCK_STREAM, 6, "", (ip, int(port or 443)))
            for ip in ips
        ]


@pytest.fixture
def dns(monkeypatch):
    scripted = ScriptedDns(socket.getaddrinfo)
    monkeypatch.setattr(socket, "getaddrinfo", scripted)
    return scripted


@pytest.fixture
def servers():
    started: list[RawServer] = []

    def start(respond, **kwargs) -> RawServer:
        server = RawServer(respond, **kwargs)
        started.append(server)
        return server

    yield start
    for server in started:
        server.close()


def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def send_once(organization, url, django_capture_on_commit_callbacks) -> WebhookDelivery:
    WebhookEndpoint.objects.filter(organization=organization).update(enabled=False)
    endpoint = services.webhook_endpoint_create(organization=organization, url=url)
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = services.event_publish(
            organization=organization, event_type="generation.succeeded", payload={"id": "g1"}
        )
    assert delivery.endpoint == endpoint
    delivery.refresh_from_db()
    return delivery


# --- Finding 2: addresses, rebinding, error text --------------------------------------------------


@pytest.mark.parametrize(
    "host",
    [
        "[64:ff9b::7f00:1]",  # NAT64 well-known prefix around 127.0.0.1
        "[2002:7f00:1::]",  # 6to4 around 127.0.0.1
        "[2002:a9fe:a9fe::1]",  # 6to4 around the metadata address 169.254.169.254
        "[64:ff9b::a00:5]",  # NAT64 around 10.0.0.5
        "[64:ff9b:1::808:808]",  # local-use NAT64 prefix: an operator's own network
        "[::7f00:1]",  # deprecated IPv4-compatible form
        "[::ffff:127.0.0.1]",
        "[2001:0:4136:e378:8000:63bf:80ff:fffe]",  # Teredo, client 127.0.0.1
        "[ff02::1]",
        "224.0.0.1",
        "100.64.0.1",
    ],
)
def test_addresses_wrapping_private_ones_are_refused_on_save(organization, settings, host):
    settings.WEBHOOKS_ALLOW_HTTP_LOCALHOST = False
    with pytest.raises(InvalidInput) as error:
        services.webhook_endpoint_create(organization=organization, url=f"https://{host}/hook")
    assert "url" in error.value.fields


@pytest.mark.parametrize("host", ["[64:ff9b::101:101]", "[2002:101:101::1]", "[::ffff:1.1.1.1]", "1.1.1.1"])
def test_wrappers_of_public_addresses_are_accepted(organization, settings, host):
    settings.WEBHOOKS_ALLOW_HTTP_LOCALHOST = False
    assert services.webhook_endpoint_create(organization=organization, url=f"https://{host}/hook")


@pytest.mark.parametrize("answer", ["64:ff9b::7f00:1", "2002:7f00:1::", "127.0.0.1", "10.1.2.3"])
def test_a_name_resolving_to_a_private_or_wrapped_address_is_refused_at_send(
    organization, settings, dns, django_capture_on_commit_callbacks, answer
):
    settings.WEBHOOKS_ALLOW_HTTP_LOCALHOST = False
    dns.answers["hooks.partner.example"] = [[answer]]
    delivery = send_once(organization, "https://hooks.partner.example/hook", django_capture_on_commit_callbacks)
    assert delivery.last_status_code is None and delivery.last_error == "address not allowed"


def test_dns_rebinding_cannot_make_the_send_reach_an_internal_server(
    organization, settings, dns, servers, django_capture_on_commit_callbacks
):
    """The name answers a public address first, then 127.0.0.1: the send uses the first answer only."""
    settings.WEBHOOKS_ALLOW_HTTP_LOCALHOST = False
    settings.WEBHOOKS_TIMEOUT_S = 1.5
    internal = servers(answer_ok)
    dns.answers["rebind.example"] = [[PUBLIC_V4], ["127.0.0.1"]]

    url = f"https://rebind.example:{internal.port}/hook"
    delivery = send_once(organization, url, django_capture_on_commit_callbacks)

    assert internal.connections == 0, "the send reached the internal server"
    assert dns.lookups == ["rebind.example"], "the name was resolved more than once"
    assert delivery.last_status_code is None and delivery.last_error in SHORT_CLASSES


def test_different_internal_targets_all_read_the_same_short_error(
    organization, settings, dns, servers, django_capture_on_commit_callbacks
):
    """Open port, closed port, a non-HTTP service behind a rebinding name: the log cannot tell them apart."""
    settings.WEBHOOKS_ALLOW_HTTP_LOCALHOST = False
    settings.WEBHOOKS_TIMEOUT_S = 1.0
    ports = {"open": servers(answer_ok).port, "closed": closed_port(), "garbage": servers(answer_garbage).port}
    seen = set()
    for label, port in ports.items():
        host = f"{label}.rebind.example"
        dns.answers[host] = [[PUBLIC_V4], ["127.0.0.1"]]
        delivery = send_once(organization, f"https://{host}:{port}/h", django_capture_on_commit_callbacks)
        [attempt] = delivery.attempt_log
        seen.add((delivery.last_error, attempt["error"], attempt["status_code"], attempt["response_excerpt"]))
    assert len(seen) == 1, seen
    [(error, *_)] = seen
    assert error in SHORT_CLASSES


def test_failures_are_logged_as_short_classes_without_exception_text(
    organization, settings, servers, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_HTTP_LOCALHOST = True  # development mode: the sends really connect to 127.0.0.1
    plain = servers(answer_garbage, read_request=False)  # answers a TLS hello with plain text, as HTTP servers do
    garbage = servers(answer_garbage)

    def answer_500(server, conn):
        server.send(conn, b"HTTP/1.1 500 Internal Server Error\r\nContent-Length: 4\r\n\r\noops")

    failing = servers(answer_500)
    cases = {
        f"http://127.0.0.1:{closed_port()}/h": "connection refused",
        f"http://127.0.0.1:{closed_port()}/other": "connection refused",
        f"https://127.0.0.1:{plain.port}/h": "TLS error",  # TLS to a plain HTTP server
        f"http://127.0.0.1:{garbage.port}/h": "invalid HTTP response",
        f"http://127.0.0.1:{failing.port}/h": "HTTP 500",
    }
    for url in cases:
        services.webhook_endpoint_create(organization=organization, url=url)
    with django_capture_on_commit_callbacks(execute=True):
        services.event_publish(organization=organization, event_type="generation.succeeded", payload={"id": "g1"})

    key, secret = accounts.api_key_create(organization=organization, name="reader")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    listed = {row["endpoint_id"]: row for row in client.get("/api/v1/webhook-deliveries/").json()["results"]}
    for delivery in WebhookDelivery.objects.select_related("endpoint"):
        expected = cases[delivery.endpoint.url]
        row = listed[str(delivery.endpoint_id)]
        assert delivery.last_error == expected, delivery.endpoint.url
        assert row["last_error"] == expected and row["attempt_log"][0]["error"] == expected
        for leaked in ("Errno", "Error:", "[SSL", "_ssl", "127.0.0.1"):
            assert leaked not in row["last_error"]


# --- Finding 3: a slow or huge receiver -------------------------------------------------------------


@pytest.mark.parametrize("from_status_line", [False, True], ids=["dripping-body", "dripping-headers"])
def test_a_receiver_dripping_one_byte_every_2_s_is_cut_at_the_total_deadline(
    organization, settings, servers, django_capture_on_commit_callbacks, from_status_line
):
    settings.WEBHOOKS_ALLOW_HTTP_LOCALHOST = True
    settings.WEBHOOKS_TIMEOUT_S = 3.0  # each byte comes well within a per-read timeout of 3 s
    drip = servers(answer_dripping(2.0, length=15, from_status_line=from_status_line))

    started = time.monotonic()
    delivery = send_once(organization, f"http://127.0.0.1:{drip.port}/h", django_capture_on_commit_callbacks)
    held_s = time.monotonic() - started

    assert held_s < 3.0 + 1.0, f"the send was held {held_s:.1f} s"
    assert delivery.last_error == "timeout" and delivery.status == "pending"
    assert 2900 <= delivery.last_latency_ms <= 3500


def test_a_300_mb_answer_is_not_downloaded(organization, settings, servers, django_capture_on_commit_callbacks):
    settings.WEBHOOKS_ALLOW_HTTP_LOCALHOST = True
    settings.WEBHOOKS_TIMEOUT_S = 30.0
    huge = servers(answer_huge(300 * 1024 * 1024))
    endpoint = services.webhook_endpoint_create(organization=organization, url=f"http://127.0.0.1:{huge.port}/h")

    tracemalloc.start()
    try:
        with django_capture_on_commit_callbacks(execute=True):
            [delivery] = services.event_publish(
                organization=organization, event_type="generation.succeeded", payload={"id": "g1"}
            )
        _, peak_bytes = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()

    delivery.refresh_from_db()
    assert delivery.endpoint == endpoint and delivery.status == "succeeded" and delivery.last_status_code == 200
    assert delivery.last_response_excerpt == "0" * 500
    assert peak_bytes < 4 * 1024 * 1024, f"peak Python memory {peak_bytes / 1e6:.1f} MB"
    time.sleep(0.2)
    assert huge.bytes_sent < 64 * 1024 * 1024, f"the receiver pushed {huge.bytes_sent / 1e6:.0f} MB"
