"""The one way apps register their django-q2 schedules: idempotently, after every migrate."""

from __future__ import annotations

from dataclasses import dataclass

from django.db.models.signals import post_migrate


@dataclass(frozen=True)
class Every:
    name: str
    func: str
    minutes: int


def register(app_config, schedules: list[Every]) -> None:
    """Call from AppConfig.ready(): creates or updates each schedule by name after `migrate`."""

    def ensure(sender, **kwargs) -> None:
        from django_q.models import Schedule

        for spec in schedules:
            Schedule.objects.update_or_create(
                name=spec.name,
                defaults={"func": spec.func, "schedule_type": Schedule.MINUTES, "minutes": spec.minutes, "repeats": -1},
            )

    post_migrate.connect(ensure, sender=app_config, weak=False, dispatch_uid=f"schedules:{app_config.label}")
