"""The invoice the ledger expects counts only this organization's paid, reported-or-pending usage completed in
the period, and credits only the refunds of that usage (from surviving mutants)."""

import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from billing import selectors, services
from billing.models import BillingAccount, ReportState, Standing, UsageRecord


@pytest.fixture
def paying(organization, other_organization):
    BillingAccount.objects.filter(organization__in=[organization, other_organization]).update(standing=Standing.ACTIVE)
    return organization


def _record(organization, *, resolution="720p", duration=10) -> UsageRecord:
    hold = services.spend_authorize(
        organization=organization, end_user=None, source_id=uuid.uuid4(), resolution=resolution, duration=duration
    )
    return services.usage_record_create(source_id=hold.source_id, measured_seconds=None, completed_at=timezone.now())


def _refund_reported(record: UsageRecord, user) -> UsageRecord:
    UsageRecord.objects.filter(pk=record.pk).update(report_state=ReportState.REPORTED)
    record.refresh_from_db()
    return services.usage_refund(usage_record=record, amount=None, reason="bad output", actor=user)


def test_only_this_periods_paid_usage_of_this_organization_is_invoiced(paying, other_organization, user):
    _record(paying, duration=10)  # counted: 720p 10 s
    refunded = _record(paying, duration=5)  # counted (reported), and credited whole
    _refund_reported(refunded, user)
    trial = _record(paying, resolution="1080p", duration=4)
    UsageRecord.objects.filter(pk=trial.pk).update(covered_by_trial=True)
    last_month = _record(paying, resolution="480p", duration=5)
    UsageRecord.objects.filter(pk=last_month.pk).update(completed_at=timezone.now() - timedelta(days=40))
    unreported = _record(paying, resolution="480p", duration=6)
    UsageRecord.objects.filter(pk=unreported.pk).update(report_state=ReportState.NOT_REPORTED)
    theirs = _record(other_organization, duration=8)
    _refund_reported(theirs, user)

    invoice = selectors.invoice_preview(organization=paying)

    assert [(line.resolution, line.seconds, line.amount) for line in invoice.lines] == [
        ("720p", 15, Decimal("4.54"))  # 15 s x $0.3024 = $4.536
    ]
    assert invoice.credits == [Decimal("1.51")]  # the 5 s refund: $1.512


def test_a_past_months_invoice_leaves_out_usage_completed_after_it(paying):
    last_month = _record(paying, duration=4)
    _record(paying, duration=10)  # this month: not on last month's invoice
    this_month = datetime.now(UTC).replace(day=1, hour=0, minute=0, second=0, microsecond=0)
    previous_month = (this_month - timedelta(days=1)).replace(day=1)
    UsageRecord.objects.filter(pk=last_month.pk).update(completed_at=previous_month + timedelta(days=3))
    invoice = selectors.ledger_invoice(organization=paying, start=previous_month, end=this_month)
    assert [(line.resolution, line.seconds) for line in invoice.lines] == [("720p", 4)]
