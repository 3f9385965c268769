"""Fixtures of the project-wide tests: captured log output, rendered as production renders it."""

from __future__ import annotations

import io
import json
import logging

import pytest

from seedance_saas.observability import logs
from tests.generations.conftest import _eachlabs_isolated, simulator  # noqa: F401 -- the provider simulator
from tests.webhooks.conftest import receiver  # noqa: F401 -- a real HTTP receiver for partner webhooks


class CapturedLogs:
    def __init__(self, stream: io.StringIO):
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def lines(self) -> list[dict]:
        """Every line as parsed JSON: fails if any line is not one JSON object."""
        return [json.loads(line) for line in self.text.splitlines() if line.strip()]

    def events(self, event: str) -> list[dict]:
        return [line for line in self.lines() if line.get("event") == event]


@pytest.fixture
def json_logs():
    """Everything logged at DEBUG and above, through the production (JSON) formatter."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.formatter(json=True))
    root = logging.getLogger()
    previous_level = root.level
    root.addHandler(handler)
    root.setLevel(logging.DEBUG)
    try:
        yield CapturedLogs(stream)
    finally:
        root.removeHandler(handler)
        root.setLevel(previous_level)
