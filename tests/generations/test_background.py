"""The background path for real: gunicorn, a qcluster and the standalone simulator over HTTP."""

from __future__ import annotations

import os

import pytest
from django.db import connection

from tests.stack import Stack, seed_generations, wait_until_terminal

pytestmark = pytest.mark.django_db(transaction=True)


def stack_options() -> dict:
    """Run the stack on the same kind of database (and broker) as the suite."""
    if connection.vendor == "postgresql":
        maintenance_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
        return {"postgres_url": maintenance_url, "redis_url": os.environ.get("REDIS_URL")}
    return {}


@pytest.mark.parametrize("webhooks", [True, False], ids=["webhooks", "polling-only"])
def test_generations_finish_in_the_background(tmp_path, webhooks):
    with Stack(tmp_path, latency_s=2, webhooks=webhooks, **stack_options()) as stack:
        created = seed_generations(stack, [("Big", 4), ("Small", 1)], duration=4)
        rows = wait_until_terminal(stack, expected=len(created), timeout_s=150)
    assert {row["status"] for row in rows} == {"succeeded"}, rows
    assert all(row["video"] and row["creates"] == 1 for row in rows)
    assert len({row["prediction_id"] for row in rows}) == len(created)
    if webhooks:
        assert all(row["webhooks"] >= 1 for row in rows)
    else:
        assert all(row["webhooks"] == 0 and row["gets"] >= 1 for row in rows)
