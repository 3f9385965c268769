"""The billing admin: the ledger is read-only, refunds go through the service with a reason, ledger-only notice."""

import uuid

import pytest
from django.utils import timezone

from accounts.models import User
from billing import services
from billing.models import UsageKind, UsageRecord

URL = "/admin/billing/usagerecord/"


@pytest.fixture
def admin_client(client):
    client.force_login(User.objects.create_superuser(email="ops@example.com", password="pw-ops-12345"))
    return client


@pytest.fixture
def record(organization):
    authorization = services.spend_authorize(
        organization=organization, end_user=None, source_id=uuid.uuid4(), resolution="720p", duration=5
    )
    return services.usage_record_create(
        source_id=authorization.source_id, measured_seconds=None, completed_at=timezone.now()
    )


def test_ledger_only_notice_and_read_only_ledger(admin_client, record, settings):
    settings.STRIPE_API_KEY = ""
    response = admin_client.get(URL)
    assert response.status_code == 200
    assert "Stripe is not configured" in response.content.decode()
    assert admin_client.get(f"{URL}add/").status_code == 403
    detail = admin_client.get(f"{URL}{record.pk}/change/")
    assert detail.status_code == 200 and 'name="amount"' not in detail.content.decode()
    for page in ("plan", "billingaccount", "stripeevent", "spendauthorization", "stripemeter"):
        assert admin_client.get(f"/admin/billing/{page}/").status_code == 200


def test_refund_action_asks_for_a_reason_then_refunds(admin_client, record):
    selected = {"action": "refund", "_selected_action": [str(record.pk)]}
    page = admin_client.post(URL, selected)
    assert page.status_code == 200 and "reason" in page.content.decode()
    missing = admin_client.post(URL, {**selected, "apply": "1", "reason": ""})
    assert missing.status_code == 200 and "This field is required" in missing.content.decode()
    assert not UsageRecord.objects.filter(kind=UsageKind.REFUND).exists()
    done = admin_client.post(URL, {**selected, "apply": "1", "reason": "customer complaint"}, follow=True)
    assert done.status_code == 200
    refund = UsageRecord.objects.get(kind=UsageKind.REFUND)
    assert refund.adjusts_id == record.pk and refund.amount == -record.amount
    assert refund.reason == "customer complaint" and refund.created_by.email == "ops@example.com"


def test_plans_are_editable(admin_client):
    plan = services.plan_default()
    response = admin_client.get(f"/admin/billing/plan/{plan.pk}/change/")
    assert response.status_code == 200 and 'name="price_720p"' in response.content.decode()
