"""Partner API benchmark: gunicorn on 127.0.0.1, 10,000 generations in the database (prints figures).

RUN_BENCH=1 .venv/bin/python -m pytest tests/bench/bench_api.py -s
Knobs: BENCH_CONCURRENCY (client threads, default 8), BENCH_SCALE (request-count multiplier, default 1),
BENCH_POSTGRES_URL (e.g. postgres://postgres@127.0.0.1:5432/postgres: a fresh database there instead of SQLite),
BENCH_REDIS_URL (e.g. redis://127.0.0.1:6379/0: the Redis cache, so throttle counters leave the database).
Each endpoint is measured in the same run as a bare Django view returning a fixed JSON body; the planner's
statistics are refreshed (ANALYZE) after seeding, before anything is measured. Goals (issue 14) on PostgreSQL +
Redis: detail >= 0.5 of the bare view's requests per second, list (page of 20) >= 0.35, create >= 0.2.
SQL queries per request are counted in-process (the test database and cache of this pytest run: run it with
DATABASE_URL and REDIS_URL to count on PostgreSQL + Redis), with the key lookup cached and not.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from decimal import Decimal

import httpx
import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.stack import Stack

CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "8"))
SCALE = float(os.environ.get("BENCH_SCALE", "1"))
GENERATIONS = 10_000
GOALS = {"GET /generations/": 0.35, "GET /generations/{id}/": 0.5, "POST /generations/": 0.2}

SEED = """
import secrets
from accounts import services as accounts
from accounts.models import User
from generations.models import Generation

owner = User.objects.create_user(email="bench@stack.test", password="pw-bench-1")
organization = accounts.organization_create(name="Bench", owner=owner)
_, secret = accounts.api_key_create(organization=organization, name="bench")
users = [accounts.end_user_for_partner(organization=organization, external_id=f"user-{{n}}") for n in range(50)]
# Terminal only: queued rows would keep the worker busy dispatching during the measurement.
statuses = ["succeeded"] * 8 + ["failed", "canceled"]
rows = [
    Generation(
        organization=organization, end_user=users[n % 50], prompt="a slow pan across a harbour",
        resolution="720p", duration="5", aspect_ratio="16:9", image_url="https://partner.example/f.png",
        status=statuses[n % 10], webhook_secret=secrets.token_urlsafe(24), estimated_cost="1.5120",
        cost="1.5120" if n % 10 < 8 else None,
    )
    for n in range({count})
]
Generation.objects.bulk_create(rows, batch_size=1000)
emit({{"secret": secret, "ids": [str(g.pk) for g in rows[::50]]}})
"""

CREATE_BODY = {
    "prompt": "a slow pan across a harbour",
    "image_url": "https://partner.example/frames/first.png",
    "resolution": "480p",
    "duration": "5",
    "end_user_id": "bench-creator",
}


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def load(base_url: str, *, requests: int, call) -> dict:
    """`requests` calls spread over CONCURRENCY threads (closed loop); latency in ms."""
    latencies: list[float] = []
    statuses: dict[int, int] = {}
    lock = threading.Lock()
    counter = iter(range(requests))

    def worker():
        with httpx.Client(base_url=base_url, timeout=30) as client:
            while True:
                with lock:
                    n = next(counter, None)
                if n is None:
                    return
                started = time.perf_counter()
                status = call(client, n)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    statuses[status] = statuses.get(status, 0) + 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(CONCURRENCY)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    wall = time.perf_counter() - started
    return {
        "rps": requests / wall,
        "p50": statistics.median(latencies),
        "p99": percentile(latencies, 0.99),
        "statuses": statuses,
    }


@pytest.mark.django_db(transaction=True)
def test_api_throughput_against_a_bare_view(tmp_path):
    env = {
        "DJANGO_SETTINGS_MODULE": "tests.bench.bench_settings",
        "DEBUG": "false",
        "SECRET_KEY": "bench-only-secret-key-0123456789abcdefghijklmnopqrstuvwxyz",
        "SECURE_SSL_REDIRECT": "false",
        "API_READ_RATE_PER_MINUTE": "100000000",
        "API_CREATE_RATE_PER_MINUTE": "100000000",
    }
    postgres_url, redis_url = os.environ.get("BENCH_POSTGRES_URL"), os.environ.get("BENCH_REDIS_URL")
    stack = Stack(
        tmp_path,
        latency_s=600,
        webhooks=False,
        workers=1,
        extra_env=env,
        postgres_url=postgres_url,
        redis_url=redis_url,
    )
    with stack:
        seeded = stack.run_python(SEED.format(count=GENERATIONS))
        # Fresh planner statistics for the seeded tables (as autovacuum would have them on a live database).
        stack.run_python("from django.db import connection\nconnection.cursor().execute('ANALYZE')\nemit(1)")
        auth = {"Authorization": f"Bearer {seeded['secret']}"}
        ids = seeded["ids"]
        base = f"http://127.0.0.1:{stack.web_port}"
        n = lambda count: max(CONCURRENCY, int(count * SCALE))  # noqa: E731
        load(base, requests=n(100), call=lambda c, i: c.get("/bench/bare/").status_code)  # warm-up
        load(base, requests=n(100), call=lambda c, i: c.get("/api/v1/generations/", headers=auth).status_code)
        results = {
            "bare view": load(base, requests=n(2000), call=lambda c, i: c.get("/bench/bare/").status_code),
            "GET /generations/": load(
                base,
                requests=n(1000),
                call=lambda c, i: c.get("/api/v1/generations/?page_size=20", headers=auth).status_code,
            ),
            "GET /generations/{id}/": load(
                base,
                requests=n(2000),
                call=lambda c, i: c.get(f"/api/v1/generations/{ids[i % len(ids)]}/", headers=auth).status_code,
            ),
            "POST /generations/": load(
                base,
                requests=n(300),
                call=lambda c, i: c.post("/api/v1/generations/", json=CREATE_BODY, headers=auth).status_code,
            ),
        }
    bare = results["bare view"]["rps"]
    backend = f"{'PostgreSQL' if postgres_url else 'SQLite'}, {'Redis' if redis_url else 'database'} cache"
    print(
        f"\nPartner API on gunicorn (2 workers x 4 threads), {GENERATIONS} generations, "
        f"{CONCURRENCY} clients, {backend}"
    )
    print(f"{'endpoint':<26}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'vs bare':>9}{'goal':>7}  statuses")
    for name, row in results.items():
        ratio = row["rps"] / bare
        goal = GOALS.get(name)
        verdict = "" if goal is None else f"{goal:>5.2f}{'ok' if ratio >= goal else '!!'}"
        print(
            f"{name:<26}{row['rps']:>9.0f}{row['p50']:>9.1f}{row['p99']:>9.1f}{ratio:>9.2f}{verdict:>7}  "
            f"{row['statuses']}"
        )
    for name, row in results.items():
        assert set(row["statuses"]) <= {200, 201}, (name, row["statuses"])


def test_sql_queries_per_request_do_not_grow_with_the_page_size(api_client, organization, settings):
    from django.core.cache import cache

    from accounts import services as accounts
    from generations.models import Generation

    settings.TRIAL_CREDIT_USD = Decimal(1000)
    end_users = [accounts.end_user_for_partner(organization=organization, external_id=f"u{n}") for n in range(10)]
    Generation.objects.bulk_create(
        Generation(
            organization=organization,
            end_user=end_users[n % 10],
            prompt="p",
            resolution="720p",
            duration="5",
            aspect_ratio="auto",
            image_url="https://partner.example/f.png",
            webhook_secret=f"s{n}",
        )
        for n in range(120)
    )
    one = str(Generation.objects.first().pk)
    api_client.get("/api/v1/generations/")  # the key's last_used_at and the throttle window start

    def count(call, *, cold: bool = False) -> tuple[int, int]:
        """(SQL queries, of which the database cache's own); `cold`: the key lookup not cached."""
        if cold:
            cache.clear()
        with CaptureQueriesContext(connection) as queries:
            assert call().status_code in (200, 201)
        own = [q for q in queries.captured_queries if "cache_table" in q["sql"]]
        return len(queries), len(own)

    rows = {f"GET /generations/?page_size={size}": count(
        lambda size=size: api_client.get(f"/api/v1/generations/?page_size={size}")
    ) for size in (5, 20, 100)}  # fmt: skip
    rows["GET /generations/?page_size=20, key not cached"] = count(
        lambda: api_client.get("/api/v1/generations/?page_size=20"), cold=True
    )
    rows["GET /generations/{id}/"] = count(lambda: api_client.get(f"/api/v1/generations/{one}/"))
    rows["GET /generations/{id}/, key not cached"] = count(
        lambda: api_client.get(f"/api/v1/generations/{one}/"), cold=True
    )
    rows["POST /generations/"] = count(lambda: api_client.post("/api/v1/generations/", CREATE_BODY, format="json"))
    cache_name = type(cache).__name__
    print(f"\nSQL queries per request ({connection.vendor} test database, {cache_name}; in brackets: the cache's own)")
    for name, (queries, own) in rows.items():
        print(f"{name:<50}{queries:>4}  ({own})")
    sizes = [rows[f"GET /generations/?page_size={size}"] for size in (5, 20, 100)]
    assert len(set(sizes)) == 1, sizes
