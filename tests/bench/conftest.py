"""Benchmarks print figures and are skipped in the normal suite: run them with `RUN_BENCH=1 pytest tests/bench -s`."""

import os

import pytest

BENCH_DIR = os.path.dirname(__file__)


def pytest_collection_modifyitems(config, items):
    if os.environ.get("RUN_BENCH") == "1":
        return
    skip = pytest.mark.skip(reason="benchmark: run with RUN_BENCH=1 pytest tests/bench -s")
    for item in items:
        if str(item.fspath).startswith(BENCH_DIR):
            item.add_marker(skip)
