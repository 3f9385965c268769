"""GET /api/v1/usage/export.csv and the billing page's "Download CSV": one row per ledger record, streamed,
adding up to /api/v1/usage/ exactly, tenant-scoped, safe to open in a spreadsheet."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone
from rest_framework.test import APIClient

from accounts import services as account_services
from billing import services as billing_services
from billing.models import BillingAccount, Standing, UsageRecord
from billing.usage_export import COLUMNS, text_cell
from tests.api.conftest import assert_error

EXPORT = "/api/v1/usage/export.csv"


def bill(organization, end_user, *, resolution="720p", duration=4, completed_at=None):
    """A succeeded job's usage record, made the way the lifecycle makes it (authorize, then settle)."""
    source_id = uuid.uuid4()
    billing_services.spend_authorize(
        organization=organization, end_user=end_user, source_id=source_id, resolution=resolution, duration=duration
    )
    return billing_services.usage_record_create(
        source_id=source_id, measured_seconds=None, completed_at=completed_at or timezone.now()
    )


def read_csv(response) -> list[dict]:
    assert response.status_code == 200, response.content
    assert response.streaming and response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="usage-')
    text = b"".join(response.streaming_content).decode()
    rows = list(csv.reader(io.StringIO(text)))
    assert rows[0] == COLUMNS
    return [dict(zip(COLUMNS, row, strict=True)) for row in rows[1:]]


@pytest.fixture
def other_client(other_organization):
    _, secret = account_services.api_key_create(organization=other_organization, name="other key")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


@pytest.fixture(autouse=True)
def subscribed(organization):
    billing_services.billing_account_get(organization=organization)
    BillingAccount.objects.filter(organization=organization).update(standing=Standing.ACTIVE)


@pytest.fixture
def ledger(organization, other_organization):
    """Amounts that do not end on a cent (7 s at 480p is $0.9884), a partial refund, last month, another tenant."""
    alice = account_services.end_user_for_partner(organization=organization, external_id="alice")
    bob = account_services.end_user_for_partner(organization=organization, external_id="bob")
    records = [bill(organization, alice, duration=4)] + [
        bill(organization, bob, resolution="480p", duration=7) for _ in range(3)
    ]
    refund = billing_services.usage_refund(
        usage_record=records[1], amount=Decimal("0.3333"), reason="customer complaint", actor=None
    )
    old = bill(organization, alice, duration=4, completed_at=timezone.now() - timedelta(days=45))
    stranger = account_services.end_user_for_partner(organization=other_organization, external_id="alice")
    foreign = bill(other_organization, stranger, duration=5)
    return {"records": records, "refund": refund, "old": old, "foreign": foreign}


def test_the_cost_column_adds_up_to_the_usage_endpoints_total_exactly(api_client, ledger):
    today = timezone.now().date()
    start = today.replace(day=1)
    query = f"?from={start}&to={today}"
    rows = read_csv(api_client.get(EXPORT + query))
    usage = api_client.get("/api/v1/usage/" + query).json()

    csv_total = sum((Decimal(row["cost"]) for row in rows), Decimal("0"))
    assert csv_total == Decimal(usage["total_cost"]) == Decimal("3.8415")
    assert csv_total.quantize(Decimal("0.01")) == Decimal(usage["total_cost"]).quantize(Decimal("0.01"))
    # Rounding each row to the cent first would not add up: 1.21 + 3 x 0.99 - 0.33 = 3.85, not 3.84.
    assert sum(Decimal(r["cost"]).quantize(Decimal("0.01")) for r in rows) != csv_total.quantize(Decimal("0.01"))
    assert sum(int(row["seconds"]) for row in rows) == usage["total_seconds"]

    records, refund = ledger["records"], ledger["refund"]
    assert [row["generation_id"] for row in rows] == [str(r.source_id) for r in records] + [str(records[1].source_id)]
    first = rows[0]
    assert first == {
        "time": records[0].completed_at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "generation_id": str(records[0].source_id),
        "end_user_id": "alice",
        "resolution": "720p",
        "seconds": "4",
        "unit_price": "0.3024",
        "cost": "1.2096",
        "kind": "usage",
    }
    assert rows[1]["end_user_id"] == "bob" and rows[1]["cost"] == "0.9884" and rows[1]["unit_price"] == "0.1412"
    assert rows[-1]["kind"] == "refund" and rows[-1]["cost"] == "-0.3333" and refund.amount == Decimal("-0.3333")


def test_the_range_is_whole_utc_days_and_defaults_to_this_month(api_client, organization, ledger):
    old = ledger["old"]
    day = old.completed_at.date()
    [row] = read_csv(api_client.get(f"{EXPORT}?from={day}&to={day}"))
    assert row["generation_id"] == str(old.source_id)
    assert read_csv(api_client.get(f"{EXPORT}?from={day + timedelta(days=1)}&to={day + timedelta(days=2)}")) == []
    this_month = read_csv(api_client.get(EXPORT))
    assert str(old.source_id) not in {row["generation_id"] for row in this_month} and len(this_month) == 5


def test_another_organizations_rows_never_appear(api_client, other_client, ledger):
    today = timezone.now().date()
    query = f"?from={today - timedelta(days=60)}&to={today}"
    mine = {row["generation_id"] for row in read_csv(api_client.get(EXPORT + query))}
    theirs = read_csv(other_client.get(EXPORT + query))
    assert str(ledger["foreign"].source_id) not in mine
    assert [row["generation_id"] for row in theirs] == [str(ledger["foreign"].source_id)]


@pytest.mark.parametrize(
    "query, field",
    [
        ("from=yesterday", "from"),
        ("to=2026-13-01", "to"),
        ("from=2026-02-01&to=2026-01-01", "to"),
        ("from=2020-01-01&to=2026-01-01", "to"),
        ("from=01/02/2026", "from"),
    ],
)
def test_bad_dates_answer_a_clear_400(api_client, query, field):
    error = assert_error(api_client.get(f"{EXPORT}?{query}"), 400, "invalid_input")
    assert field in error["fields"]
    # A client asking for CSV still gets the JSON error, never a 406.
    assert_error(api_client.get(f"{EXPORT}?{query}", HTTP_ACCEPT="text/csv"), 400, "invalid_input")


def test_needs_a_key(client):
    assert_error(client.get(EXPORT), 401, "unauthenticated")


def test_accept_csv_is_served(api_client, ledger):
    assert len(read_csv(api_client.get(EXPORT, HTTP_ACCEPT="text/csv"))) == 5


def test_cells_that_a_spreadsheet_would_run_are_neutralised(api_client, organization):
    # The partner id rules refuse these today; rows from before them (or another path) must still be safe.
    for external_id in ['=HYPERLINK("http://evil","x")', "+41", "-1+2", "@SUM(A1)", "\tcmd", "plain-id"]:
        end_user = account_services._end_user_get_or_create(organization=organization, external_id=external_id)
        bill(organization, end_user, resolution="480p", duration=4)
    rows = read_csv(api_client.get(EXPORT))
    assert [row["end_user_id"] for row in rows] == [
        '\'=HYPERLINK("http://evil","x")',
        "'+41",
        "'-1+2",
        "'@SUM(A1)",
        "'\tcmd",
        "plain-id",
    ]
    assert text_cell("a=b") == "a=b" and text_cell(None) == ""


def test_the_export_reads_the_ledger_in_chunks_with_constant_queries(
    api_client, organization, django_assert_max_num_queries
):
    end_user = account_services.end_user_for_partner(organization=organization, external_id="bulk")
    now = timezone.now()
    UsageRecord.objects.bulk_create(
        UsageRecord(
            organization=organization,
            end_user=end_user,
            source_id=uuid.uuid4(),
            resolution="480p",
            seconds=4,
            unit_price=Decimal("0.1412"),
            amount=Decimal("0.5648"),
            provider_cost=Decimal("0.5648"),
            period=now.date().replace(day=1),
            completed_at=now - timedelta(seconds=i),
        )
        for i in range(5000)
    )
    response = api_client.get(EXPORT)
    with django_assert_max_num_queries(5):  # chunks of 2000 rows: a handful of fetches, not one per row
        rows = read_csv(response)
    assert len(rows) == 5000
    assert [row["time"] for row in rows] == sorted(row["time"] for row in rows)


def test_the_schema_documents_dates_and_the_csv_answer(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    operation = schema["paths"]["/api/v1/usage/export.csv"]["get"]
    parameters = {p["name"]: p["schema"] for p in operation["parameters"]}
    assert parameters["from"] == {"type": "string", "format": "date"} == parameters["to"]
    assert list(operation["responses"]["200"]["content"]) == ["text/csv"]
    assert "application/json" in operation["responses"]["400"]["content"]


# --- the billing page ----------------------------------------------------------------------------------------


def test_billing_page_offers_a_csv_download_of_the_same_rows(browser_client, api_client, ledger):
    page = browser_client.get(reverse("billing")).content.decode()
    assert "Download CSV" in page and reverse("billing_usage_export") in page
    today = timezone.now().date()
    query = {"from": str(today.replace(day=1)), "to": str(today)}
    from_browser = read_csv(browser_client.get(reverse("billing_usage_export"), query))
    assert from_browser == read_csv(api_client.get(EXPORT, query))
    assert str(ledger["foreign"].source_id) not in {row["generation_id"] for row in from_browser}


def test_billing_page_download_with_bad_dates_says_why(browser_client):
    response = browser_client.get(
        reverse("billing_usage_export"), {"from": "2026-02-01", "to": "2026-01-01"}, follow=True
    )
    assert response.redirect_chain[-1][0] == reverse("billing")
    assert "Cannot export usage: The last day must be on or after the first." in response.content.decode()
    typo = browser_client.get(reverse("billing_usage_export"), {"from": "soon"}, follow=True)
    assert "Cannot export usage: Enter a valid date." in typo.content.decode()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)  # sqlmigrate refuses a concurrent build inside the test's transaction
def test_the_export_index_is_built_concurrently_on_postgresql():
    from django.core.management import call_command

    out = io.StringIO()
    call_command("sqlmigrate", "billing", "0007", stdout=out)
    assert 'CREATE INDEX CONCURRENTLY "billing_usage_org_completed"' in out.getvalue()
