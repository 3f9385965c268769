"""Every write of storyboards: create (all shots authorized at once), advance shots, stop, retry, stitch."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal

from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile, UploadedFile
from django.db import transaction
from django.utils import timezone
from django_q.tasks import async_task

from accounts.models import ApiKey, EndUser, Organization, User
from billing import services as billing
from generations import catalog, continuation
from generations import services as generations
from generations.models import Generation
from generations.models import Status as GenerationStatus
from seedance_saas.errors import Conflict, InvalidInput, NotFound, ServiceError
from storyboards import events, selectors
from storyboards.models import MAX_SHOTS, MIN_SHOTS, SHOT_OPEN, Shot, ShotStatus, Storyboard, StoryboardStatus

logger = logging.getLogger(__name__)


@dataclass
class ShotInput:
    prompt: str | None
    duration: str | int | None = None
    continue_previous: bool = False
    image: UploadedFile | None = None
    image_url: str | None = None


@dataclass(frozen=True)
class StoryboardQuote:
    min_amount: Decimal
    max_amount: Decimal
    lines: list = field(default_factory=list)


def storyboard_quote(*, organization: Organization | None, resolution: str | None, durations: list) -> StoryboardQuote:
    """The whole storyboard's price: the sum of billing's quote for each shot (a range when some are "auto")."""
    lines = [billing.quote(organization=organization, resolution=resolution, duration=d) for d in durations]
    return StoryboardQuote(
        min_amount=sum((q.min_amount for q in lines), Decimal(0)),
        max_amount=sum((q.max_amount for q in lines), Decimal(0)),
        lines=lines,
    )


def _validate(*, resolution, aspect_ratio, generate_audio, shots: list[ShotInput]) -> list[catalog.GenerationInputs]:
    errors: dict[str, list[str]] = {}
    if not MIN_SHOTS <= len(shots) <= MAX_SHOTS:
        errors["shots"] = [f"A storyboard has {MIN_SHOTS} to {MAX_SHOTS} shots; this one has {len(shots)}."]
    validated = []
    for number, shot in enumerate(shots, start=1):
        prefix = f"shots[{number}]"
        if shot.continue_previous and number == 1:
            errors[f"{prefix}.continue_previous"] = ["The first shot has nothing to continue; give it a first frame."]
        if shot.continue_previous and (shot.image is not None or (shot.image_url or "").strip()):
            errors[f"{prefix}.image"] = ["A shot that continues the previous one takes no first frame of its own."]
        try:
            inputs = catalog.validate_inputs(
                prompt=shot.prompt,
                resolution=resolution,
                duration=shot.duration,
                aspect_ratio=aspect_ratio,
                generate_audio=generate_audio,
                image=shot.image,
                # A chained shot's frame comes later; a placeholder URL passes the frame check for now.
                image_url="https://frame.invalid/later.png" if shot.continue_previous else shot.image_url,
            )
        except InvalidInput as error:
            for name, messages in (error.fields or {}).items():
                errors.setdefault(f"{prefix}.{name}", []).extend(messages)
        else:
            validated.append(inputs)
    if errors:
        raise InvalidInput(
            "Some fields are not valid: " + "; ".join(f"{k}: {v[0]}" for k, v in errors.items()), fields=errors
        )
    return validated


def storyboard_create(
    *,
    organization: Organization,
    end_user: EndUser,
    shots: list[ShotInput],
    resolution: str | None = None,
    aspect_ratio: str | None = None,
    generate_audio: bool | None = None,
    title: str = "",
    created_by: User | None = None,
    api_key: ApiKey | None = None,
) -> Storyboard:
    """Validate, then authorize every shot in one transaction (refused as a whole); the first shots start after."""
    if end_user.organization_id != organization.pk:
        raise NotFound("Unknown end user.")
    validated = _validate(resolution=resolution, aspect_ratio=aspect_ratio, generate_audio=generate_audio, shots=shots)
    first = validated[0]
    storyboard = Storyboard(
        organization=organization,
        end_user=end_user,
        created_by=created_by,
        api_key=api_key,
        title=(title or "").strip()[:200],
        resolution=first.resolution,
        aspect_ratio=first.aspect_ratio,
        generate_audio=first.generate_audio,
    )
    rows = []
    for number, (shot, inputs) in enumerate(zip(shots, validated, strict=True), start=1):
        row = Shot(
            organization=organization,
            storyboard=storyboard,
            position=number,
            prompt=inputs.prompt,
            duration=inputs.duration,
            continue_previous=shot.continue_previous,
            image_url="" if shot.continue_previous else inputs.image_url,
        )
        rows.append(row)
    # Files before the transaction (storage may be remote).
    for shot, row in zip(shots, rows, strict=True):
        if shot.image is not None and not shot.continue_previous:
            row.image.save(f"frame.{catalog.stored_image_extension(shot.image)}", shot.image, save=False)
    quote = storyboard_quote(
        organization=organization, resolution=storyboard.resolution, durations=[r.duration for r in rows]
    )
    storyboard.estimated_cost = quote.max_amount
    try:
        with transaction.atomic():
            storyboard.save(force_insert=True)
            for row in rows:
                row.save(force_insert=True)
                billing.spend_authorize(
                    organization=organization,
                    end_user=end_user,
                    source_id=row.planned_generation_id,
                    resolution=storyboard.resolution,
                    duration=row.duration,
                )
            # Robust: with the broker down the storyboard is still created; the minute schedule starts it.
            transaction.on_commit(lambda: advance_enqueue(storyboard_id=storyboard.pk), robust=True)
    except Exception:
        for row in rows:
            if row.image:
                default_storage.delete(row.image.name)
        raise
    return storyboard


def advance_enqueue(*, storyboard_id: uuid.UUID) -> None:
    async_task("storyboards.tasks.advance", str(storyboard_id), task_name="storyboard-advance")


# --- Advancing ----------------------------------------------------------------------


def storyboard_advance(*, storyboard_id: uuid.UUID | str) -> Storyboard:
    """Idempotent: learn how running shots ended, start what may start, stop what cannot, and move the storyboard."""
    storyboard = Storyboard.objects.select_related("organization", "end_user").get(pk=storyboard_id)
    if storyboard.status != StoryboardStatus.RUNNING:
        return storyboard
    shots = list(storyboard.shots.all())
    generations_by_id = selectors.shot_generations(shots=shots)
    for shot in shots:
        _sync(shot, generations_by_id.get(shot.planned_generation_id))
    previous = None
    for shot in shots:
        if shot.status == ShotStatus.WAITING:
            if not shot.continue_previous:
                _start(storyboard, shot, previous=None)
            elif previous.status == ShotStatus.SUCCEEDED:
                _start(storyboard, shot, previous=previous)
            elif previous.status in (ShotStatus.FAILED, ShotStatus.STOPPED):
                _stop(shot, previous=previous)
        previous = shot
    _conclude(storyboard)
    return storyboard


def _sync(shot: Shot, generation: Generation | None) -> None:
    if shot.status != ShotStatus.RUNNING or generation is None or not generation.is_terminal:
        return
    if generation.status == GenerationStatus.SUCCEEDED:
        fields = {"status": ShotStatus.SUCCEEDED, "generation": generation}
    else:
        message = generation.error_message or f"The video was {generation.status}."
        fields = {
            "status": ShotStatus.FAILED,
            "generation": generation,
            "error_code": generation.error_code or generation.status,
            "error_message": message,
        }
    if Shot.objects.filter(pk=shot.pk, status=ShotStatus.RUNNING).update(**fields):
        for name, value in fields.items():
            setattr(shot, name, value)


def _start(storyboard: Storyboard, shot: Shot, *, previous: Shot | None) -> None:
    """Claim the shot (compare-and-set) and create its generation under the id its hold was authorized for."""
    if not Shot.objects.filter(pk=shot.pk, status=ShotStatus.WAITING).update(status=ShotStatus.RUNNING):
        return
    shot.status = ShotStatus.RUNNING
    try:
        source = None
        if previous is not None:
            source = selectors.shot_generation(shot=previous)
            frame = continuation.last_frame_of(source=source)
        elif shot.image:
            with default_storage.open(shot.image.name, "rb") as stored:
                frame = SimpleUploadedFile(shot.image.name.rsplit("/", 1)[-1], stored.read())
        else:
            frame = None
        inputs = catalog.validate_inputs(
            prompt=shot.prompt,
            resolution=storyboard.resolution,
            duration=shot.duration,
            aspect_ratio=storyboard.aspect_ratio,
            generate_audio=storyboard.generate_audio,
            image=frame,
            image_url=None if frame is not None else shot.image_url,
        )
        generation = generations.generation_create(
            organization=storyboard.organization,
            end_user=storyboard.end_user,
            inputs=inputs,
            image=frame,
            created_by=storyboard.created_by,
            api_key=storyboard.api_key,
            continues=source,
            generation_id=shot.planned_generation_id,
        )
    except ServiceError as error:
        logger.warning("storyboard %s shot %s could not start: %s", storyboard.pk, shot.position, error.message)
        _fail_unstarted(shot, code=error.code, message=error.message)
        return
    except Exception:
        # Storage or database trouble: give the claim back so the next advance (the minute schedule) tries again.
        logger.exception(
            "storyboard %s shot %s: start interrupted; it will be tried again", storyboard.pk, shot.position
        )
        if not selectors.shot_generation_exists(shot=shot):
            Shot.objects.filter(pk=shot.pk, status=ShotStatus.RUNNING).update(status=ShotStatus.WAITING)
            shot.status = ShotStatus.WAITING
        return
    Shot.objects.filter(pk=shot.pk).update(generation=generation)
    shot.generation = generation


def _fail_unstarted(shot: Shot, *, code: str, message: str) -> None:
    billing.spend_release(source_id=shot.planned_generation_id, reason=f"storyboard shot not started: {code}")
    Shot.objects.filter(pk=shot.pk).update(status=ShotStatus.FAILED, error_code=code, error_message=message)
    shot.status, shot.error_code, shot.error_message = ShotStatus.FAILED, code, message


def _stop(shot: Shot, *, previous: Shot) -> None:
    """A shot that continues a failed (or stopped) one cannot start: stop it and release its hold."""
    message = f"Not started: shot {previous.position} did not succeed."
    with transaction.atomic():
        if Shot.objects.filter(pk=shot.pk, status=ShotStatus.WAITING).update(
            status=ShotStatus.STOPPED, error_code="previous_shot_failed", error_message=message
        ):
            billing.spend_release(source_id=shot.planned_generation_id, reason="storyboard shot stopped")
            shot.status, shot.error_code, shot.error_message = ShotStatus.STOPPED, "previous_shot_failed", message


def _conclude(storyboard: Storyboard) -> None:
    shots = list(storyboard.shots.all())  # fresh: a nested advance (synchronous tasks) may have moved them
    if all(s.status == ShotStatus.SUCCEEDED for s in shots):
        if Storyboard.objects.filter(pk=storyboard.pk, status=StoryboardStatus.RUNNING).update(
            status=StoryboardStatus.STITCHING, updated_at=timezone.now()
        ):
            storyboard.status = StoryboardStatus.STITCHING
            async_task("storyboards.tasks.stitch", str(storyboard.pk), task_name="storyboard-stitch")
        return
    if any(s.status in SHOT_OPEN for s in shots):
        return
    failed = next((s for s in shots if s.status == ShotStatus.FAILED), None) or next(
        s for s in shots if s.status != ShotStatus.SUCCEEDED
    )
    message = f"Shot {failed.position} failed: {failed.error_message}"
    storyboard_end(
        storyboard,
        status=StoryboardStatus.FAILED,
        from_=StoryboardStatus.RUNNING,
        error_code="shot_failed",
        error_message=message,
    )


def storyboard_end(storyboard: Storyboard, *, status: str, from_: str, **fields) -> bool:
    now = timezone.now()
    with transaction.atomic():
        won = Storyboard.objects.filter(pk=storyboard.pk, status=from_).update(
            status=status, completed_at=now, updated_at=now, **fields
        )
        if won:
            transaction.on_commit(lambda: events.storyboard_publish_terminal(storyboard_id=storyboard.pk), robust=True)
    if won:
        storyboard.status = status
        for name, value in fields.items():
            setattr(storyboard, name, value)
    return bool(won)


STITCH_STALE = timedelta(minutes=15)


def storyboards_advance_due() -> int:
    """The minute schedule: advance every running storyboard (the signal's safety net), and stitch again one whose
    stitch task was lost with its worker (a second stitch is harmless: the finish is compare-and-set)."""
    count = 0
    for storyboard_id in selectors.storyboards_running_ids():
        storyboard_advance(storyboard_id=storyboard_id)
        count += 1
    now = timezone.now()
    for storyboard_id in selectors.storyboards_stitching_ids(updated_before=now - STITCH_STALE):
        if Storyboard.objects.filter(pk=storyboard_id, status=StoryboardStatus.STITCHING).update(updated_at=now):
            async_task("storyboards.tasks.stitch", str(storyboard_id), task_name="storyboard-stitch")
            count += 1
    return count


# --- Retry --------------------------------------------------------------------------


def storyboard_shot_retry(*, storyboard: Storyboard, position: int) -> Storyboard:
    """Run a failed shot again and resume the shots stopped behind it; their holds are authorized anew, together."""
    shots = list(storyboard.shots.all())
    shot = next((s for s in shots if s.position == position), None)
    if shot is None:
        raise NotFound(f"This storyboard has no shot {position}.")
    if shot.status != ShotStatus.FAILED:
        raise Conflict(f"Only a failed shot can be retried; shot {position} is {shot.status}.", code="not_retryable")
    resumed = [shot]
    for later in shots[position:]:
        if later.status != ShotStatus.STOPPED or not later.continue_previous:
            break
        resumed.append(later)
    with transaction.atomic():
        locked = Storyboard.objects.select_for_update().get(pk=storyboard.pk)
        if locked.status == StoryboardStatus.STITCHING:
            raise Conflict("The storyboard is being stitched.", code="not_retryable")
        for row in resumed:
            row.planned_generation_id = uuid.uuid4()
            row.status = ShotStatus.WAITING
            row.generation = None
            row.attempts += 1
            row.error_code = row.error_message = ""
            row.save(
                update_fields=[
                    "planned_generation_id",
                    "status",
                    "generation",
                    "attempts",
                    "error_code",
                    "error_message",
                ]
            )
            billing.spend_authorize(
                organization=storyboard.organization,
                end_user=storyboard.end_user,
                source_id=row.planned_generation_id,
                resolution=storyboard.resolution,
                duration=row.duration,
            )
        Storyboard.objects.filter(pk=storyboard.pk).update(
            status=StoryboardStatus.RUNNING, error_code="", error_message="", completed_at=None
        )
        transaction.on_commit(lambda: advance_enqueue(storyboard_id=storyboard.pk), robust=True)
    storyboard.refresh_from_db()
    return storyboard
