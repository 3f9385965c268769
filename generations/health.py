"""Readiness checks that know the generation pipeline: the ticker, the queue and the provider key."""

from __future__ import annotations

import dataclasses
import typing
from datetime import datetime

from django.conf import settings
from django.utils import timezone
from health_check.exceptions import ServiceUnavailable

from generations import selectors, ticker
from seedance_saas.health import RequestThreadCheck

TICK_TASK = "generations.tasks.tick"


def ticker_last_seen(*, now: datetime | None = None) -> datetime | None:
    """When the poll/dispatch ticker last showed life: now while a node holds its lease, else when the minute
    schedule's safety-net `tick` last ended.

    The one place that reads the ticker's own state (generations/ticker.py). The lease lapses for a few seconds
    while a killed node's ticker hands over to another, hence the fallback on django-q2's record of `tick` tasks.
    """
    now = now or timezone.now()
    if ticker.lease_holder() is not None:
        return now
    from django_q.models import Success

    return Success.objects.filter(func=TICK_TASK).order_by("-stopped").values_list("stopped", flat=True).first()


@dataclasses.dataclass
class TickerAlive(RequestThreadCheck):
    name: typing.ClassVar[str] = "ticker"
    failure_message: typing.ClassVar[str] = "the ticker's state could not be read"

    def check(self) -> None:
        now = timezone.now()
        seen = ticker_last_seen(now=now)
        limit_s = settings.READYZ_TICKER_MAX_AGE_S
        if seen is None:
            raise ServiceUnavailable("no ticker has run: polling and dispatch are stopped")
        age_s = (now - seen).total_seconds()
        if age_s > limit_s:
            raise ServiceUnavailable(f"the ticker last ran {age_s:.0f} s ago (limit {limit_s} s)")


@dataclasses.dataclass
class QueueAge(RequestThreadCheck):
    name: typing.ClassVar[str] = "queue_age"
    failure_message: typing.ClassVar[str] = "the queue could not be read"

    def check(self) -> None:
        _, oldest_s = selectors.queue_depth_and_oldest()
        limit_s = settings.READYZ_QUEUE_MAX_AGE_S
        if oldest_s is not None and oldest_s > limit_s:
            raise ServiceUnavailable(f"the oldest queued generation has waited {oldest_s:.0f} s (limit {limit_s} s)")


@dataclasses.dataclass
class ProviderKey(RequestThreadCheck):
    name: typing.ClassVar[str] = "provider_key"
    failure_message: typing.ClassVar[str] = "the provider key's state could not be read"

    def check(self) -> None:
        pause = selectors.shared_keys_pause()
        if pause:
            raise ServiceUnavailable(pause)
