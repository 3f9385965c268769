"""Media stored by apps built on generations (a storyboard's film and poster) that signed links may serve.

Those apps register a check here at startup (AppConfig.ready), so generations never imports them."""

from __future__ import annotations

from collections.abc import Callable

# Each owner answers: does this stored name belong to one of this organization's objects?
_OWNERS: list[Callable[..., bool]] = []


def register_media_owner(owner: Callable[..., bool]) -> None:
    if owner not in _OWNERS:
        _OWNERS.append(owner)


def owned_elsewhere(*, organization_id: int, name: str) -> bool:
    return any(owner(organization_id=organization_id, name=name) for owner in _OWNERS)
