"""Continue a clip: a new generation whose first frame is the last frame of a succeeded one (`continues`)."""

from __future__ import annotations

from accounts.models import ApiKey, EndUser, Organization, User
from generations import catalog, frames, services
from generations.models import Generation, Status
from seedance_saas.errors import Conflict, NotFound


def continue_source_check(*, organization: Organization, source: Generation) -> None:
    """A continuation starts from this organization's own succeeded video; 404 for another's, 409 otherwise."""
    if source.organization_id != organization.pk:
        raise NotFound("Unknown generation.")
    if source.status != Status.SUCCEEDED or not source.video:
        raise Conflict(f"Only a succeeded video can be continued; this one is {source.status}.", code="not_succeeded")


def last_frame_of(*, source: Generation):
    """The source's last frame as a JPEG upload (decoded with PyAV from our stored copy)."""
    try:
        return frames.last_frame_jpeg(video_name=source.video.name)
    except frames.FrameUnreadable as error:
        raise Conflict(f"The last frame of this video could not be read: {error}", code="frame_unreadable") from error


def generation_continue(
    *,
    organization: Organization,
    end_user: EndUser,
    source: Generation,
    prompt: str | None,
    duration: str | int | None = None,
    resolution: str | None = None,
    aspect_ratio: str | None = None,
    generate_audio: bool | None = None,
    seed: str | None = None,
    end_image=None,
    end_image_url: str | None = None,
    created_by: User | None = None,
    api_key: ApiKey | None = None,
) -> Generation:
    """Validate the editable inputs (resolution and aspect ratio default to the source's), then create."""
    continue_source_check(organization=organization, source=source)
    frame = last_frame_of(source=source)
    inputs = catalog.validate_inputs(
        prompt=prompt,
        resolution=resolution or source.resolution,
        duration=duration,
        aspect_ratio=aspect_ratio or source.aspect_ratio,
        generate_audio=source.generate_audio if generate_audio is None else generate_audio,
        seed=seed,
        image=frame,
        end_image=end_image,
        end_image_url=end_image_url,
    )
    return services.generation_create(
        organization=organization,
        end_user=end_user,
        inputs=inputs,
        image=frame,
        end_image=end_image,
        created_by=created_by,
        api_key=api_key,
        continues=source,
    )


def generation_chain(*, generation: Generation) -> list[Generation]:
    """The clips this one continues (oldest first), itself, then what continues it (first continuation each step)."""
    before: list[Generation] = []
    seen = {generation.pk}
    current = generation.continues
    while current is not None and current.pk not in seen and current.organization_id == generation.organization_id:
        before.append(current)
        seen.add(current.pk)
        current = current.continues
    after: list[Generation] = []
    current = generation.continuations.order_by("created_at").first()
    while current is not None and current.pk not in seen:
        after.append(current)
        seen.add(current.pk)
        current = current.continuations.order_by("created_at").first()
    return [*reversed(before), generation, *after]
