"""The trial credit unlocks when a self-service sign-up verifies an email: once per mailbox, ever."""

from __future__ import annotations

from django.db import IntegrityError, transaction

from accounts.emails import normalize_email
from accounts.models import Role
from billing.models import BillingAccount, TrialClaim, TrialStatus


def trial_unlock(*, user, email: str) -> BillingAccount | None:
    """A verified address unlocks the trial of the organization its owner signed up with: once per mailbox, ever.

    Returns the account it decided (granted, or `already_used` when the mailbox had a trial), or None when no
    organization of this user waits for one. Safe to call again and concurrently: the claim's unique email decides.
    """
    locked = (TrialStatus.AWAITING_VERIFICATION, TrialStatus.ALREADY_USED)
    with transaction.atomic():
        account = (
            BillingAccount.objects.select_for_update(of=("self",))
            .filter(
                trial_status__in=locked,
                organization__memberships__user=user,
                organization__memberships__role=Role.OWNER,
            )
            .order_by("pk")
            .first()
        )
        if account is None:
            return None
        try:
            with transaction.atomic():
                TrialClaim.objects.create(email=normalize_email(email), organization=account.organization, user=user)
        except IntegrityError:  # this mailbox already had its trial, here or in another organization
            account.trial_status = TrialStatus.ALREADY_USED
        else:
            account.trial_status = TrialStatus.GRANTED
        account.save(update_fields=["trial_status", "updated_at"])
    return account
