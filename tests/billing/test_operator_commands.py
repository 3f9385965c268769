"""Operators grant credit and set standing from the shell, audited, with clear errors (issue 12, 3)."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from billing import services
from billing.models import BillingAccount, BillingAuditEntry, Standing


def run(*args) -> str:
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_grant_credit_adds_to_the_credit_and_audits_it(organization):
    before = services.billing_account_get(organization=organization).trial_credit
    out = run("billing_account_grant_credit", organization.slug, "12.50", "--reason", "ticket 4411: outage")
    account = BillingAccount.objects.get(organization=organization)
    assert account.trial_credit == before + Decimal("12.50")
    assert f"now {account.trial_credit} USD" in out
    entry = BillingAuditEntry.objects.get(organization=organization)
    assert (entry.field, Decimal(entry.old_value), Decimal(entry.new_value)) == (
        "trial_credit",
        before,
        before + Decimal("12.50"),
    )
    assert entry.reason == "ticket 4411: outage" and entry.actor is None


@pytest.mark.parametrize("amount", ["0", "-5", "abc", "1.234", "NaN", "Infinity", "100000000"])
def test_grant_credit_refuses_a_bad_amount_and_changes_nothing(organization, amount):
    before = services.billing_account_get(organization=organization).trial_credit
    with pytest.raises(CommandError, match="amount|credit would reach"):
        run("billing_account_grant_credit", organization.slug, amount, "--reason", "r")
    assert services.billing_account_get(organization=organization).trial_credit == before
    assert not BillingAuditEntry.objects.exists()


def test_grant_credit_needs_a_reason(organization):
    with pytest.raises(CommandError, match="reason"):
        run("billing_account_grant_credit", organization.slug, "5", "--reason", "  ")
    assert not BillingAuditEntry.objects.exists()


def test_grant_credit_names_an_unknown_organization(db):
    with pytest.raises(CommandError, match="No organization with the slug 'nope'"):
        run("billing_account_grant_credit", "nope", "5", "--reason", "r")


def test_set_standing_changes_it_and_audits_it(organization):
    out = run("billing_account_set_standing", organization.slug, "past_due", "--reason", "chargeback")
    assert BillingAccount.objects.get(organization=organization).standing == Standing.PAST_DUE
    assert "is now past_due" in out
    entry = BillingAuditEntry.objects.get(organization=organization)
    assert (entry.field, entry.old_value, entry.new_value, entry.reason) == (
        "standing",
        "trial",
        "past_due",
        "chargeback",
    )


def test_set_standing_refuses_an_unknown_standing(organization):
    with pytest.raises(CommandError, match="Unknown standing 'gold'"):
        run("billing_account_set_standing", organization.slug, "gold", "--reason", "r")


def test_set_standing_active_without_an_invoicing_subscription_says_why(organization):
    with pytest.raises(CommandError, match="no Stripe subscription that invoices usage"):
        run("billing_account_set_standing", organization.slug, "active", "--reason", "r")
    assert BillingAccount.objects.get(organization=organization).standing == Standing.TRIAL
