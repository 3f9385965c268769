"""Signed, expiring links to stored media, each issued to someone whose right to it is checked again on use."""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, datetime
from urllib.parse import urlencode

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils.crypto import constant_time_compare

from accounts import selectors as accounts_selectors
from generations import selectors

_SIGNER_SALT = "generations.media_links"
INVALID = "This media link is not valid; open the page or API answer again for a fresh one."


@dataclass(frozen=True)
class Grant:
    """Who a link was issued to: `member:<membership id>`, `api_key:<id>`, `provider:<generation id>`, `webhook`."""

    kind: str
    subject: str = ""

    @classmethod
    def member(cls, membership) -> Grant:
        return cls("member", str(membership.pk))

    @classmethod
    def api_key(cls, api_key) -> Grant:
        return cls("api_key", str(api_key.pk))

    @classmethod
    def provider(cls, generation) -> Grant:
        return cls("provider", str(generation.pk))

    @classmethod
    def webhook(cls) -> Grant:
        return cls("webhook")

    def encode(self) -> str:
        return f"{self.kind}:{self.subject}" if self.subject else self.kind

    @classmethod
    def decode(cls, value: str) -> Grant:
        kind, _, subject = value.partition(":")
        return cls(kind, subject)


@dataclass(frozen=True)
class MediaLink:
    path: str  # with the query; what our own pages use, so the link works on whatever host served the page
    expires_at: datetime

    @property
    def url(self) -> str:
        return f"{settings.SITE_URL}{self.path}"


class LinkRefused(Exception):
    """A link that must not be served; `status` is 403 (bad or expired link) or 404 (access gone)."""

    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status = status
        self.message = message


def _signed_value(name: str, organization_id: int, grant: str, expires: int) -> str:
    return f"{name}\n{organization_id}\n{grant}\n{expires}"


def _signature(value: str) -> str:
    return signing.Signer(salt=_SIGNER_SALT, algorithm="sha256").signature(value)


def media_link(*, name: str, organization_id: int, grant: Grant, ttl_s: int, now: float | None = None) -> MediaLink:
    """An absolute URL to the stored file `name` that works for `ttl_s` seconds while `grant` holds."""
    expires = int((now if now is not None else time.time()) + ttl_s)
    encoded = grant.encode()
    query = urlencode(
        {
            "o": organization_id,
            "g": encoded,
            "e": expires,
            "s": _signature(_signed_value(name, organization_id, encoded, expires)),
        }
    )
    path = reverse("media", kwargs={"name": name})
    return MediaLink(path=f"{path}?{query}", expires_at=datetime.fromtimestamp(expires, tz=UTC))


def link_check(*, name: str, params, user=None) -> None:
    """Raises LinkRefused unless the signature matches, the link is not expired, and its grant still holds."""
    try:
        organization_id = int(params.get("o", ""))
        expires = int(params.get("e", ""))
    except ValueError:
        raise LinkRefused(403, INVALID) from None
    encoded, signature = params.get("g", ""), params.get("s", "")
    expected = _signature(_signed_value(name, organization_id, encoded, expires))
    if not signature or not constant_time_compare(signature, expected):
        raise LinkRefused(403, INVALID)
    if time.time() >= expires:
        raise LinkRefused(403, "This media link has expired; open the page or API answer again for a fresh one.")
    if not _grant_holds(Grant.decode(encoded), organization_id=organization_id, name=name, user=user):
        raise LinkRefused(404, "This file is not available to you.")


def _grant_holds(grant: Grant, *, organization_id: int, name: str, user) -> bool:
    if grant.kind == "provider":
        return selectors.media_is_pending_input(organization_id=organization_id, generation_id=grant.subject, name=name)
    if not selectors.media_belongs_to(organization_id=organization_id, name=name):
        return False
    if grant.kind == "member":
        # Issued to a browser session: the member must still belong, and whoever opens it must be a member too.
        return (
            user is not None
            and user.is_authenticated
            and accounts_selectors.membership_is_current(
                organization_id=organization_id, membership_id=int(grant.subject)
            )
            and accounts_selectors.membership_get(user=user, organization_id=organization_id) is not None
        )
    if grant.kind == "api_key":
        return accounts_selectors.api_key_is_current(organization_id=organization_id, api_key_id=int(grant.subject))
    return grant.kind == "webhook"


def member_link(*, name: str, membership) -> MediaLink:
    return media_link(
        name=name,
        organization_id=membership.organization_id,
        grant=Grant.member(membership),
        ttl_s=settings.MEDIA_URL_TTL_S,
    )


def api_link(*, name: str, api_key) -> MediaLink:
    return media_link(
        name=name, organization_id=api_key.organization_id, grant=Grant.api_key(api_key), ttl_s=settings.MEDIA_URL_TTL_S
    )


def webhook_link(*, name: str, organization_id: int) -> MediaLink:
    return media_link(
        name=name, organization_id=organization_id, grant=Grant.webhook(), ttl_s=settings.MEDIA_WEBHOOK_URL_TTL_S
    )


def provider_link(*, name: str, generation) -> MediaLink:
    return media_link(
        name=name,
        organization_id=generation.organization_id,
        grant=Grant.provider(generation),
        ttl_s=settings.MEDIA_PROVIDER_URL_TTL_S,
    )
