"""Exactly-once meter events through the real SDK against the fake Stripe, with Stripe failing in every way."""

import uuid
from datetime import timedelta

import pytest
import stripe
from django.utils import timezone

from billing import services
from billing.models import BillingAccount, ReportState, Standing, UsageRecord
from billing.stripe import metering
from tests.factories import OrganizationFactory


@pytest.fixture
def active_org(synced_stripe, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        organization = OrganizationFactory()
    BillingAccount.objects.filter(organization=organization).update(standing=Standing.ACTIVE)
    return organization


def _usage(organization, *, resolution="720p", duration=6, completed_at=None):
    authorization = services.spend_authorize(
        organization=organization, end_user=None, source_id=uuid.uuid4(), resolution=resolution, duration=duration
    )
    return services.usage_record_create(
        source_id=authorization.source_id, measured_seconds=None, completed_at=completed_at or timezone.now()
    )


def _customer(organization):
    return BillingAccount.objects.get(organization=organization).stripe_customer_id


def test_new_organization_gets_a_stripe_customer(active_org, synced_stripe):
    customer_id = _customer(active_org)
    assert customer_id.startswith("cus_")
    assert synced_stripe.customers[customer_id]["metadata"] == {"organization": active_org.slug}


def test_a_committed_record_is_reported_once(active_org, synced_stripe, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        record = _usage(active_org, resolution="1080p", duration=7)
    record.refresh_from_db()
    assert record.report_state == ReportState.REPORTED and record.report_attempts == 1
    [event] = synced_stripe.meter_events
    assert event["event_name"] == "seedance_seconds_1080p"
    assert event["identifier"] == str(record.pk)
    assert event["payload"] == {"stripe_customer_id": _customer(active_org), "value": "7"}
    assert event["timestamp"] == int(record.completed_at.timestamp())
    # Reporting again (a duplicate task, the schedule) sends nothing.
    assert metering.usage_record_report(usage_record_id=record.pk) == "skipped"
    assert metering.usage_report_drain() == 0
    assert len(synced_stripe.meter_events) == 1


def test_trial_usage_is_not_sent(synced_stripe, django_capture_on_commit_callbacks):
    organization = OrganizationFactory()
    with django_capture_on_commit_callbacks(execute=True):
        record = _usage(organization)
    assert record.report_state == ReportState.TRIAL and synced_stripe.meter_events == []


def test_500s_are_retried_with_the_same_idempotency_key(active_org, synced_stripe):
    record = _usage(active_org)
    synced_stripe.fail_next(2, "500", path="/v1/billing/meter_events")
    assert metering.usage_record_report(usage_record_id=record.pk) == "reported"
    assert synced_stripe.meter_event_total("seedance_seconds_720p") == 6
    keys = [key for method, path, key in synced_stripe.idempotency_keys if path == "/v1/billing/meter_events"]
    assert keys == [f"meter-event-{record.pk}"] * 3  # one key, ours, on every try: Stripe replays, never doubles


def test_an_outage_defers_with_backoff_and_the_drain_sends_it_later(active_org, synced_stripe):
    record = _usage(active_org)
    synced_stripe.fail_next(3, "429", path="/v1/billing/meter_events")
    assert metering.usage_record_report(usage_record_id=record.pk) == "retry"
    record.refresh_from_db()
    assert record.report_state == ReportState.PENDING and "429" in record.last_report_error
    assert record.next_report_at > timezone.now()
    assert metering.usage_report_drain() == 0  # not due yet
    UsageRecord.objects.filter(pk=record.pk).update(next_report_at=timezone.now())
    assert metering.usage_report_drain() == 1
    record.refresh_from_db()
    assert record.report_state == ReportState.REPORTED and record.report_attempts == 2
    assert synced_stripe.meter_event_total("seedance_seconds_720p") == 6


def test_timeouts_retry_and_never_double_count(active_org, synced_stripe):
    record = _usage(active_org)
    synced_stripe.fail_next(1, "hang", path="/v1/billing/meter_events")
    synced_stripe.fail_next(1, "accept_then_hang", path="/v1/billing/meter_events")
    assert metering.usage_record_report(usage_record_id=record.pk) == "reported"
    assert synced_stripe.meter_event_total("seedance_seconds_720p") == 6
    assert len(synced_stripe.meter_events) == 1


def test_worker_killed_after_stripe_accepted(active_org, synced_stripe):
    """Stripe took the event, the worker died before marking it, the idempotency key has expired:
    the resend meets Stripe's duplicate-identifier answer, which counts as delivered."""
    record = _usage(active_org)
    synced_stripe.fail_next(3, "accept_then_hang", path="/v1/billing/meter_events")
    assert metering.usage_record_report(usage_record_id=record.pk) == "retry"
    assert len(synced_stripe.meter_events) == 1  # accepted once; later tries were idempotent replays
    synced_stripe.expire_idempotency_keys()
    UsageRecord.objects.filter(pk=record.pk).update(next_report_at=timezone.now())
    assert metering.usage_report_drain() == 1
    record.refresh_from_db()
    assert record.report_state == ReportState.REPORTED
    assert synced_stripe.meter_event_total("seedance_seconds_720p") == 6


def test_a_crashed_claim_is_taken_over_after_it_expires(active_org, synced_stripe):
    record = _usage(active_org)
    metering._claim(usage_record_id=record.pk)  # a worker claimed it and died before sending
    assert metering.usage_report_drain() == 0
    UsageRecord.objects.filter(pk=record.pk).update(next_report_at=timezone.now() - timedelta(seconds=1))
    assert metering.usage_report_drain() == 1
    assert synced_stripe.meter_event_total("seedance_seconds_720p") == 6


def test_other_4xx_is_flagged_for_operators(active_org, synced_stripe):
    record = _usage(active_org)
    synced_stripe.customers.clear()  # Stripe no longer knows the customer
    assert metering.usage_record_report(usage_record_id=record.pk) == "failed"
    record.refresh_from_db()
    assert record.report_state == ReportState.FAILED and record.flagged_at is not None
    assert "No such customer" in record.last_report_error
    assert metering.usage_report_drain() == 0  # not retried on its own
    metering.usage_record_report_retry(usage_record=record)
    record.refresh_from_db()
    assert record.report_state == ReportState.PENDING


def test_records_near_and_past_the_35_day_window(active_org, synced_stripe):
    near = _usage(active_org, completed_at=timezone.now() - timedelta(days=32))
    past = _usage(active_org, completed_at=timezone.now() - timedelta(days=36))
    metering.usage_report_drain()
    near.refresh_from_db()
    past.refresh_from_db()
    assert near.report_state == ReportState.REPORTED and near.flagged_at is not None
    assert past.report_state == ReportState.FAILED and "35-day" in past.last_report_error
    assert len(synced_stripe.meter_events) == 1


def test_a_long_outage_loses_nothing(active_org, synced_stripe):
    records = [_usage(active_org, duration=4 + i % 12) for i in range(20)]
    synced_stripe.fail_next(60, "500", path="/v1/billing/meter_events")
    metering.usage_report_drain()
    assert synced_stripe.meter_events == []
    UsageRecord.objects.update(next_report_at=None)  # time passes
    assert metering.usage_report_drain() == 20
    assert synced_stripe.meter_event_total("seedance_seconds_720p") == sum(r.seconds for r in records)


def test_ledger_only_mode_keeps_records_pending(organization, settings):
    settings.STRIPE_API_KEY = ""
    BillingAccount.objects.filter(organization=organization).update(standing=Standing.ACTIVE)
    record = _usage(organization)
    assert metering.usage_record_report(usage_record_id=record.pk) == "ledger-only"
    assert metering.usage_report_drain() == 0
    record.refresh_from_db()
    assert record.report_state == ReportState.PENDING and record.report_attempts == 0


def test_stripe_down_at_sign_up_the_customer_comes_with_the_first_report(
    synced_stripe, django_capture_on_commit_callbacks
):
    synced_stripe.fail_next(3, "500", path="/v1/customers")
    # The inline task fails as a worker would; the organization exists, without a customer yet.
    with pytest.raises(stripe.APIError), django_capture_on_commit_callbacks(execute=True):
        OrganizationFactory()
    organization = BillingAccount.objects.latest("created_at").organization
    assert _customer(organization) == ""
    BillingAccount.objects.filter(organization=organization).update(standing=Standing.ACTIVE)
    record = _usage(organization)
    assert metering.usage_record_report(usage_record_id=record.pk) == "reported"
    assert _customer(organization).startswith("cus_")
    assert synced_stripe.meter_event_total("seedance_seconds_720p", _customer(organization)) == 6


def test_a_duplicate_is_recognised_by_its_error_code_not_its_wording(active_org, synced_stripe):
    record = _usage(active_org)
    synced_stripe.fail_next(3, "accept_then_hang", path="/v1/billing/meter_events")
    assert metering.usage_record_report(usage_record_id=record.pk) == "retry"
    synced_stripe.expire_idempotency_keys()
    synced_stripe.duplicate_message = "Ein Ereignis mit dieser Kennung existiert bereits."
    UsageRecord.objects.filter(pk=record.pk).update(next_report_at=timezone.now())
    assert metering.usage_report_drain() == 1
    record.refresh_from_db()
    assert record.report_state == ReportState.REPORTED
    assert synced_stripe.meter_event_total("seedance_seconds_720p") == 6


def test_the_fake_like_stripe_forgets_identifiers_after_24_hours(active_org, synced_stripe):
    client = stripe.StripeClient("sk_test_fake", base_addresses={"api": synced_stripe.base_url})
    event = {
        "event_name": "seedance_seconds_720p",
        "payload": {"stripe_customer_id": _customer(active_org), "value": "6"},
        "identifier": "same-identifier",
        "timestamp": synced_stripe.now(),
    }
    client.v1.billing.meter_events.create(event)
    with pytest.raises(stripe.InvalidRequestError) as duplicate:
        client.v1.billing.meter_events.create(event)
    assert duplicate.value.code == "duplicate_meter_event"
    synced_stripe.advance(24 * 3600 + 1)
    client.v1.billing.meter_events.create(event)  # a day later the same identifier counts again
    assert synced_stripe.meter_event_total("seedance_seconds_720p") == 12


def test_a_send_left_unsure_for_a_day_goes_to_an_operator_not_to_stripe_again(active_org, synced_stripe):
    """Stripe took the event but no answer came back, and the record was not resent within 24 h: Stripe no longer
    recognises the identifier, so a resend would bill twice. The record is flagged for an operator instead."""
    record = _usage(active_org)
    synced_stripe.fail_next(3, "accept_then_hang", path="/v1/billing/meter_events")
    assert metering.usage_record_report(usage_record_id=record.pk) == "retry"
    record.refresh_from_db()
    assert record.report_uncertain_since is not None
    synced_stripe.advance(25 * 3600)
    UsageRecord.objects.filter(pk=record.pk).update(
        next_report_at=timezone.now(), report_uncertain_since=timezone.now() - timedelta(hours=25)
    )
    assert metering.usage_report_drain() == 0
    record.refresh_from_db()
    assert record.report_state == ReportState.FAILED and record.flagged_at is not None
    assert "could bill twice" in record.last_report_error
    assert synced_stripe.meter_event_total("seedance_seconds_720p") == 6  # not 12
    metering.usage_record_report_retry(usage_record=record)  # the operator checked Stripe
    record.refresh_from_db()
    assert record.report_uncertain_since is None and record.report_state == ReportState.PENDING
