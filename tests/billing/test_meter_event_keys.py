"""What the fake Stripe actually received for a meter event: the Idempotency-Key and identifier of the record."""

import uuid

from django.utils import timezone

from billing import services
from billing.models import BillingAccount, ReportState, Standing
from tests.factories import OrganizationFactory

METER_EVENTS = "/v1/billing/meter_events"


def _active_organization(django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        organization = OrganizationFactory()
    BillingAccount.objects.filter(organization=organization).update(standing=Standing.ACTIVE)
    return organization


def _reported_usage(organization, django_capture_on_commit_callbacks, *, duration=6):
    """A usage record committed the way a finished job commits it; the report task runs on commit."""
    with django_capture_on_commit_callbacks(execute=True):
        authorization = services.spend_authorize(
            organization=organization, end_user=None, source_id=uuid.uuid4(), resolution="720p", duration=duration
        )
        record = services.usage_record_create(
            source_id=authorization.source_id, measured_seconds=None, completed_at=timezone.now()
        )
    record.refresh_from_db()
    return record


def _meter_event_posts(fake) -> list[dict]:
    return [r for r in fake.received if (r["method"], r["path"]) == ("POST", METER_EVENTS)]


def test_a_meter_event_carries_the_records_idempotency_key_and_identifier(
    synced_stripe, django_capture_on_commit_callbacks
):
    organization = _active_organization(django_capture_on_commit_callbacks)
    record = _reported_usage(organization, django_capture_on_commit_callbacks)
    assert record.report_state == ReportState.REPORTED
    [post] = _meter_event_posts(synced_stripe)
    assert post["idempotency_key"] == f"meter-event-{record.pk}"
    assert post["params"]["identifier"] == str(record.pk)


def test_every_retry_of_a_meter_event_sends_the_same_idempotency_key(synced_stripe, django_capture_on_commit_callbacks):
    organization = _active_organization(django_capture_on_commit_callbacks)
    synced_stripe.fail_next(2, "500", path=METER_EVENTS)
    record = _reported_usage(organization, django_capture_on_commit_callbacks)
    assert record.report_state == ReportState.REPORTED
    posts = _meter_event_posts(synced_stripe)
    assert len(posts) == 3
    assert {post["idempotency_key"] for post in posts} == {f"meter-event-{record.pk}"}
    assert {post["params"]["identifier"] for post in posts} == {str(record.pk)}


def test_two_records_never_share_a_key(synced_stripe, django_capture_on_commit_callbacks):
    organization = _active_organization(django_capture_on_commit_callbacks)
    first = _reported_usage(organization, django_capture_on_commit_callbacks, duration=4)
    second = _reported_usage(organization, django_capture_on_commit_callbacks, duration=5)
    keys = [post["idempotency_key"] for post in _meter_event_posts(synced_stripe)]
    assert keys == [f"meter-event-{first.pk}", f"meter-event-{second.pk}"]
