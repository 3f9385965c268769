"""Storyboards' part of erasing an end user (generations' `end_user_erased` signal, in the erasing transaction)."""

from __future__ import annotations

from billing import services as billing
from storyboards.models import Shot, ShotStatus, Storyboard, StoryboardStatus

ERASED_MESSAGE = "Stopped: the person it was made for was erased."


def storyboards_erase(*, end_user) -> list[str]:
    """Blank the shots' prompts and frames, stop what has not started (releasing its holds, charging nothing),
    and return the storage names of the frames, films and posters to delete."""
    boards = Storyboard.objects.select_for_update().filter(end_user=end_user)
    files = [name for board in boards for name in (board.film.name, board.poster.name) if name]
    shots = Shot.objects.filter(storyboard__end_user=end_user)
    files += [name for name in shots.values_list("image", flat=True) if name]
    for shot in shots.filter(status=ShotStatus.WAITING):
        billing.spend_release(source_id=shot.planned_generation_id, reason="storyboard shot stopped: end user erased")
    shots.filter(status=ShotStatus.WAITING).update(status=ShotStatus.STOPPED, error_code="end_user_erased")
    shots.update(prompt="", image="", image_url="", error_message="")
    boards.filter(status__in=[StoryboardStatus.RUNNING, StoryboardStatus.STITCHING]).update(
        status=StoryboardStatus.FAILED, error_code="end_user_erased", error_message=ERASED_MESSAGE
    )
    boards.update(title="", film="", poster="")
    boards.exclude(error_code="end_user_erased").update(error_message="")
    return files
