"""Usage export benchmark: stream 10,000 then 100,000 ledger rows through GET /api/v1/usage/export.csv.

RUN_BENCH=1 .venv/bin/python -m pytest tests/bench/bench_usage_export.py -s
Prints the peak Python memory (tracemalloc) of each download and their ratio: a streamed export uses flat
memory, so the ratio stays near 1 while the rows grow tenfold. For scale it also prints the peak of building the
same 100,000-row CSV in one string (what a non-streamed answer would hold).
Knobs: BENCH_EXPORT_SIZES (default "10000,100000"). BENCH_POSTGRES_URL is not read: run the whole file with
DATABASE_URL=postgres://... for PostgreSQL (a server-side cursor there; chunked fetches on SQLite).
"""

from __future__ import annotations

import os
import time
import tracemalloc
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as account_services
from billing import prices, selectors, services, usage_export
from billing.models import UsageRecord
from tests.factories import OrganizationFactory

SIZES = [int(size) for size in os.environ.get("BENCH_EXPORT_SIZES", "10000,100000").split(",")]


def _seed(organization, count: int) -> None:
    """Usage records as `usage_record_create` leaves them, bulk-inserted (seeding is not what we measure)."""
    now = timezone.now()
    start = now.replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    span_s = max(1, int((now - start).total_seconds()) - 1)
    price_list = selectors.price_list()
    resolutions = list(price_list)
    end_users = [
        account_services.end_user_for_partner(organization=organization, external_id=f"customer-{n}") for n in range(50)
    ]
    batch = []
    for index in range(count):
        resolution = resolutions[index % 3]
        seconds = 4 + index % 12
        batch.append(
            UsageRecord(
                organization=organization,
                end_user=end_users[index % len(end_users)],
                source_id=uuid.uuid4(),
                resolution=resolution,
                seconds=seconds,
                unit_price=price_list[resolution],
                amount=prices.amount(unit_price=price_list[resolution], seconds=seconds),
                provider_cost=prices.provider_cost(resolution=resolution, seconds=seconds),
                period=services.period_start(now),
                completed_at=start + timedelta(seconds=index % span_s),
            )
        )
        if len(batch) == 5000:
            UsageRecord.objects.bulk_create(batch)
            batch = []
    UsageRecord.objects.bulk_create(batch)


def _stream(client: APIClient) -> tuple[int, int, int, float]:
    """Downloads this month's CSV; returns (rows, bytes, peak traced bytes, seconds)."""
    tracemalloc.start()
    tracemalloc.reset_peak()
    began = time.perf_counter()
    response = client.get("/api/v1/usage/export.csv")
    assert response.status_code == 200 and response.streaming
    size = lines = 0
    for chunk in response.streaming_content:
        size += len(chunk)
        lines += chunk.count(b"\n")
    response.close()
    elapsed = time.perf_counter() - began
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return lines - 1, size, peak, elapsed


@pytest.mark.bench
@pytest.mark.django_db(transaction=True)
def test_usage_export_memory_is_flat():
    clients = {}
    for count in SIZES:
        organization = OrganizationFactory()
        _seed(organization, count)
        _, secret = account_services.api_key_create(organization=organization, name="bench")
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        clients[count] = (organization, client)

    _stream(clients[SIZES[0]][1])  # warm-up: imports, caches, the first key lookup
    print(f"\nusage export on {connection.vendor}, chunk {usage_export.CHUNK_SIZE} rows")
    peaks = {}
    for count in SIZES:
        rows, size, peak, elapsed = _stream(clients[count][1])
        assert rows == count
        peaks[count] = peak
        print(
            f"  {count:>7} rows: {size / 1e6:6.1f} MB of CSV in {elapsed:5.1f} s ({count / elapsed:,.0f} rows/s), "
            f"peak Python memory {peak / 1024:,.0f} KiB"
        )
    smallest, largest = SIZES[0], SIZES[-1]
    print(f"  peak ratio {largest} / {smallest} rows: {peaks[largest] / peaks[smallest]:.2f} (flat memory: ~1)")

    organization = clients[largest][0]
    tracemalloc.start()
    records = selectors.usage_export_records(
        organization=organization, start=timezone.now().replace(day=1).date(), end=timezone.now() + timedelta(days=1)
    )
    whole = "".join(usage_export.usage_csv(list(records)))
    _, whole_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(
        f"  for scale, the same {largest} rows built in one string: peak {whole_peak / 1024:,.0f} KiB "
        f"({whole_peak / peaks[largest]:.0f}x the stream; {len(whole) / 1e6:.1f} MB)"
    )
