"""One partner webhook POST on the wire: resolve once, refuse any non-public address, connect to exactly
the addresses checked (Host, SNI and certificate still for the URL's name), one total deadline, and at
most a few KB of the answer read.

The URL keeps its host name; only the network backend is pinned, so httpcore sends `Host: <name>`, TLS SNI
`<name>` and verifies the certificate for `<name>`, while the socket can only ever open to an address this
module resolved and checked. A second DNS answer (rebinding) is never asked for.
"""

from __future__ import annotations

import functools
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import httpcore
import httpx

from webhooks import addresses

logger = logging.getLogger(__name__)

# The short, fixed error classes a delivery log may show (never exception text).
DNS_FAILURE = "DNS failure"
ADDRESS_NOT_ALLOWED = "address not allowed"
CONNECTION_REFUSED = "connection refused"
CONNECTION_FAILED = "connection failed"
TLS_ERROR = "TLS error"
TIMEOUT = "timeout"
INVALID_RESPONSE = "invalid HTTP response"

Resolver = Callable[[str, int], Iterable[str]]


def system_resolver(host: str, port: int) -> list[str]:
    """The machine's resolver (getaddrinfo), asked once per send."""
    return [info[4][0] for info in socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)]


@dataclass(frozen=True)
class Outcome:
    status_code: int | None
    body: bytes  # the first max_response_bytes of the answer at most
    truncated: bool
    error: str  # "" or one of the classes above
    elapsed_s: float


class _Refused(Exception):
    def __init__(self, error_class: str):
        super().__init__(error_class)
        self.error_class = error_class


class _DeadlineStream(httpcore.NetworkStream):
    """Caps every socket operation (TLS handshake, each read and write) by what is left of one deadline."""

    def __init__(self, inner: httpcore.NetworkStream, deadline: float):
        self._inner = inner
        self._deadline = deadline

    def _left(self, timeout: float | None, timeout_error: type[Exception]) -> float:
        left = self._deadline - time.monotonic()
        if left <= 0:
            raise timeout_error("the delivery deadline passed")
        return left if timeout is None else min(timeout, left)

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._inner.read(max_bytes, self._left(timeout, httpcore.ReadTimeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        self._inner.write(buffer, self._left(timeout, httpcore.WriteTimeout))

    def close(self) -> None:
        self._inner.close()

    def start_tls(self, ssl_context, server_hostname=None, timeout=None) -> httpcore.NetworkStream:
        left = self._left(timeout, httpcore.ConnectTimeout)
        return _DeadlineStream(self._inner.start_tls(ssl_context, server_hostname, left), self._deadline)

    def get_extra_info(self, info: str):
        return self._inner.get_extra_info(info)


class PinnedBackend(httpcore.NetworkBackend):
    """Opens TCP connections for one host name to the given, already checked addresses only."""

    def __init__(self, *, host: str, ips: list[str], deadline: float):
        self._host = host
        self._ips = ips
        self._deadline = deadline
        self._inner = httpcore.SyncBackend()

    def connect_tcp(self, host, port, timeout=None, local_address=None, socket_options=None):
        if host.strip("[]").lower() != self._host:
            raise httpcore.ConnectError("connection to a host that was not checked")
        failure: Exception = httpcore.ConnectError("no address")
        for ip in self._ips:
            left = self._deadline - time.monotonic()
            if left <= 0:
                raise httpcore.ConnectTimeout("the delivery deadline passed")
            try:
                stream = self._inner.connect_tcp(
                    ip, port, timeout=left if timeout is None else min(timeout, left),
                    local_address=local_address, socket_options=socket_options,
                )  # fmt: skip
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                failure = exc
                continue
            return _DeadlineStream(stream, self._deadline)
        raise failure

    def connect_unix_socket(self, path, timeout=None, socket_options=None):  # pragma: no cover
        raise httpcore.ConnectError("unix sockets are not webhook receivers")

    def sleep(self, seconds: float) -> None:  # pragma: no cover - only used by httpcore retries, which are off
        self._inner.sleep(seconds)


@functools.lru_cache(maxsize=1)
def _default_ssl_context() -> ssl.SSLContext:
    return httpx.create_ssl_context()  # certifi roots, hostname checking on


def _resolve(resolver: Resolver, host: str, port: int, deadline: float) -> list[str]:
    """Every address of `host`, asked once and within the deadline (getaddrinfo itself cannot be timed out)."""
    answer: dict = {}

    def ask() -> None:
        try:
            answer["ips"] = list(resolver(host, port))
        except Exception as exc:  # noqa: BLE001 - any resolver failure is a DNS failure
            answer["error"] = exc

    worker = threading.Thread(target=ask, name="webhook-dns", daemon=True)
    worker.start()
    worker.join(max(0.0, deadline - time.monotonic()))
    if worker.is_alive():
        raise _Refused(TIMEOUT)
    if "error" in answer or not answer.get("ips"):
        raise _Refused(DNS_FAILURE)
    return list(dict.fromkeys(answer["ips"]))


def _checked_ips(host: str, port: int, *, allow_loopback: bool, resolver: Resolver, deadline: float) -> list[str]:
    try:
        ips = [host] if _is_ip_literal(host) else _resolve(resolver, host, port, deadline)
        parsed = [addresses.parse(ip) for ip in ips]
    except ValueError:
        raise _Refused(DNS_FAILURE) from None
    for ip in parsed:
        if not (addresses.is_public(ip) or (allow_loopback and addresses.is_loopback(ip))):
            raise _Refused(ADDRESS_NOT_ALLOWED)  # one bad answer refuses the name: no picking the good ones
    return [str(ip) for ip in parsed]


def _is_ip_literal(host: str) -> bool:
    try:
        addresses.parse(host)
    except ValueError:
        return False
    return True


SEND_FAILURES = (
    _Refused,
    httpcore.TimeoutException,
    httpcore.NetworkError,
    httpcore.ProtocolError,
    httpcore.UnsupportedProtocol,
    httpx.InvalidURL,
    OSError,
)


def classify(exc: BaseException) -> str:
    """The short class of a send failure; the exception text itself never leaves this process."""
    if isinstance(exc, _Refused):
        return exc.error_class
    if isinstance(exc, httpcore.TimeoutException):
        return TIMEOUT
    cause = exc.__cause__ or exc.__context__
    if isinstance(exc, ssl.SSLError) or isinstance(cause, ssl.SSLError | ssl.CertificateError):
        return TLS_ERROR
    if isinstance(exc, httpcore.ProtocolError):
        return INVALID_RESPONSE
    if isinstance(exc, ConnectionRefusedError) or isinstance(cause, ConnectionRefusedError):
        return CONNECTION_REFUSED
    return CONNECTION_FAILED


def post(
    url: str,
    *,
    body: bytes,
    headers: dict[str, str],
    timeout_s: float,
    max_response_bytes: int,
    allow_loopback: bool = False,
    resolver: Resolver | None = None,
    ssl_context: ssl.SSLContext | None = None,
) -> Outcome:
    """POSTs `body` to `url`, all within `timeout_s` (DNS, connect, TLS, send, answer), reading at most
    `max_response_bytes` of the answer. Never raises for network trouble: the Outcome says what happened."""
    started = time.monotonic()
    deadline = started + timeout_s
    status_code, chunks, size, truncated = None, [], 0, False
    try:
        target = httpx.URL(url)
        host = target.raw_host.decode("ascii").strip("[]").lower()
        port = target.port or (443 if target.scheme == "https" else 80)
        ips = _checked_ips(
            host, port, allow_loopback=allow_loopback, resolver=resolver or system_resolver, deadline=deadline
        )
        # httpx builds the headers (Host with the name, Content-Length); httpcore sends them.
        prepared = httpx.Request("POST", target, headers=headers, content=body)
        request_timeouts = dict.fromkeys(("connect", "read", "write", "pool"), timeout_s)
        backend = PinnedBackend(host=host, ips=ips, deadline=deadline)
        with (
            httpcore.ConnectionPool(
                ssl_context=ssl_context or _default_ssl_context(), network_backend=backend, max_connections=1
            ) as pool,
            pool.stream(
                "POST",
                httpcore.URL(scheme=target.raw_scheme, host=target.raw_host, port=port, target=target.raw_path),
                headers=prepared.headers.raw,
                content=body,
                extensions={"timeout": request_timeouts},
            ) as response,
        ):
            status_code = response.status
            for chunk in response.iter_stream():
                chunks.append(chunk[: max_response_bytes - size])
                size += len(chunks[-1])
                if size >= max_response_bytes:
                    truncated = True
                    break  # closing the response now closes the connection: the rest is never read
                if time.monotonic() >= deadline:
                    raise httpcore.ReadTimeout("the delivery deadline passed")
    except SEND_FAILURES as exc:
        return _failure(exc, status_code, b"".join(chunks), started)
    return Outcome(status_code, b"".join(chunks), truncated, "", time.monotonic() - started)


def _failure(exc: BaseException, status_code: int | None, body: bytes, started: float) -> Outcome:
    error = classify(exc)
    logger.info("webhook send failed: %s (%s)", error, type(exc).__name__)
    # A receiver that answered and then stalled still answered: keep its status with the timeout.
    return Outcome(status_code, body, False, error, time.monotonic() - started)
