"""Partner reads do constant, minimal SQL; a cached API key is refused on the very next request after revocation.

Queries are counted without the cache's own (`cache_table`: the database cache on a fresh machine; with
REDIS_URL the cache is Redis and issues no SQL at all), so the figures hold on SQLite and PostgreSQL + Redis.
"""

import hashlib
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from accounts import services as accounts
from generations import queue_estimates
from generations.models import Generation, Status
from tests.api.conftest import assert_error


def _app_queries(queries: CaptureQueriesContext) -> list[str]:
    # The database cache also wraps its writes in savepoints.
    return [q["sql"] for q in queries.captured_queries if "cache_table" not in q["sql"] and "SAVEPOINT" not in q["sql"]]


def _count(call) -> tuple[int, list[str]]:
    with CaptureQueriesContext(connection) as queries:
        response = call()
    assert response.status_code == 200, response.content
    sql = _app_queries(queries)
    return len(sql), sql


def _make(organization, *, count: int, rich: bool) -> list[Generation]:
    """`rich`: every row with its own end user, stored frames and video, an error and a retry_of (the worst page)."""
    end_users = [accounts.end_user_for_partner(organization=organization, external_id=f"u{n}") for n in range(count)]
    first = Generation.objects.create(
        organization=organization,
        end_user=end_users[0],
        prompt="p",
        resolution="720p",
        duration="5",
        aspect_ratio="auto",
        image_url="https://partner.example/f.png",
        webhook_secret="first",
    )
    rows = [
        Generation(
            organization=organization,
            end_user=end_users[n if rich else 0],
            prompt="p",
            resolution="720p",
            duration="5",
            aspect_ratio="auto",
            image_url="" if rich else "https://partner.example/f.png",
            image=f"generations/inputs/{n}.png" if rich else "",
            end_image=f"generations/inputs/{n}-end.png" if rich else "",
            video=f"generations/videos/{n}.mp4" if rich else "",
            status=Status.FAILED if rich else Status.QUEUED,
            error_code="provider_error" if rich else "",
            error_message="it broke" if rich else "",
            retry_of=first if rich else None,
            duration_seconds=Decimal("5.000") if rich else None,
            cost=Decimal("1.5120") if rich else None,
            completed_at=timezone.now() if rich else None,
            webhook_secret=f"s-{rich}-{n}",
        )
        for n in range(count)
    ]
    return Generation.objects.bulk_create(rows)


@pytest.mark.parametrize("rich", [False, True], ids=["plain rows", "rows with files, errors, retries"])
def test_detail_and_a_list_page_of_20_take_one_query_when_warm_and_three_when_cold(
    api_client, organization, rich, settings
):
    settings.API_CONCURRENCY_COUNT_CACHE_S = 600  # the rate-limit fields' count stays cached however slow the run
    settings.GENERATION_ETA_CACHE_S = 600  # the queue estimates: one cached simulation (tests/generations cover it)
    rows = _make(organization, count=25, rich=rich)
    one = rows[-1].pk
    assert api_client.get("/api/v1/generations/").status_code == 200  # last_used_at written, the key cached

    warm_list, sql = _count(lambda: api_client.get("/api/v1/generations/?page_size=20"))
    assert warm_list == 1, sql
    assert "COUNT(" not in sql[0].upper()
    assert "webhook_secret" not in sql[0]  # only what the representation shows
    warm_detail, sql = _count(lambda: api_client.get(f"/api/v1/generations/{one}/"))
    assert warm_detail == 1, sql

    cache.clear()  # neither the key lookup nor the rate-limit fields' count of unfinished generations is cached
    queue_estimates.queue_estimates()  # the estimates' own cache, warmed again: not what this test counts
    cold_list, sql = _count(lambda: api_client.get("/api/v1/generations/?page_size=20"))
    assert cold_list == 3, sql
    assert "accounts_apikey" in sql[0]
    cache.clear()
    queue_estimates.queue_estimates()
    cold_detail, sql = _count(lambda: api_client.get(f"/api/v1/generations/{one}/"))
    assert cold_detail == 3, sql


def test_queries_do_not_grow_with_the_page_size_or_the_next_page(api_client, organization, settings):
    settings.GENERATION_ETA_CACHE_S = 600
    _make(organization, count=60, rich=True)
    api_client.get("/api/v1/generations/")
    queue_estimates.queue_estimates()  # one cached simulation for the queued row (counted in tests/generations)
    counts = {}
    for size in (1, 20, 100):
        counts[size], _ = _count(lambda size=size: api_client.get(f"/api/v1/generations/?page_size={size}"))
    page = api_client.get("/api/v1/generations/?page_size=20").json()
    counts["next"], _ = _count(lambda: api_client.get(page["next"]))
    assert set(counts.values()) == {1}, counts


def test_a_revoked_key_is_refused_on_the_very_next_request_while_its_lookup_is_cached(
    api_client, api_key, browser_client, django_capture_on_commit_callbacks
):
    assert api_client.get("/api/v1/generations/").status_code == 200
    cached, _ = _count(lambda: api_client.get("/api/v1/generations/"))
    assert cached == 1  # the key came from the cache

    with django_capture_on_commit_callbacks(execute=True):
        response = browser_client.post(f"/app/developers/keys/{api_key.pk}/revoke/")
    assert response.status_code == 302

    assert_error(api_client.get("/api/v1/generations/"), 401, "unauthenticated")


def test_a_deleted_key_is_refused_on_the_very_next_request(api_client, api_key, django_capture_on_commit_callbacks):
    assert api_client.get("/api/v1/generations/").status_code == 200
    with django_capture_on_commit_callbacks(execute=True):
        api_key.delete()  # an operator's delete in the admin, or its organization's deletion
    assert_error(api_client.get("/api/v1/generations/"), 401, "unauthenticated")


def test_last_used_at_is_still_kept_with_the_key_cached(api_client, api_key):
    api_client.get("/api/v1/generations/")
    api_key.refresh_from_db()
    assert api_key.last_used_at is not None
    first = api_key.last_used_at
    api_client.get("/api/v1/generations/")
    api_key.refresh_from_db()
    assert api_key.last_used_at == first  # at most one write a minute


def test_a_lookup_that_raced_the_revocation_cannot_put_the_key_back_in_the_cache(
    api_key, django_capture_on_commit_callbacks
):
    from accounts import api_key_cache
    from accounts.models import ApiKey

    def load_then_revoke(secret_hash):
        key = ApiKey.objects.select_related("organization").get(secret_hash=secret_hash)  # read before the revoke
        with django_capture_on_commit_callbacks(execute=True):
            accounts.api_key_revoke(api_key=ApiKey.objects.get(pk=key.pk))
        return key

    secret_hash = hashlib.sha256(api_key.secret.encode()).hexdigest()
    assert api_key_cache.cached_key(secret_hash, load=load_then_revoke) is not None  # that one request was earlier
    assert accounts.api_key_authenticate(secret=api_key.secret) is None


@pytest.mark.postgres
def test_a_list_page_reads_the_organization_created_at_id_index_in_its_order(organization):
    from django.db import connection

    from generations import selectors
    from generations.representation import PAYLOAD_FIELDS

    _make(organization, count=30, rich=False)
    page = selectors.generation_list(organization=organization, only=PAYLOAD_FIELDS)[:21]
    with connection.cursor() as cursor:
        cursor.execute("SET LOCAL enable_seqscan = off")  # a small table: make the planner show its index choice
    plan = page.explain()
    assert "gen_org_created_id_idx" in plan, plan
    assert "Sort" not in plan.split("gen_org_created_id_idx")[0], plan  # the index gives the order: no sort step
