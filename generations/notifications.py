"""Email the browser user who made a video when it is ready or has failed: once, after commit, in a task."""

from __future__ import annotations

import logging
import uuid

from django.conf import settings
from django.core.mail import EmailMultiAlternatives
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django_q.tasks import async_task

from generations.models import Generation, Status

logger = logging.getLogger(__name__)

NOTIFIED_STATUSES = (Status.SUCCEEDED, Status.FAILED)  # a cancel is the user's own doing: no email
REASON_MAX_CHARS = 200


def _owner_should_hear(generation: Generation) -> bool:
    """Made in the browser (a partner's API videos are reported to the partner by webhook), by someone who wants it."""
    owner = generation.created_by
    return (
        generation.status in NOTIFIED_STATUSES
        and generation.api_key_id is None
        and owner is not None
        and owner.is_active
        and owner.notify_video_finished
        and bool(owner.email)
    )


def owner_notify_enqueue(*, generation_id: uuid.UUID | str) -> bool:
    """Called after the terminal transition commits: queue the email task only when one may be sent."""
    generation = Generation.objects.select_related("created_by").filter(pk=generation_id).first()
    if generation is None or generation.owner_notified_at is not None or not _owner_should_hear(generation):
        return False
    async_task("generations.tasks.notify_owner", str(generation_id), task_name="notify_owner")
    return True


def generation_notify_owner(*, generation_id: uuid.UUID | str) -> bool:
    """Send the email unless it was sent already; True when this call sent it.

    The claim (owner_notified_at set where it is still empty) is one UPDATE, so two finish paths or a task
    delivered twice send one email. A failed send gives the claim back, logs, and never raises: the
    generation's own state is not touched either way.
    """
    generation = Generation.objects.select_related("created_by").filter(pk=generation_id).first()
    if generation is None or not _owner_should_hear(generation):
        return False
    claimed = Generation.objects.filter(pk=generation.pk, owner_notified_at__isnull=True).update(
        owner_notified_at=timezone.now()
    )
    if not claimed:
        return False
    try:
        _message_for(generation).send()
    except Exception:
        Generation.objects.filter(pk=generation.pk).update(owner_notified_at=None)
        logger.exception("finish email for generation %s could not be sent", generation.pk)
        return False
    logger.info("finish email sent for generation %s (%s)", generation.pk, generation.status)
    return True


def _message_for(generation: Generation) -> EmailMultiAlternatives:
    succeeded = generation.status == Status.SUCCEEDED
    reason = generation.error_message or "The provider could not make this video."
    if len(reason) > REASON_MAX_CHARS:
        reason = reason[: REASON_MAX_CHARS - 1].rstrip() + "…"
    context = {
        "generation": generation,
        "succeeded": succeeded,
        "reason": reason,
        "link": settings.SITE_URL + reverse("generation_detail", args=[generation.pk]),
        "settings_link": settings.SITE_URL + reverse("profile"),
    }
    subject = "Your video is ready" if succeeded else "Your video could not be made"
    message = EmailMultiAlternatives(
        subject=settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + subject,
        body=render_to_string("emails/generation_finished.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[generation.created_by.email],
    )
    message.attach_alternative(render_to_string("emails/generation_finished.html", context), "text/html")
    return message
