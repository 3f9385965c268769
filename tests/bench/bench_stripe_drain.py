"""Stripe drain benchmark: send 1,000 then 10,000 unreported usage records to the fake Stripe through the real SDK.

RUN_BENCH=1 .venv/bin/python -m pytest tests/bench/bench_stripe_drain.py -s
Prints events per second for each size and whether the cost per event stays flat (linear growth).
Knobs: BENCH_DRAIN_SIZES (default "1000,10000"), BENCH_DRAIN_WORKERS (drain threads to try, default "1,8").
"""

from __future__ import annotations

import contextlib
import io
import logging
import os
import subprocess
import sys
import time
import uuid
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core.management import call_command
from django.db import connection
from django.utils import timezone

from billing import prices, selectors, services
from billing.models import BillingAccount, ReportState, Standing, UsageRecord
from billing.stripe import metering, reconcile
from tests.factories import OrganizationFactory

SIZES = [int(size) for size in os.environ.get("BENCH_DRAIN_SIZES", "1000,10000").split(",")]
# SQLite's in-memory test database locks whole tables across threads, so threads are measured on PostgreSQL only.
WORKERS = [
    int(n)
    for n in os.environ.get("BENCH_DRAIN_WORKERS", "1,8" if connection.vendor == "postgresql" else "1").split(",")
]
ORGANIZATIONS = 10


def _seed(organizations, count: int) -> None:
    """Pending records as `usage_record_create` leaves them (bulk-inserted: seeding is not what we measure)."""
    now = timezone.now()
    price_list = selectors.price_list()
    resolutions = list(price_list)
    rows = []
    for index in range(count):
        organization = organizations[index % len(organizations)]
        resolution = resolutions[index % 3]
        seconds = 4 + index % 12
        rows.append(
            UsageRecord(
                organization=organization,
                source_id=uuid.uuid4(),
                resolution=resolution,
                seconds=seconds,
                unit_price=price_list[resolution],
                amount=prices.amount(unit_price=price_list[resolution], seconds=seconds),
                provider_cost=prices.provider_cost(resolution=resolution, seconds=seconds),
                period=services.period_start(now),
                completed_at=now - timedelta(seconds=index % 3600),
                report_state=ReportState.PENDING,
            )
        )
    UsageRecord.objects.bulk_create(rows, batch_size=2000)


@contextlib.contextmanager
def fake_stripe_process():
    """The fake Stripe in its own process, so it does not share the drain's interpreter lock."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.fakes.stripe_server"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=django_settings.BASE_DIR,
    )
    try:
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.mark.bench
@pytest.mark.django_db(transaction=True)
def test_drain_throughput(settings, capsys, django_capture_on_commit_callbacks):
    logging.getLogger("stripe").setLevel(logging.WARNING)
    results = []
    with fake_stripe_process() as url:
        settings.STRIPE_API_KEY = "sk_test_bench"
        settings.STRIPE_API_BASE = url
        call_command("stripe_sync", stdout=io.StringIO())
        for workers in WORKERS:
            for size in SIZES:
                UsageRecord.objects.all().delete()
                # Fresh organizations (fresh Stripe customers) per run, so Stripe's totals are this run's alone.
                with django_capture_on_commit_callbacks(execute=True):
                    organizations = [OrganizationFactory() for _ in range(ORGANIZATIONS)]
                BillingAccount.objects.filter(organization__in=organizations).update(standing=Standing.ACTIVE)
                _seed(organizations, size)
                started = time.perf_counter()
                sent = metering.usage_report_drain(batch_size=500, time_budget_s=3600, workers=workers)
                elapsed = time.perf_counter() - started
                assert sent == size
                assert not UsageRecord.objects.filter(report_state=ReportState.PENDING).exists()
                differences, _ = reconcile.billing_reconcile(since=timezone.now().date() - timedelta(days=1))
                # Stripe holds every second exactly once (the bench's accounts have no subscriptions, so reconcile
                # also, rightly, says no invoice bills their usage: only the meters are compared here).
                assert [d for d in differences if d.subject.startswith("seedance_seconds_")] == []
                BillingAccount.objects.filter(organization__in=organizations).update(stripe_customer_id="")
                results.append((workers, size, elapsed))
    with capsys.disabled():
        print()
        for workers, size, elapsed in results:
            rate = size / elapsed
            figures = f"{elapsed:7.2f} s, {rate:6.0f} events/s, {1000 / rate:.2f} ms/event"
            print(f"{workers} thread(s), {size:>6} records: {figures}")
        for workers in WORKERS:
            runs = [(size, elapsed) for w, size, elapsed in results if w == workers]
            if len(runs) >= 2:
                (small, t_small), (large, t_large) = runs[0], runs[-1]
                ratio = (t_large / large) / (t_small / small)
                verdict = "linear" if ratio < 1.5 else "super-linear"
                print(f"{workers} thread(s): cost per event at {large} vs {small}: x{ratio:.2f} ({verdict})")
