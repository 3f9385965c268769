"""Liveness (`/healthz`) and readiness (`/readyz`): django-health-check's view and checks, run in the request thread.

Each check answers with a fixed, human message that names no host, key or secret: the probe needs no login.
The checks that know generations live in generations/health.py; this module only knows Django and django-q2.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import time
import typing

from asgiref.sync import sync_to_async
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.decorators import method_decorator
from django.utils.module_loading import import_string
from django.views import View
from django.views.decorators.cache import never_cache
from health_check import checks as library_checks
from health_check.base import HealthCheck, HealthCheckResult
from health_check.exceptions import HealthCheckException, ServiceUnavailable
from health_check.views import HealthCheckView

logger = logging.getLogger(__name__)

WORKER_HEARTBEAT_KEY = "workers:heartbeat"


@never_cache
def healthz(request: HttpRequest) -> HttpResponse:
    """Liveness: the process answers. Nothing else is checked, so a slow database never restarts a web worker."""
    return JsonResponse({"status": "ok"})


@dataclasses.dataclass
class RequestThreadCheck(HealthCheck):
    """A django-health-check check whose work (`check()`) runs in the request's thread, on its connection.

    ReadinessView calls `check()` directly; `run()` keeps the class usable by the library's own async view,
    thread-sensitive so that it too never opens (and leaks) a database connection in a pool thread.
    """

    name: typing.ClassVar[str] = ""
    failure_message: typing.ClassVar[str] = "unavailable"

    async def run(self) -> None:
        await sync_to_async(self._check_safely, thread_sensitive=True)()

    def _check_safely(self) -> None:
        try:
            self.check()
        except HealthCheckException:
            raise
        except Exception as error:  # a driver's message may carry host names; the answer never does
            raise ServiceUnavailable(self.failure_message) from error

    def check(self) -> None:
        raise NotImplementedError


@dataclasses.dataclass
class Database(RequestThreadCheck):
    """`SELECT 1` on the request's own connection (the library's check opens and closes a fresh one each time)."""

    name: typing.ClassVar[str] = "database"
    failure_message: typing.ClassVar[str] = "the database does not answer"
    alias: str = "default"

    def check(self) -> None:
        with connections[self.alias].cursor() as cursor:
            cursor.execute("SELECT 1")
            if cursor.fetchone() != (1,):
                raise ServiceUnavailable("the database answered SELECT 1 with something else")


@dataclasses.dataclass
class Cache(RequestThreadCheck):
    name: typing.ClassVar[str] = "cache"
    failure_message: typing.ClassVar[str] = "the cache does not answer"
    alias: str = "default"

    def check(self) -> None:
        from django.core.cache import caches

        key, value = "readyz:probe", str(time.monotonic_ns())
        backend = caches[self.alias]
        backend.set(key, value, timeout=10)
        if backend.get(key) is None:
            raise ServiceUnavailable("the cache lost a value it was just given")


@dataclasses.dataclass
class MediaStorage(RequestThreadCheck):
    """Writes, reads back and deletes a tiny file in the media storage (local disk or S3)."""

    name: typing.ClassVar[str] = "media_storage"
    failure_message: typing.ClassVar[str] = "media storage refused a write, read or delete"
    alias: str = "default"

    def check(self) -> None:
        try:
            library_checks.Storage(alias=self.alias).run()
        except HealthCheckException as error:
            raise ServiceUnavailable(self.failure_message) from error


@dataclasses.dataclass
class QueueBroker(RequestThreadCheck):
    """django-q2's broker: Redis answers PING, or the ORM broker's queue table answers a count."""

    name: typing.ClassVar[str] = "broker"
    failure_message: typing.ClassVar[str] = "the task broker does not answer"

    def check(self) -> None:
        broker = _broker()
        broker.ping()  # Redis: a round trip; the ORM broker's ping is always True,
        broker.queue_size()  # so this query is what proves its table answers


@functools.cache
def _broker():
    """One per process: each get_broker() opens a new Redis connection pool."""
    from django_q.brokers import get_broker

    return get_broker()


@dataclasses.dataclass
class WorkerHeartbeat(RequestThreadCheck):
    """A django-q2 schedule (`worker_heartbeat`) stamps the shared cache every minute: a worker took a task lately."""

    name: typing.ClassVar[str] = "worker_heartbeat"
    failure_message: typing.ClassVar[str] = "the worker heartbeat could not be read"

    def check(self) -> None:
        stamped_at = cache.get(WORKER_HEARTBEAT_KEY)
        if stamped_at is None:
            raise ServiceUnavailable("no worker heartbeat seen: is a qcluster running?")
        age_s = time.time() - float(stamped_at)
        limit_s = settings.READYZ_WORKER_HEARTBEAT_MAX_AGE_S
        if age_s > limit_s:
            raise ServiceUnavailable(f"last worker heartbeat {age_s:.0f} s ago (limit {limit_s} s)")


def worker_heartbeat() -> float:
    """django-q2 task, every minute: proves scheduler, broker and a worker all move."""
    stamped_at = time.time()
    cache.set(WORKER_HEARTBEAT_KEY, stamped_at, timeout=None)
    return stamped_at


class ReadinessView(HealthCheckView):
    """`/readyz`: every check with its status and time; 503 when one fails. Never throttled, never cached.

    A sync view: the library's async one costs a new event-loop thread per request and a thread hop per
    check; here the checks run one after another in the request thread, a few milliseconds each.
    """

    def get_checks(self):
        for spec in settings.READYZ_CHECKS:
            path, options = spec if isinstance(spec, tuple | list) else (spec, {})
            yield import_string(path)(**options)

    @method_decorator(never_cache)
    def dispatch(self, request, *args, **kwargs):
        return View.dispatch(self, request, *args, **kwargs)

    def get(self, request, *args, **kwargs):
        self.results = [_run(check) for check in self.get_checks()]
        failing = any(result.error for result in self.results)
        body = {
            "status": "failing" if failing else "ok",
            "checks": {
                _check_name(result.check): {
                    "status": "failing" if result.error else "ok",
                    "ms": round(result.time_taken * 1000, 1),
                    **({"error": result.error.message} if result.error else {}),
                }
                for result in self.results
            },
        }
        response = JsonResponse(body, status=503 if failing else 200)
        if failing:
            response["Retry-After"] = "10"
            # Each failing check is logged once above as a warning; Django would add an ERROR line (and a
            # Sentry event) for every probe, every few seconds, for as long as the dependency is down.
            response._has_been_logged = True
        return response


def _run(check: RequestThreadCheck) -> HealthCheckResult:
    started = time.perf_counter()
    try:
        check._check_safely()
    except HealthCheckException as error:
        logger.warning("Readiness check %s failed: %s", _check_name(check), error.message)
        return HealthCheckResult(check=check, error=error, time_taken=time.perf_counter() - started)
    return HealthCheckResult(check=check, error=None, time_taken=time.perf_counter() - started)


def _check_name(check: HealthCheck) -> str:
    return getattr(check, "name", "") or type(check).__name__
