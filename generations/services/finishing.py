"""Finishing: copy the provider's video into our storage, measure it, and commit success with its usage."""

from __future__ import annotations

import secrets
import tempfile
import time
from datetime import timedelta
from decimal import Decimal

from django.conf import settings
from django.core.files import File
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone

from billing import services as billing
from generations import posters, video
from generations.eachlabs.client import EachlabsError, PredictionResult, ProviderNotFound, get_client
from generations.models import Generation, ProviderCall, Status
from generations.services.polling import schedule_poll
from generations.services.provider_calls import backoff_s, record_call
from generations.services.transitions import after_terminal, fail, transition


def finish_success(generation: Generation, result: PredictionResult) -> None:
    """Copy the video into our storage, measure it, and commit success with its usage record."""
    now = timezone.now()
    if generation.provider_completed_at is None:
        Generation.objects.filter(pk=generation.pk).update(provider_completed_at=now)
    # A copy takes longer than a poll: hold the poll lease for it, so the next pass does not start a second copy.
    copy_lease = now + timedelta(seconds=settings.EACHLABS_READ_TIMEOUT_S)
    Generation.objects.filter(pk=generation.pk, status=Status.PROCESSING).update(next_poll_at=copy_lease)
    with tempfile.TemporaryFile() as buffer:
        call = ProviderCall.objects.create(
            kind=ProviderCall.Kind.DOWNLOAD,
            generation=generation,
            provider_key_id=generation.provider_key_id,
            started_at=timezone.now(),
        )
        started = time.monotonic()
        try:
            get_client(generation.provider_key).download_output(
                result.output, buffer, max_bytes=settings.GENERATION_MAX_VIDEO_BYTES
            )
        except ProviderNotFound as error:
            record_call(call, started, error=error)
            fail(
                generation,
                code="output_expired",
                message="The provider's video link expired before we could copy it.",
                from_=(Status.PROCESSING,),
            )
            return
        except EachlabsError as error:
            record_call(call, started, error=error)
            if not error.retryable:
                fail(generation, code=error.code, message=error.message, from_=(Status.PROCESSING,))
            else:
                schedule_poll(generation, extra_s=backoff_s(2))
            return
        record_call(call, started, status_code=200)
        measured_s = video.duration_seconds(buffer)
        if measured_s is None:
            fail(
                generation,
                code="invalid_output",
                message="The provider returned a file that is not a playable video.",
                from_=(Status.PROCESSING,),
            )
            return
        poster_name = posters.poster_store_quietly(video_file=buffer, generation=generation)
        buffer.seek(0)
        name = default_storage.save(
            f"generations/videos/{generation.organization_id}/{secrets.token_hex(16)}.mp4", File(buffer)
        )
    commit_success(generation, result=result, video_name=name, measured_s=measured_s, poster_name=poster_name)


def commit_success(
    generation: Generation, *, result: PredictionResult, video_name: str, measured_s: Decimal, poster_name: str = ""
) -> None:
    now = timezone.now()
    with transaction.atomic():
        won = transition(
            generation,
            to=Status.SUCCEEDED,
            reason=f"video ready ({measured_s} s)",
            from_=(Status.PROCESSING,),
            video=video_name,
            poster=poster_name,
            duration_seconds=measured_s,
            predict_time=result.predict_time,
            provider_output_url=result.output or "",
            completed_at=now,
            next_poll_at=None,
        )
        if won:
            record = billing.usage_record_create(source_id=generation.pk, measured_seconds=measured_s, completed_at=now)
            Generation.objects.filter(pk=generation.pk).update(cost=record.amount)
            generation.cost = record.amount
            transaction.on_commit(lambda: after_terminal(generation.pk), robust=True)
    if not won:  # another refresh finished it first; ours is a spare copy
        for name in (video_name, poster_name):
            if name:
                default_storage.delete(name)
