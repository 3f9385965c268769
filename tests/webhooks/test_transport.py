"""webhooks.transport on the wire: pinned connections keep the name for Host, SNI and the certificate;
every answer of the one DNS lookup is checked; the address policy unwraps IPv4 inside IPv6."""

from __future__ import annotations

import socket
import ssl
import time

import pytest

from tests.webhooks.servers import RawServer, answer_ok, self_signed
from webhooks import addresses, transport

PUBLIC_V4 = "192.0.43.10"


class CountingResolver:
    def __init__(self, *answers: list[str]):
        self.answers = list(answers)
        self.calls: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.calls.append((host, port))
        return self.answers.pop(0) if len(self.answers) > 1 else self.answers[0]


def post(url: str, **kwargs) -> transport.Outcome:
    options = {"body": b"{}", "headers": {"content-type": "application/json"}, "timeout_s": 3.0}
    options.update(max_response_bytes=4096, **kwargs)
    return transport.post(url, **options)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory):
    return self_signed(tmp_path_factory.mktemp("tls"), "hooks.partner.test")


@pytest.fixture
def tls_server(certificate):
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    server = RawServer(answer_ok, tls=context)
    context.sni_callback = lambda sslobj, name, ctx: server.sni.append(name)
    yield server
    server.close()


@pytest.fixture
def trusting(certificate):
    return ssl.create_default_context(cafile=str(certificate[0]))


def test_a_pinned_send_keeps_the_name_for_host_sni_and_certificate(tls_server, trusting):
    resolver = CountingResolver(["127.0.0.1"])
    url = f"https://hooks.partner.test:{tls_server.port}/hook"
    outcome = post(url, resolver=resolver, allow_loopback=True, ssl_context=trusting)

    assert outcome.error == "" and outcome.status_code == 200 and outcome.body == b"ok"
    assert resolver.calls == [("hooks.partner.test", tls_server.port)]
    assert tls_server.sni == ["hooks.partner.test"]
    [request] = tls_server.requests
    assert f"host: hooks.partner.test:{tls_server.port}\r\n".encode() in request.lower()


def test_a_certificate_for_another_name_is_a_tls_error(tls_server, trusting):
    url = f"https://other.partner.test:{tls_server.port}/hook"
    outcome = post(url, resolver=CountingResolver(["127.0.0.1"]), allow_loopback=True, ssl_context=trusting)
    assert outcome.error == "TLS error" and outcome.status_code is None
    assert tls_server.sni == ["other.partner.test"] and tls_server.requests == []


def test_an_untrusted_certificate_is_a_tls_error(tls_server):
    url = f"https://hooks.partner.test:{tls_server.port}/hook"
    outcome = post(url, resolver=CountingResolver(["127.0.0.1"]), allow_loopback=True)  # the real CA roots
    assert outcome.error == "TLS error" and tls_server.requests == []


def test_one_private_answer_among_public_ones_refuses_the_name(tls_server):
    resolver = CountingResolver([PUBLIC_V4, "127.0.0.1"])
    outcome = post(f"https://hooks.partner.test:{tls_server.port}/hook", resolver=resolver)
    assert outcome.error == "address not allowed" and tls_server.connections == 0


def test_a_rebinding_resolver_is_asked_once_and_its_later_answer_never_used(tls_server):
    resolver = CountingResolver([PUBLIC_V4], ["127.0.0.1"])
    outcome = post(f"https://hooks.partner.test:{tls_server.port}/hook", resolver=resolver, timeout_s=1.0)
    assert len(resolver.calls) == 1 and tls_server.connections == 0
    assert outcome.error in ("timeout", "connection failed", "connection refused", "TLS error")


def test_loopback_needs_the_development_switch(tls_server, trusting):
    url = f"https://hooks.partner.test:{tls_server.port}/hook"
    outcome = post(url, resolver=CountingResolver(["127.0.0.1"]), ssl_context=trusting)
    assert outcome.error == "address not allowed" and tls_server.connections == 0


def test_dns_failures_and_a_hanging_resolver_stay_within_the_deadline():
    def failing(host, port):
        raise socket.gaierror(-2, "Name or service not known")

    assert post("https://nowhere.partner.test/h", resolver=failing).error == "DNS failure"
    assert post("https://nowhere.partner.test/h", resolver=CountingResolver([])).error == "DNS failure"

    def hanging(host, port):
        time.sleep(3)
        return [PUBLIC_V4]

    started = time.monotonic()
    assert post("https://slow-dns.partner.test/h", resolver=hanging, timeout_s=0.5).error == "timeout"
    assert time.monotonic() - started < 1.0


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("1.1.1.1", True),
        ("2606:4700:4700::1111", True),
        ("64:ff9b::101:101", True),
        ("2002:101:101::1", True),
        ("::ffff:1.1.1.1", True),
        ("64:ff9b::7f00:1", False),
        ("2002:7f00:1::", False),
        ("64:ff9b::a9fe:a9fe", False),
        ("64:ff9b:1::101:101", False),
        ("2001:0:4136:e378:8000:63bf:80ff:fffe", False),  # Teredo: client 127.0.0.1 (XORed on the wire)
        ("::ffff:10.0.0.1", False),
        ("::7f00:1", False),
        ("fe80::1%eth0", False),
        ("fd00::1", False),
        ("fec0::1", False),  # site-local (deprecated, RFC 3879), still routed inside some networks
        ("::", False),
        ("0.0.0.0", False),
        ("100.64.0.1", False),
        ("169.254.169.254", False),
        ("224.0.0.1", False),
        ("255.255.255.255", False),
    ],
)
def test_only_globally_routable_unicast_addresses_are_public(address, public):
    assert addresses.is_public(addresses.parse(address)) is public


def test_teredo_server_and_client_are_both_unwrapped():
    teredo = addresses.parse("2001:0:4136:e378:8000:63bf:80ff:fffe")
    assert [str(ip) for ip in addresses.embedded_ipv4(teredo)] == ["65.54.227.120", "127.0.0.1"]
