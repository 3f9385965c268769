"""In a real browser: download the usage CSV from the billing page; rotate a webhook secret with an overlap."""

import csv
import io
import uuid
from decimal import Decimal

import pytest
from django.utils import timezone

from accounts import services as account_services
from billing import selectors as billing_selectors
from billing import services as billing_services
from tests.e2e.conftest import assert_fields_labelled
from webhooks import services as webhook_services
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.e2e


def bill(organization, end_user, *, resolution, duration):
    source_id = uuid.uuid4()
    billing_services.spend_authorize(
        organization=organization, end_user=end_user, source_id=source_id, resolution=resolution, duration=duration
    )
    return billing_services.usage_record_create(source_id=source_id, measured_seconds=None, completed_at=timezone.now())


def test_billing_page_downloads_this_months_usage_as_csv(logged_in_page, e2e_user, screenshot):
    organization = e2e_user.organization
    customer = account_services.end_user_for_partner(organization=organization, external_id="customer-42")
    records = [bill(organization, customer, resolution="480p", duration=7) for _ in range(3)]
    page = logged_in_page
    page.goto("/app/billing/")
    assert_fields_labelled(page)
    screenshot(page, "usage-export-billing-page")
    with page.expect_download() as download_info:
        page.get_by_role("button", name="Download CSV").click()
    download = download_info.value
    assert download.suggested_filename.startswith("usage-") and download.suggested_filename.endswith(".csv")
    with open(download.path(), encoding="utf-8") as handle:
        rows = list(csv.DictReader(io.StringIO(handle.read())))
    assert [row["generation_id"] for row in rows] == [str(r.source_id) for r in records]
    assert {row["end_user_id"] for row in rows} == {"customer-42"}
    spent = billing_selectors.spend_summary(organization=organization).spent
    assert sum(Decimal(row["cost"]) for row in rows) == spent == Decimal("2.9652")


def test_developers_page_rotates_a_webhook_secret_with_the_overlap_chosen(logged_in_page, e2e_user, screenshot):
    endpoint = webhook_services.webhook_endpoint_create(
        organization=e2e_user.organization, url="https://hooks.partner.example/seedance"
    )
    old_secret = endpoint.secret
    page = logged_in_page
    page.goto("/app/developers/webhooks/")
    assert_fields_labelled(page)
    page.get_by_text("Signing secret").first.click()
    page.get_by_label("Old secret keeps signing for").select_option("72")
    screenshot(page, "webhook-secret-rotate-choice")
    page.get_by_role("button", name="Rotate secret").click()
    page.get_by_text("the old one also signs until").first.wait_for()
    page.get_by_test_id("rotation-overlap").wait_for()
    screenshot(page, "webhook-secret-rotated-with-overlap")
    endpoint = WebhookEndpoint.objects.get(pk=endpoint.pk)
    assert endpoint.previous_secret == old_secret and endpoint.secret != old_secret
    assert (endpoint.previous_secret_expires_at - endpoint.secret_rotated_at).total_seconds() == 72 * 3600
    assert endpoint.secret in page.content() and old_secret not in page.content()
