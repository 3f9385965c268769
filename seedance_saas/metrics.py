"""`/metrics` for Prometheus: pipeline figures read from the database at scrape time, request latency per process.

Why two sources: generations, provider calls, webhooks and usage live in the database, written by web and
worker processes on every machine, so a collector that reads the database at scrape time is right whichever
gunicorn worker answers and however many `qcluster` nodes run. Request latency exists only in the web
processes that served the requests: it is a prometheus-client histogram, kept in multiprocess mode
(`PROMETHEUS_MULTIPROC_DIR`) so that every gunicorn worker of the machine adds into one scrape.
"""

from __future__ import annotations

import hmac
import ipaddress
import os
import time
from collections.abc import Callable, Iterable

from django.conf import settings
from django.http import Http404, HttpRequest, HttpResponse
from django.views.decorators.cache import never_cache
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    REGISTRY,
    CollectorRegistry,
    Histogram,
    disable_created_metrics,
    generate_latest,
)
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from seedance_saas.client_ip import client_ip

# `_created` series (the time a label set first appeared) double the exposition and no alert uses them.
disable_created_metrics()

REQUEST_LATENCY = Histogram(
    "seedance_http_request_duration_seconds",
    "Time to answer an HTTP request, by resolved route (not the raw path), method and status class.",
    ["route", "method", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)

_database_collectors: list[Collector] = []


def register_collector(collector: Collector) -> None:
    """Apps add their scrape-time collectors here from AppConfig.ready() (the kernel imports no app)."""
    if all(type(existing) is not type(collector) for existing in _database_collectors):
        _database_collectors.append(collector)


class _Chain:
    def __init__(self, collect: Callable[[], Iterable]):
        self.collect = collect


def scrape() -> bytes:
    """The text exposition of every family: this process's (or, in multiprocess mode, the machine's) and the DB's."""
    registry = CollectorRegistry(auto_describe=False)
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(registry)
    else:
        registry.register(_Chain(REGISTRY.collect))
    for collector in _database_collectors:
        registry.register(collector)
    return generate_latest(registry)


def _allowed(request: HttpRequest) -> bool:
    token = settings.METRICS_TOKEN
    header = request.headers.get("Authorization", "")
    if token and header.startswith("Bearer ") and hmac.compare_digest(header[7:].strip(), token):
        return True
    address = ipaddress.ip_address(client_ip(request))
    return any(address in network for network in _allowed_networks())


def _allowed_networks() -> list[ipaddress.IPv4Network | ipaddress.IPv6Network]:
    return [ipaddress.ip_network(cidr.strip(), strict=False) for cidr in settings.METRICS_ALLOWED_NETWORKS if cidr]


@never_cache
def metrics_view(request: HttpRequest) -> HttpResponse:
    """404 while neither a token nor a network is configured; 403 to anyone else; never throttled."""
    if not settings.METRICS_TOKEN and not settings.METRICS_ALLOWED_NETWORKS:
        raise Http404("Metrics are off: set METRICS_TOKEN or METRICS_ALLOWED_NETWORKS.")
    if not _allowed(request):
        return HttpResponse(
            "Forbidden: send Authorization: Bearer <METRICS_TOKEN>, or scrape from METRICS_ALLOWED_NETWORKS.\n",
            status=403,
            content_type="text/plain; charset=utf-8",
        )
    return HttpResponse(scrape(), content_type=CONTENT_TYPE_LATEST)


class RequestLatencyMiddleware:
    """Times every request and labels it with the route Django resolved, so ids in paths never explode labels."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        started = time.perf_counter()
        response = self.get_response(request)
        match = getattr(request, "resolver_match", None)
        route = (match.view_name or match.route) if match else "unmatched"
        REQUEST_LATENCY.labels(
            route=route, method=_method(request.method), status=f"{response.status_code // 100}xx"
        ).observe(time.perf_counter() - started)
        return response


_METHODS = {"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"}


def _method(method: str | None) -> str:
    return method if method in _METHODS else "other"
