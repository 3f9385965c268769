"""Queue wording for people: "3rd in line, starts in about 4 minutes"."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.contrib.humanize.templatetags.humanize import ordinal
from django.utils import timezone

register = template.Library()


def about(seconds: float) -> str:
    """A wait in words, rounded the way people say it."""
    minutes = round(seconds / 60)
    if seconds < 45:
        return "less than a minute"
    if minutes < 90:
        return f"about {max(1, minutes)} minute{'s' if max(1, minutes) != 1 else ''}"
    hours = round(seconds / 3600)
    return f"about {hours} hour{'s' if hours != 1 else ''}"


def _in(moment: datetime, now: datetime) -> str:
    seconds = (moment - now).total_seconds()
    return "any moment now" if seconds < 15 else f"in {about(seconds)}"


@register.simple_tag
def queue_wait(estimate, now: datetime | None = None) -> str:
    """ "3rd in line, starts in about 4 minutes"; "" when the estimate knows nothing."""
    now = now or timezone.now()
    if estimate is None or estimate.queue_position is None:
        return ""
    text = f"{ordinal(estimate.queue_position)} in line"
    if estimate.estimated_start_at is not None:
        text += f", starts {_in(estimate.estimated_start_at, now)}"
    return text


@register.simple_tag
def ready_in(estimate, now: datetime | None = None) -> str:
    """ "Should be ready in about 3 minutes"; "" without a finish estimate."""
    now = now or timezone.now()
    if estimate is None or estimate.estimated_finish_at is None:
        return ""
    return f"Should be ready {_in(estimate.estimated_finish_at, now)}."
