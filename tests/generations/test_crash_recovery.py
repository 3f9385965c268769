"""Losing a worker node costs seconds: two real `qcluster` nodes, one killed (SIGKILL) or stopped (SIGTERM)."""

from __future__ import annotations

import time

import pytest

from tests.generations.test_background import stack_options
from tests.stack import Stack, seed_generations, simulator_finish_times, wait_until_terminal

pytestmark = pytest.mark.django_db(transaction=True)


def wait_for(predicate, *, timeout_s: float, interval_s: float = 0.25):
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval_s)
    raise TimeoutError(f"not true after {timeout_s} s")


def other_holder(stack: Stack, node: str) -> str | None:
    holder = stack.node_holding_the_lease()
    return holder if holder != node else None


def assert_each_submitted_once(stack: Stack, rows: list[dict]) -> None:
    assert {row["status"] for row in rows} == {"succeeded"}, rows
    assert all(row["creates"] == 1 for row in rows), [row["creates"] for row in rows]
    assert len({row["prediction_id"] for row in rows}) == len(rows)
    assert len(simulator_finish_times(stack)) == len(rows)  # the provider saw each job once


def test_polling_and_dispatch_resume_within_10_s_after_sigkill_of_the_node_holding_the_lease(tmp_path):
    # Webhooks off: only the ticker's polls can finish these jobs, so they measure the ticker's recovery.
    with Stack(tmp_path, latency_s=6, webhooks=False, nodes=2, **stack_options()) as stack:
        leader = wait_for(stack.node_holding_the_lease, timeout_s=30)
        # 30 jobs, 10 at a time at the provider: the survivor has two more rounds to dispatch after the kill.
        created = seed_generations(stack, [("Alpha", 15), ("Beta", 15)], duration=4)
        time.sleep(1)
        stack.kill_node(leader)
        killed_at = time.time()
        # Each look at the lease starts a Django shell (about 2 s), so this bound is loose; the waits below are exact.
        survivor = wait_for(lambda: other_holder(stack, leader), timeout_s=20)
        rows = wait_until_terminal(stack, expected=len(created), timeout_s=120, interval_s=1)
        finish_at = simulator_finish_times(stack)
        assert_each_submitted_once(stack, rows)
    assert survivor != leader
    # Progress resumes: a job done at the provider after the kill reaches `succeeded` within 10 s of whichever
    # came last, its provider finishing or the kill.
    waits = [row["completed_at"] - max(finish_at[row["prediction_id"]], killed_at) for row in rows]
    print("seconds from provider done (or the node's loss) to succeeded:", sorted(round(w, 2) for w in waits))
    assert max(waits) <= 10, sorted(waits)
    # The queued half was dispatched by the survivor after the kill.
    assert any(row["submitted_at"] > killed_at for row in rows)


def test_sigterm_stops_a_node_within_10_s_and_its_jobs_finish_on_the_other_node(tmp_path):
    with Stack(tmp_path, latency_s=6, webhooks=True, nodes=2, **stack_options()) as stack:
        leader = wait_for(stack.node_holding_the_lease, timeout_s=30)
        created = seed_generations(stack, [("Alpha", 15), ("Beta", 15)], duration=4)
        time.sleep(1)  # jobs in flight, most still queued
        stopped_in_s = stack.stop_node(leader)
        assert stack.nodes[leader].returncode == 0, stack.log(leader)[-3000:]
        stopped_at = time.time()
        # The lease was handed back, not left to run out.
        survivor = wait_for(lambda: other_holder(stack, leader), timeout_s=5)
        stack.start_node(leader)  # a rolling restart: the node comes back
        rows = wait_until_terminal(stack, expected=len(created), timeout_s=120, interval_s=1)
        finish_at = simulator_finish_times(stack)
        assert_each_submitted_once(stack, rows)
    print(f"SIGTERM to exit: {stopped_in_s:.2f} s")
    assert stopped_in_s < 10, stopped_in_s
    assert survivor != leader
    waits = [row["completed_at"] - max(finish_at[row["prediction_id"]], stopped_at) for row in rows]
    print("seconds from provider done (or the node's loss) to succeeded:", sorted(round(w, 2) for w in waits))
    assert max(waits) <= 10, sorted(waits)
