"""Standing and plan change only through audited admin actions with a reason; active needs an invoicing subscription."""

from __future__ import annotations

from decimal import Decimal

import pytest

from accounts.models import User
from billing import accounts, selectors
from billing.models import BillingAccount, BillingAuditEntry, Plan, Standing
from seedance_saas.errors import Conflict, InvalidInput

URL = "/admin/billing/billingaccount/"


@pytest.fixture
def operator(db):
    return User.objects.create_superuser(email="ops@example.com", password="pw-ops-12345")


@pytest.fixture
def admin_client(client, operator):
    client.force_login(operator)
    return client


@pytest.fixture
def account(organization) -> BillingAccount:
    return selectors.billing_account(organization=organization)


@pytest.fixture
def premium(db) -> Plan:
    return Plan.objects.create(
        name="Premium", slug="premium", price_480p=Decimal("0.2"), price_720p=Decimal("0.4"), price_1080p=Decimal("0.9")
    )


def subscribed(account, status="active"):
    BillingAccount.objects.filter(pk=account.pk).update(stripe_subscription_id="sub_123", subscription_status=status)


def test_the_change_form_does_not_edit_standing_or_plan(admin_client, account, premium):
    page = admin_client.get(f"{URL}{account.pk}/change/").content.decode()
    assert 'name="standing"' not in page and 'name="plan"' not in page
    admin_client.post(
        f"{URL}{account.pk}/change/",
        {
            "standing": Standing.ACTIVE,
            "plan": premium.pk,
            "trial_credit": "5",
            "monthly_spend_limit": "",
        },
    )
    account.refresh_from_db()
    assert account.standing == Standing.TRIAL and account.plan.slug == "standard"


def test_set_standing_asks_for_a_reason_and_writes_an_audit_entry(admin_client, account, operator):
    subscribed(account, status="past_due")
    selected = {"action": "set_standing", "_selected_action": [str(account.pk)]}
    page = admin_client.post(URL, selected)
    assert page.status_code == 200 and 'name="reason"' in page.content.decode()
    missing = admin_client.post(URL, {**selected, "apply": "1", "standing": "canceled", "reason": ""})
    assert "This field is required" in missing.content.decode()
    assert selectors.billing_account(organization=account.organization).standing == Standing.TRIAL

    admin_client.post(URL, {**selected, "apply": "1", "standing": "canceled", "reason": "fraud report #12"})
    assert selectors.billing_account(organization=account.organization).standing == Standing.CANCELED
    entry = BillingAuditEntry.objects.get(organization=account.organization)
    assert (entry.field, entry.old_value, entry.new_value) == ("standing", "trial", "canceled")
    assert entry.reason == "fraud report #12" and entry.actor == operator
    assert "fraud report #12" in admin_client.get("/admin/billing/billingauditentry/").content.decode()


def test_an_account_without_an_invoicing_subscription_cannot_be_set_active(admin_client, account):
    selected = {"action": "set_standing", "_selected_action": [str(account.pk)]}
    response = admin_client.post(
        URL, {**selected, "apply": "1", "standing": "active", "reason": "customer asked"}, follow=True
    )
    assert "would be reported and never invoiced" in response.content.decode()
    assert selectors.billing_account(organization=account.organization).standing == Standing.TRIAL
    assert not BillingAuditEntry.objects.exists()
    subscribed(account, status="canceled")
    with pytest.raises(Conflict):
        accounts.billing_account_set_standing(
            organization=account.organization, standing="active", reason="x", actor=None
        )


def test_an_account_with_a_live_subscription_can_be_set_active(account, operator):
    subscribed(account, status="active")
    accounts.billing_account_set_standing(
        organization=account.organization, standing="active", reason="webhook lost", actor=operator
    )
    assert selectors.billing_account(organization=account.organization).standing == Standing.ACTIVE


def test_active_accounts_nobody_invoices_are_surfaced(admin_client, account):
    BillingAccount.objects.filter(pk=account.pk).update(standing=Standing.ACTIVE)  # set by hand, outside the admin
    page = admin_client.get(f"{URL}?invoiced=no").content.decode()
    assert str(account.organization) in page and "icon-no.svg" in page
    dashboard = admin_client.get("/admin/").content.decode()
    assert "Active, not invoiced" in dashboard and "1 account(s)" in dashboard


def test_change_plan_is_audited(admin_client, account, premium):
    selected = {"action": "change_plan", "_selected_action": [str(account.pk)]}
    admin_client.post(URL, {**selected, "apply": "1", "plan": premium.pk, "reason": "negotiated rate"})
    assert selectors.billing_account(organization=account.organization).plan == premium
    entry = BillingAuditEntry.objects.get(field="plan")
    assert (entry.old_value, entry.new_value, entry.reason) == ("standard", "premium", "negotiated rate")


def test_a_limit_or_credit_edit_needs_a_reason_and_is_audited(admin_client, account, operator):
    form = {
        "trial_credit": "25",
        "monthly_spend_limit": "",
        "change_reason": "",
    }
    refused = admin_client.post(f"{URL}{account.pk}/change/", form)
    assert refused.status_code == 200 and "Say why" in refused.content.decode()
    admin_client.post(f"{URL}{account.pk}/change/", {**form, "change_reason": "goodwill after outage"})
    entry = BillingAuditEntry.objects.get(field="trial_credit")
    assert Decimal(entry.new_value) == Decimal("25") and entry.reason == "goodwill after outage"
    assert "goodwill after outage" in admin_client.get(f"{URL}{account.pk}/change/").content.decode()


def test_a_hand_change_without_a_reason_is_refused_by_the_service(account):
    with pytest.raises(InvalidInput):
        accounts.billing_account_set_standing(
            organization=account.organization, standing="canceled", reason=" ", actor=None
        )


def test_a_limit_edit_saves_only_what_the_form_edits(rf, account, operator):
    """Stripe's webhook moved the account to past_due after the admin page loaded it: saving the form's limit
    must not write the stale standing (or any other field the form does not edit) back."""
    from django.contrib.admin.sites import site

    model_admin = site._registry[BillingAccount]
    request = rf.post(f"{URL}{account.pk}/change/")
    request.user = operator
    stale = BillingAccount.objects.get(pk=account.pk)
    BillingAccount.objects.filter(pk=account.pk).update(standing=Standing.PAST_DUE, subscription_status="past_due")
    form_class = model_admin.get_form(request, stale, change=True)
    form = form_class(
        {"monthly_spend_limit": "250", "trial_credit": str(stale.trial_credit), "change_reason": "raise"},
        instance=stale,
    )
    assert form.is_valid(), form.errors
    model_admin.save_model(request, form.save(commit=False), form, change=True)
    account.refresh_from_db()
    assert account.monthly_spend_limit == Decimal("250")
    assert (account.standing, account.subscription_status) == (Standing.PAST_DUE, "past_due")
