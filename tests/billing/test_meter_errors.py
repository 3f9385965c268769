"""Stripe's asynchronous meter errors: a thin v1.billing.meter.error_report_triggered event names the meter
events Stripe rejected after accepting them; those usage records become `rejected` and operators see them."""

import json
import uuid

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone

from billing import services
from billing.models import ReportState, StripeEvent
from billing.stripe import metering

THIN_SECRET = "whsec_thin_test_secret"
URL = "/hooks/stripe/thin/"


@pytest.fixture(autouse=True)
def _thin_secret(settings):
    settings.STRIPE_THIN_WEBHOOK_SECRET = THIN_SECRET


def _reported(organization, seconds=6):
    authorization = services.spend_authorize(
        organization=organization, end_user=None, source_id=uuid.uuid4(), resolution="720p", duration=seconds
    )
    record = services.usage_record_create(
        source_id=authorization.source_id, measured_seconds=None, completed_at=timezone.now()
    )
    assert metering.usage_record_report(usage_record_id=record.pk) == "reported"
    return record


def _deliver(client, fake, notification, *, secret=THIN_SECRET, capture=None):
    payload = json.dumps(notification).encode()
    signature = fake.sign(payload, secret)
    if capture is None:
        return client.post(URL, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
    with capture(execute=True):
        return client.post(URL, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)


def test_a_meter_error_report_flags_the_records_it_names(
    subscribed_org, synced_stripe, client, admin_client, capsys, django_capture_on_commit_callbacks
):
    rejected, kept = _reported(subscribed_org), _reported(subscribed_org, 9)
    notification = synced_stripe.meter_error_report([str(rejected.pk)])
    assert "data" not in notification  # thin: the data is fetched from Stripe
    response = _deliver(client, synced_stripe, notification, capture=django_capture_on_commit_callbacks)
    assert response.status_code == 200
    rejected.refresh_from_db()
    kept.refresh_from_db()
    assert rejected.report_state == ReportState.REJECTED and rejected.flagged_at is not None
    assert "meter_event_customer_not_found" in rejected.last_report_error
    assert kept.report_state == ReportState.REPORTED
    event = StripeEvent.objects.get(event_id=notification["id"])
    assert event.processed_at is not None and event.result.startswith("1 usage record(s) rejected")
    # Delivered again (Stripe retries): applied once.
    assert _deliver(client, synced_stripe, notification, capture=django_capture_on_commit_callbacks).status_code == 200
    assert StripeEvent.objects.filter(event_id=notification["id"]).count() == 1
    page = admin_client.get("/admin/").content.decode()
    assert "Usage Stripe rejected" in page and "report_state__exact=rejected" in page
    with pytest.raises(CommandError):
        call_command("billing_reconcile")
    assert "usage rejected: ledger billed 6 s" in capsys.readouterr().out


def test_a_bad_signature_on_a_thin_event_is_400(subscribed_org, synced_stripe, client):
    notification = synced_stripe.meter_error_report([str(uuid.uuid4())])
    response = _deliver(client, synced_stripe, notification, secret="whsec_wrong")
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_signature"
    assert not StripeEvent.objects.filter(event_id=notification["id"]).exists()


def test_a_thin_event_without_the_secret_configured_is_refused(subscribed_org, synced_stripe, client, settings):
    settings.STRIPE_THIN_WEBHOOK_SECRET = ""
    response = _deliver(client, synced_stripe, synced_stripe.meter_error_report([]))
    assert response.status_code == 400 and "STRIPE_THIN_WEBHOOK_SECRET" in response.json()["error"]["message"]
