"""A month of many small jobs: the fake Stripe's invoice, the billing page and the ledger agree to the cent."""

import random
import uuid
from datetime import timedelta
from decimal import Decimal

from django.urls import reverse
from django.utils import timezone

from billing import prices, selectors, services
from billing.models import BillingAccount, ReportState, UsageRecord
from billing.stripe import metering
from tests.billing.conftest import subscribe

JOBS = 120
SEED = 3  # the case: the ledger holds $465.3342, Stripe's three rounded lines come to $465.34


def _month_of_jobs(organization, *, start, end) -> list[UsageRecord]:
    draw = random.Random(SEED)
    records = []
    for i in range(JOBS):
        authorization = services.spend_authorize(
            organization=organization,
            end_user=None,
            source_id=uuid.uuid4(),
            resolution=draw.choice(prices.RESOLUTIONS),
            duration=draw.randint(prices.MIN_SECONDS, prices.MAX_SECONDS),
        )
        completed_at = start + (end - start) * (i + 1) / (JOBS + 1)
        records.append(
            services.usage_record_create(
                source_id=authorization.source_id, measured_seconds=None, completed_at=completed_at
            )
        )
    return records


def test_invoice_billing_page_and_ledger_agree_to_the_cent(
    browser_client, organization, synced_stripe, django_capture_on_commit_callbacks
):
    now = timezone.now()
    month_start = timezone.datetime.combine(services.period_start(now), timezone.datetime.min.time(), tzinfo=now.tzinfo)
    synced_stripe.set_now(month_start.timestamp() + 1)  # subscribed at the start of the month
    subscription = subscribe(organization, synced_stripe, capture=django_capture_on_commit_callbacks)
    synced_stripe.set_now(None)
    records = _month_of_jobs(organization, start=month_start + timedelta(seconds=2), end=now)
    assert metering.usage_report_drain() == JOBS
    assert not UsageRecord.objects.exclude(report_state=ReportState.REPORTED).exists()

    ledger = selectors.invoice_preview(organization=organization)
    raw_total = sum((r.amount for r in records), Decimal(0))
    assert raw_total == Decimal("465.3342") and ledger.total == Decimal("465.34"), (
        "the case must tell per-line rounding from rounding the total"
    )
    page = browser_client.get(reverse("billing")).content.decode()
    assert f'data-testid="invoice-total">${ledger.total}<' in page
    for line in ledger.lines:
        assert f'<td class="num">${line.amount}</td>' in page

    synced_stripe.set_now(subscription["current_period_end"])  # the month ends: Stripe invoices it
    [invoice] = synced_stripe.invoices.values()
    assert invoice["total"] == prices.stripe_cents(ledger.total)
    stripe_lines = sorted((line["quantity"], line["amount"]) for line in invoice["lines"]["data"])
    assert stripe_lines == sorted((line.seconds, prices.stripe_cents(line.amount)) for line in ledger.lines)
    account = BillingAccount.objects.get(organization=organization)
    assert invoice["parent"]["subscription_details"]["subscription"] == account.stripe_subscription_id
