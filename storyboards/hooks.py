"""What storyboards plugs into generations at startup (apps.ready): the end signal, hold keeping, media ownership."""

from __future__ import annotations

from django_q.tasks import async_task

from storyboards import erasure, selectors


def on_generation_ended(sender, *, generation_id, **kwargs) -> None:
    """A shot's generation ended: advance its storyboard in a task (only enqueue here)."""
    storyboard_id = selectors.storyboard_for_generation(generation_id=generation_id)
    if storyboard_id is not None:
        async_task("storyboards.tasks.advance", str(storyboard_id), task_name="storyboard-advance")


def holds_kept(source_ids: set) -> set:
    return selectors.planned_ids_still_open(source_ids=source_ids)


def media_belongs_to(*, organization_id: int, name: str) -> bool:
    return selectors.media_belongs_to(organization_id=organization_id, name=name)


def on_end_user_erased(sender, *, end_user, **kwargs) -> list[str]:
    return erasure.storyboards_erase(end_user=end_user)
