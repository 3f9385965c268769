"""django-q2 entry points of storyboards: thin wrappers that call one service."""

from __future__ import annotations

from storyboards import film, services


def advance(storyboard_id: str) -> None:
    services.storyboard_advance(storyboard_id=storyboard_id)


def advance_all() -> int:
    return services.storyboards_advance_due()


def stitch(storyboard_id: str) -> None:
    film.storyboard_stitch(storyboard_id=storyboard_id)
