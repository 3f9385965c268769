"""Share links: mint (token shown once, SHA-256 kept), revoke, list, and resolve a token to what it shows.

What can be shared is a registry of kinds: "generation" is registered here; another app (storyboards' films)
registers its own kind with `share_kind_register` from its AppConfig.ready, so generations never imports it.
"""

from __future__ import annotations

import hashlib
import secrets
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import Http404
from django.utils import timezone

from accounts.models import ApiKey, Organization, User
from generations.models import Generation, ShareLink, Status
from seedance_saas.errors import Conflict, InvalidInput, NotFound

# 32 random bytes: 256 bits, far past the 128 the brief asks for; URL-safe base64 (43 characters).
TOKEN_BYTES = 32


@dataclass(frozen=True)
class Shared:
    """What a share link shows publicly: nothing of the organization, its users or its other videos."""

    title: str
    prompt: str
    video_name: str
    poster_name: str
    duration_seconds: Decimal | None


# kind -> (organization_id, target_id) -> Shared, or None when it does not exist or cannot be shown (yet).
_KINDS: dict[str, Callable[[int, uuid.UUID], Shared | None]] = {}


def share_kind_register(kind: str, resolve: Callable[[int, uuid.UUID], Shared | None]) -> None:
    _KINDS[kind] = resolve


def share_kinds() -> tuple[str, ...]:
    return tuple(_KINDS)


def _generation_shared(organization_id: int, target_id: uuid.UUID) -> Shared | None:
    generation = (
        Generation.objects.filter(organization_id=organization_id, pk=target_id, status=Status.SUCCEEDED)
        .exclude(video="")
        .only("prompt", "video", "poster", "duration_seconds")
        .first()
    )
    if generation is None:
        return None
    return Shared(
        title=generation.prompt,
        prompt=generation.prompt,
        video_name=generation.video.name,
        poster_name=generation.poster.name if generation.poster else "",
        duration_seconds=generation.duration_seconds,
    )


share_kind_register("generation", _generation_shared)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


# --- Services ---------------------------------------------------------------------------------


def share_link_create(
    *,
    organization: Organization,
    target_id: uuid.UUID | str,
    kind: str = "generation",
    hide_prompt: bool = False,
    expires_at: datetime | None = None,
    created_by: User | None = None,
    api_key: ApiKey | None = None,
) -> tuple[ShareLink, str]:
    """A new link and its token (returned once, never stored). 404 for another organization's target, 409 when the
    target has no video to show yet, 400 for an expiry in the past."""
    resolve = _KINDS.get(kind)
    if resolve is None:
        raise InvalidInput(f"Unknown kind {kind!r}.", fields={"kind": [f"Use one of: {', '.join(_KINDS)}."]})
    try:
        target_uuid = uuid.UUID(str(target_id))
    except ValueError:
        raise NotFound("No such video.") from None
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("The expiry must be in the future.", fields={"expires_at": ["Must be in the future."]})
    if resolve(organization.pk, target_uuid) is None:
        if kind == "generation" and not Generation.objects.filter(organization=organization, pk=target_uuid).exists():
            raise NotFound("No such video.")
        raise Conflict("Only a finished video can be shared.", code="not_shareable")
    token = secrets.token_urlsafe(TOKEN_BYTES)
    link = ShareLink.objects.create(
        organization=organization,
        kind=kind,
        target_id=target_uuid,
        token_hash=token_hash(token),
        hide_prompt=hide_prompt,
        expires_at=expires_at,
        created_by=created_by,
        api_key=api_key,
    )
    return link, token


def share_link_revoke(*, share_link: ShareLink) -> ShareLink:
    """Revoked at once: the next request for the page or its media answers 404. Revoking twice is harmless."""
    if share_link.revoked_at is None:
        now = timezone.now()
        ShareLink.objects.filter(pk=share_link.pk, revoked_at__isnull=True).update(revoked_at=now)
        share_link.refresh_from_db(fields=["revoked_at"])
    return share_link


# --- Selectors --------------------------------------------------------------------------------


def share_link_list(
    *, organization: Organization, kind: str | None = None, target_id: uuid.UUID | str | None = None
) -> QuerySet[ShareLink]:
    links = ShareLink.objects.filter(organization=organization)
    if kind:
        links = links.filter(kind=kind)
    if target_id:
        links = links.filter(target_id=target_id)
    return links.order_by("-created_at", "-pk")


def share_link_get(*, organization: Organization, share_link_id: uuid.UUID | str) -> ShareLink:
    try:
        return ShareLink.objects.get(organization=organization, pk=share_link_id)
    except (ShareLink.DoesNotExist, ValidationError, ValueError, TypeError) as missing:
        raise Http404("No such share link.") from missing


def share_link_resolve(*, token: str) -> tuple[ShareLink, Shared] | None:
    """The active link of this token and what it shows; None when unknown, revoked, expired or the target is gone."""
    if not token or len(token) > 100:
        return None
    link = ShareLink.objects.filter(token_hash=token_hash(token)).first()
    if link is None or not link.is_active(timezone.now()):
        return None
    resolve = _KINDS.get(link.kind)
    shared = resolve(link.organization_id, link.target_id) if resolve else None
    if shared is None:
        return None
    return link, shared
