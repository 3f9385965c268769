"""The storyboard editor's form: shared options, and shot rows read from `shot_<n>_*` fields (n = 1..8)."""

from __future__ import annotations

from dataclasses import dataclass

from django import forms

from generations import catalog
from storyboards.models import MAX_SHOTS
from storyboards.services import ShotInput

DURATION_CHOICES = [(d, f"{d} s") for d in catalog.DURATIONS[1:]] + [(catalog.AUTO, "Auto (4–15 s)")]
DEFAULT_ROWS = 3


class StoryboardOptionsForm(forms.Form):
    title = forms.CharField(label="Title (optional)", required=False, max_length=200)
    resolution = forms.ChoiceField(label="Resolution", initial=catalog.DEFAULT_RESOLUTION)
    aspect_ratio = forms.ChoiceField(
        label="Aspect ratio", initial="16:9", choices=[(r, r) for r in catalog.ASPECT_RATIOS if r != "auto"]
    )
    generate_audio = forms.BooleanField(label="Generate audio", required=False, initial=True)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["resolution"].choices = [(r, r) for r in catalog.allowed_resolutions()]


@dataclass
class ShotRow:
    """One row of the editor as shown again after a refused submit (files are not kept by browsers)."""

    number: int
    prompt: str = ""
    duration: str = "5"
    continue_previous: bool = False
    errors: list[str] | None = None


def shot_count(data) -> int:
    try:
        count = int(data.get("shot_count", DEFAULT_ROWS))
    except (TypeError, ValueError):
        count = DEFAULT_ROWS
    return max(1, min(MAX_SHOTS, count))


def rows_from(data) -> list[ShotRow]:
    return [
        ShotRow(
            number=n,
            prompt=data.get(f"shot_{n}_prompt", ""),
            duration=data.get(f"shot_{n}_duration", "5"),
            continue_previous=bool(data.get(f"shot_{n}_continue")),
        )
        for n in range(1, shot_count(data) + 1)
    ]


def default_rows() -> list[ShotRow]:
    return [ShotRow(number=n, continue_previous=n > 1) for n in range(1, DEFAULT_ROWS + 1)]


def shot_inputs(data, files) -> list[ShotInput]:
    return [
        ShotInput(
            prompt=row.prompt,
            duration=row.duration,
            continue_previous=row.continue_previous,
            image=None if row.continue_previous else files.get(f"shot_{row.number}_image"),
        )
        for row in rows_from(data)
    ]


def durations(data) -> list[str]:
    return [row.duration for row in rows_from(data)]
