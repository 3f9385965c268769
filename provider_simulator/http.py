"""The simulator's HTTP edges: its request/response types, the WSGI adapter, and the in-process httpx transport."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import httpx

if TYPE_CHECKING:
    from provider_simulator.simulator import Simulator

MAX_BODY_BYTES = 1024 * 1024


@dataclass
class SimRequest:
    method: str
    path: str
    headers: dict[str, str]  # lower-case names
    body: bytes = b""


@dataclass
class SimResponse:
    status: int
    body: bytes | Path = b""
    headers: dict[str, str] = field(default_factory=dict)

    @classmethod
    def json(cls, status: int, data: dict, headers: dict | None = None) -> SimResponse:
        return cls(status, json.dumps(data).encode(), {"Content-Type": "application/json", **(headers or {})})

    @classmethod
    def error(cls, status: int, message: str, details: str = "", headers: dict | None = None) -> SimResponse:
        return cls.json(status, {"status": "error", "message": message, "details": details}, headers)


class Reject(Exception):
    def __init__(self, response: SimResponse):
        self.response = response


REASONS = {
    200: "OK",
    400: "Bad Request",
    401: "Unauthorized",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Payload Too Large",
    429: "Too Many Requests",
    500: "Internal Server Error",
    502: "Bad Gateway",
    503: "Service Unavailable",
}


def wsgi_call(simulator: Simulator, environ, start_response):
    """WSGI entry point (the standalone server)."""
    request = request_from_environ(environ)
    if request is None:
        response = SimResponse.error(413, "Request body too large")
    else:
        if simulator.config.response_delay_s and is_api_path(request.path):
            time.sleep(simulator.config.response_delay_s)
        forced = simulator._pop_forced(request.method) if is_api_path(request.path) else None
        response = simulator.handle(request, forced=forced)
    body = response.body.read_bytes() if isinstance(response.body, Path) else response.body
    headers = [(name, value) for name, value in response.headers.items()]
    if "Content-Length" not in response.headers:
        headers.append(("Content-Length", str(len(body))))
    start_response(f"{response.status} {REASONS.get(response.status, 'Status')}", headers)
    return [body]


class SimulatorTransport(httpx.BaseTransport):
    """Routes the provider's API and the simulator's output URLs into the simulator; anything else goes out."""

    def __init__(self, simulator: Simulator, *, api_base_url: str):
        self.simulator = simulator
        self._api_origin = origin_of(api_base_url)
        self._output_origin = origin_of(simulator.output_base_url)
        self._fallback = httpx.HTTPTransport()

    def _routed(self, request: httpx.Request) -> bool:
        origin = origin_of(str(request.url))
        return origin == self._api_origin or (
            origin == self._output_origin and "/simulator/outputs/" in request.url.path
        )

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        path = request.url.path
        if not self._routed(request):
            return self._fallback.handle_request(request)
        sim = self.simulator
        forced = sim._pop_forced(request.method) if is_api_path(path) else None
        if forced is not None and forced.network_error:
            raise httpx.ConnectError("simulated network error: connection refused", request=request)
        headers = {name.lower(): value for name, value in request.headers.items()}
        response = sim.handle(SimRequest(request.method, path, headers, request.read()), forced=forced)
        read_timeout = (request.extensions.get("timeout") or {}).get("read")
        delay_s = sim.config.response_delay_s if is_api_path(path) else 0.0
        timed_out = forced is not None and forced.timeout
        if read_timeout is not None and (timed_out or delay_s >= read_timeout > 0):
            sim.clock.sleep(read_timeout)
            raise httpx.ReadTimeout("simulated read timeout", request=request)
        if delay_s:
            sim.clock.sleep(delay_s)
        body = response.body.read_bytes() if isinstance(response.body, Path) else response.body
        return httpx.Response(response.status, headers=response.headers, content=body, request=request)

    def close(self) -> None:
        self._fallback.close()


def django_app(environ, start_response):
    """This site's own Django app, for webhooks to SITE_URL without a live server.

    Django closes "old" database connections around each request; inside a caller's transaction (a test, or a
    service that delivers synchronously) that would close the caller's connection, so skip it there, as
    Django's test client does."""
    from django.core import signals
    from django.core.handlers.wsgi import WSGIHandler
    from django.db import close_old_connections, connections

    def run() -> list[bytes]:
        # Not get_wsgi_application(): it runs django.setup() again, which reconfigures logging on every call.
        response = WSGIHandler()(environ, start_response)
        try:
            return [b"".join(response)]
        finally:
            response.close()  # fires request_finished

    if not any(conn.in_atomic_block for conn in connections.all(initialized_only=True)):
        return run()
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    try:
        return run()
    finally:
        signals.request_started.connect(close_old_connections)
        signals.request_finished.connect(close_old_connections)


def request_from_environ(environ) -> SimRequest | None:
    length = int(environ.get("CONTENT_LENGTH") or 0)
    if length > MAX_BODY_BYTES:
        return None
    body = environ["wsgi.input"].read(length) if length else b""
    headers = {name[5:].replace("_", "-").lower(): value for name, value in environ.items() if name.startswith("HTTP_")}
    return SimRequest(environ["REQUEST_METHOD"].upper(), environ.get("PATH_INFO", "/"), headers, body)


def is_api_path(path: str) -> bool:
    return "/v1/prediction" in path


def origin_of(url: str) -> str:
    parts = urlsplit(url)
    port = parts.port or {"http": 80, "https": 443}.get(parts.scheme)
    return f"{parts.scheme}://{(parts.hostname or '').lower()}:{port}"
