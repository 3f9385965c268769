"""The videos page as a gallery: its filters (status, date, kind), read from the query string."""

from __future__ import annotations

from datetime import datetime, time, timedelta

from django import forms
from django.utils import timezone

from generations.models import Status

# What a video is. Grows with storyboards ("film") without changing the page.
KINDS = [("", "All kinds"), ("single", "Single videos"), ("variations", "Variations")]


class GalleryFilterForm(forms.Form):
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Status.choices])
    created_from = forms.DateField(required=False, label="From", widget=forms.DateInput(attrs={"type": "date"}))
    created_to = forms.DateField(required=False, label="To", widget=forms.DateInput(attrs={"type": "date"}))
    kind = forms.ChoiceField(required=False, choices=KINDS)

    def selector_filters(self) -> dict:
        """Keyword arguments for selectors.generation_list; an invalid field is simply not applied."""
        data = self.cleaned_data if self.is_valid() else {k: v for k, v in self.cleaned_data.items() if v}
        filters: dict = {}
        if data.get("status"):
            filters["status"] = data["status"]
        if data.get("kind"):
            filters["kind"] = data["kind"]
        if data.get("created_from"):
            filters["created_after"] = _start_of(data["created_from"])
        if data.get("created_to"):  # inclusive day: up to the start of the next one
            filters["created_before"] = _start_of(data["created_to"]) + timedelta(days=1)
        return filters

    def active(self) -> bool:
        return bool(self.is_valid() and any(self.cleaned_data.values()))


def _start_of(day) -> datetime:
    return datetime.combine(day, time.min, tzinfo=timezone.get_current_timezone())
