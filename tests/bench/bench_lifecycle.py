"""Lifecycle benchmark: 200 generations from 3 organizations through a real stack (prints figures, asserts none).

RUN_BENCH=1 .venv/bin/python -m pytest tests/bench/bench_lifecycle.py -s
Knobs: BENCH_LATENCY_S (provider latency, default 6), BENCH_WORKERS (qcluster workers, default 4).
"""

from __future__ import annotations

import os
import statistics
import time

import pytest

from tests.stack import Stack, seed_generations, simulator_finish_times, wait_until_terminal

PLAN = [("Whale", 150), ("Minnow A", 25), ("Minnow B", 25)]
IN_FLIGHT_LIMIT = 10
CREATES_PER_MINUTE = 100

pytestmark = pytest.mark.django_db(transaction=True)


def ideal_makespan_s(count: int, latency_s: float) -> float:
    """Greedy start times under both provider limits together (optimal for identical jobs)."""
    starts: list[float] = []
    ends: list[float] = []
    for index in range(count):
        start = 0.0
        if index >= IN_FLIGHT_LIMIT:
            start = max(start, sorted(ends)[index - IN_FLIGHT_LIMIT])
        if index >= CREATES_PER_MINUTE:
            start = max(start, starts[index - CREATES_PER_MINUTE] + 60.0)
        starts.append(start)
        ends.append(start + latency_s)
    return max(ends)


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def run(tmp_path, *, webhooks: bool, latency_s: float, workers: int) -> dict:
    total = sum(count for _, count in PLAN)
    with Stack(
        tmp_path / ("on" if webhooks else "off"), latency_s=latency_s, webhooks=webhooks, workers=workers
    ) as stack:
        started = time.time()
        seed_generations(stack, PLAN, duration=4)
        rows = wait_until_terminal(
            stack, expected=total, timeout_s=60 + 4 * ideal_makespan_s(total, latency_s), interval_s=5
        )
        finish_at = simulator_finish_times(stack)
    succeeded = [row for row in rows if row["status"] == "succeeded"]
    first_created = min(row["created_at"] for row in rows)
    makespan = max(row["completed_at"] for row in rows) - first_created
    staleness = [
        row["completed_at"] - finish_at[row["prediction_id"]] for row in succeeded if row["prediction_id"] in finish_at
    ]
    completion_order = [row["org"] for row in sorted(rows, key=lambda row: row["completed_at"])]
    return {
        "makespan_s": makespan,
        "seed_s": max(row["created_at"] for row in rows) - started,
        "succeeded": len(succeeded),
        "failed": len(rows) - len(succeeded),
        "double_submitted": sum(1 for row in rows if row["creates"] - row["rate_limited"] > 1),
        "rate_limited": stack_429s(rows),
        "gets_per_generation": statistics.mean(row["gets"] for row in rows),
        "staleness_median_s": statistics.median(staleness),
        "staleness_p95_s": percentile(staleness, 0.95),
        "order": {org: [index + 1 for index, name in enumerate(completion_order) if name == org] for org, _ in PLAN},
    }


def stack_429s(rows: list[dict]) -> int:
    return sum(row["rate_limited"] for row in rows)


def test_lifecycle_benchmark(tmp_path):
    latency_s = float(os.environ.get("BENCH_LATENCY_S", "6"))
    workers = int(os.environ.get("BENCH_WORKERS", "4"))
    total = sum(count for _, count in PLAN)
    ideal = ideal_makespan_s(total, latency_s)
    print(f"\n=== lifecycle benchmark: {total} generations {PLAN}, provider latency {latency_s} s, {workers} workers")
    print(f"ideal makespan under 10 in flight + 100 creates/min: {ideal:.1f} s")
    for webhooks in (True, False):
        figures = run(tmp_path, webhooks=webhooks, latency_s=latency_s, workers=workers)
        label = "webhooks on " if webhooks else "webhooks off"
        print(
            f"[{label}] makespan {figures['makespan_s']:.1f} s (ideal/actual {ideal / figures['makespan_s']:.0%}, "
            f"creating took {figures['seed_s']:.1f} s), "
            f"succeeded {figures['succeeded']}, failed {figures['failed']}, "
            f"429s {figures['rate_limited']}, double-submitted {figures['double_submitted']}, "
            f"GETs/generation {figures['gets_per_generation']:.2f}, "
            f"staleness median {figures['staleness_median_s']:.2f} s p95 {figures['staleness_p95_s']:.2f} s"
        )
        for org, positions in figures["order"].items():
            print(
                f"    {org:9} completion positions: first {positions[0]}, median {statistics.median(positions):.0f}, "
                f"last {positions[-1]} of {total}"
            )
