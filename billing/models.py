"""Plans, each organization's billing account, spend authorizations, the usage ledger and Stripe bookkeeping."""

from __future__ import annotations

import uuid

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models

from accounts.models import EndUser, Organization


def _price_field(resolution: str) -> models.DecimalField:
    return models.DecimalField(
        max_digits=10, decimal_places=4, help_text=f"Sell price per second of {resolution} video (USD)."
    )


class Plan(models.Model):
    """Sell prices per second by resolution. The default plan sells at the provider's list rates."""

    name = models.CharField(max_length=80)
    slug = models.SlugField(max_length=40, unique=True)
    is_default = models.BooleanField(default=False, help_text="New organizations get this plan.")
    price_480p = _price_field("480p")
    price_720p = _price_field("720p")
    price_1080p = _price_field("1080p")
    # Dispatch shares (read by generations through billing.selectors.dispatch_shares; billing knows no videos).
    dispatch_weight = models.PositiveIntegerField(
        default=1,
        validators=[MinValueValidator(1)],
        help_text="While several organizations wait, a shared provider key's slots go in proportion to weight.",
    )
    max_key_share = models.PositiveSmallIntegerField(
        default=100,
        validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="The most of a shared provider key's slots (percent) one organization on this plan may hold.",
    )
    stripe_product_id = models.CharField(max_length=100, blank=True)
    stripe_price_ids = models.JSONField(default=dict, blank=True, help_text="Stripe metered price id per resolution.")
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["is_default"], condition=models.Q(is_default=True), name="one_default_plan")
        ]

    def __str__(self) -> str:
        return self.name

    def unit_price(self, resolution: str):
        return getattr(self, f"price_{resolution}")


class Standing(models.TextChoices):
    TRIAL = "trial", "Trial"
    ACTIVE = "active", "Active"
    PAST_DUE = "past_due", "Past due"
    CANCELED = "canceled", "Canceled"


class TrialStatus(models.TextChoices):
    GRANTED = "granted", "Granted"
    AWAITING_VERIFICATION = "awaiting_verification", "Awaiting email verification"
    ALREADY_USED = "already_used", "Email already had a trial"


class BillingAccount(models.Model):
    """One per organization: standing, plan, limits and the Stripe customer. Locked to serialise spending."""

    organization = models.OneToOneField(Organization, on_delete=models.CASCADE, related_name="billing_account")
    plan = models.ForeignKey(Plan, on_delete=models.PROTECT, related_name="accounts")
    standing = models.CharField(max_length=10, choices=Standing.choices, default=Standing.TRIAL)
    trial_credit = models.DecimalField(max_digits=12, decimal_places=4, help_text="USD the trial may spend in all.")
    # Self-service sign-ups wait for a verified email; operator-made tenants (and older ones) are granted.
    trial_status = models.CharField(max_length=24, choices=TrialStatus.choices, default=TrialStatus.GRANTED)
    monthly_spend_limit = models.DecimalField(
        max_digits=12, decimal_places=4, null=True, blank=True, help_text="USD per calendar month; empty = no limit."
    )
    stripe_customer_id = models.CharField(max_length=100, blank=True, db_index=True)
    stripe_subscription_id = models.CharField(max_length=100, blank=True)
    subscription_status = models.CharField(max_length=30, blank=True)
    # Created time of the Stripe event that last set the standing, so an older event arriving late cannot undo it.
    standing_event_created = models.BigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return f"{self.organization} ({self.standing})"


class AuthorizationState(models.TextChoices):
    HELD = "held", "Held"
    SETTLED = "settled", "Settled"
    RELEASED = "released", "Released"


class SpendAuthorization(models.Model):
    """Money set aside when a job is created: released if it fails, settled to the real amount if it succeeds."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="spend_authorizations")
    end_user = models.ForeignKey(EndUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    source_id = models.UUIDField(unique=True)
    resolution = models.CharField(max_length=8)
    requested_duration = models.CharField(max_length=8)
    seconds = models.PositiveIntegerField(help_text="The most seconds this job may bill.")
    unit_price = models.DecimalField(max_digits=10, decimal_places=4)
    amount = models.DecimalField(max_digits=12, decimal_places=4)
    covered_by_trial = models.BooleanField(default=False)
    state = models.CharField(max_length=10, choices=AuthorizationState.choices, default=AuthorizationState.HELD)
    reason = models.CharField(max_length=200, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "state"])]

    def __str__(self) -> str:
        return f"{self.source_id} {self.amount} ({self.state})"


class UsageKind(models.TextChoices):
    USAGE = "usage", "Usage"
    REFUND = "refund", "Refund"


class ReportState(models.TextChoices):
    PENDING = "pending", "Pending"  # owed to Stripe, not yet acknowledged
    REPORTED = "reported", "Reported"
    FAILED = "failed", "Failed"  # Stripe refused it; an operator must look
    TRIAL = "trial", "Trial (not billed)"  # paid from the trial credit
    NOT_REPORTED = "not_reported", "Not reported"  # adjustments and canceled usage
    REJECTED = "rejected", "Rejected by Stripe"  # accepted, then named in a meter error report: not billed


class StripeAdjustment(models.TextChoices):
    """What a refund did in Stripe (on the refund record; empty on usage)."""

    NONE = "", "-"
    PENDING = "pending", "Pending"  # the drain cancels the meter event or credits the invoice
    CANCELED = "canceled", "Meter event canceled"  # within Stripe's 24 h: the seconds never reach an invoice
    CREDITED = "credited", "Credit note issued"  # on the invoice that billed the usage
    NOT_NEEDED = "not_needed", "Not needed"  # the usage never reached Stripe (trial, canceled before reporting)


class UsageRecord(models.Model):
    """The append-only ledger: one row per billed job, plus adjustment rows for refunds."""

    REPORT_FIELDS = frozenset(
        {
            "report_state",
            "reported_at",
            "report_attempts",
            "report_uncertain_since",
            "last_report_error",
            "next_report_at",
            "flagged_at",
            "stripe_adjustment",
            "stripe_adjustment_ref",
        }
    )

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="usage_records")
    end_user = models.ForeignKey(EndUser, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    kind = models.CharField(max_length=10, choices=UsageKind.choices, default=UsageKind.USAGE)
    source_id = models.UUIDField(null=True, blank=True, unique=True, help_text="The generation this bills.")
    adjusts = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="adjustments")
    reason = models.CharField(max_length=300, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    resolution = models.CharField(max_length=8)
    seconds = models.IntegerField()
    unit_price = models.DecimalField(max_digits=10, decimal_places=4)
    amount = models.DecimalField(max_digits=12, decimal_places=4)
    provider_cost = models.DecimalField(max_digits=12, decimal_places=4)
    currency = models.CharField(max_length=3, default="usd")
    covered_by_trial = models.BooleanField(default=False)
    period = models.DateField(help_text="First day of the billing month.")
    completed_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)
    report_state = models.CharField(max_length=15, choices=ReportState.choices, default=ReportState.PENDING)
    reported_at = models.DateTimeField(null=True, blank=True)
    report_attempts = models.PositiveIntegerField(default=0)
    # The first send whose outcome we could not know (timeout, 5xx). Stripe de-duplicates identifiers for 24 h
    # only, so after that a resend could bill twice: the record waits for an operator instead.
    report_uncertain_since = models.DateTimeField(null=True, blank=True)
    last_report_error = models.TextField(blank=True)
    next_report_at = models.DateTimeField(null=True, blank=True)
    flagged_at = models.DateTimeField(null=True, blank=True, help_text="Set when an operator must look.")
    stripe_adjustment = models.CharField(
        max_length=12, choices=StripeAdjustment.choices, blank=True, default=StripeAdjustment.NONE
    )
    stripe_adjustment_ref = models.CharField(
        max_length=100, blank=True, help_text="The credit note (cn_...) or the canceled meter event identifier."
    )

    class Meta:
        ordering = ["-completed_at"]
        indexes = [
            models.Index(fields=["organization", "period"]),
            # The drain walks pending records oldest first.
            models.Index(fields=["report_state", "completed_at"]),
            # Usage by date range (GET /usage/, the CSV export) reads one organization's records in time order.
            models.Index(fields=["organization", "completed_at"], name="billing_usage_org_completed"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.amount} {self.currency} ({self.resolution}, {self.seconds}s)"

    def save(self, *args, **kwargs):
        # Append-only: once written, only the Stripe reporting columns may change.
        update_fields = kwargs.get("update_fields")
        if not self._state.adding and (update_fields is None or not self.REPORT_FIELDS.issuperset(update_fields)):
            raise ValueError("Usage records are append-only; record a refund instead of editing one.")
        super().save(*args, **kwargs)

    @property
    def stripe_identifier(self) -> str:
        return str(self.id)


class StripeMeter(models.Model):
    """The Stripe Billing Meter of one resolution, created by `stripe_sync`."""

    resolution = models.CharField(max_length=8, unique=True)
    event_name = models.CharField(max_length=100, unique=True)
    stripe_meter_id = models.CharField(max_length=100)
    updated_at = models.DateTimeField(auto_now=True)

    def __str__(self) -> str:
        return self.event_name


class StripeEvent(models.Model):
    """Every Stripe webhook event we accepted, so each is processed once."""

    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=100)
    created = models.BigIntegerField(help_text="Stripe's created timestamp.")
    payload = models.JSONField()
    received_at = models.DateTimeField(auto_now_add=True)
    processed_at = models.DateTimeField(null=True, blank=True)
    result = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["-received_at"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class TrialClaim(models.Model):
    """One trial per mailbox, ever: the normalized email of each verified address that unlocked one."""

    email = models.CharField(max_length=254, unique=True, help_text="Normalized (accounts/emails.py).")
    organization = models.ForeignKey(Organization, null=True, on_delete=models.SET_NULL, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    claimed_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.email} ({self.claimed_at:%Y-%m-%d})"


class BillingAuditEntry(models.Model):
    """One hand change of an account's standing, plan, limit or trial credit: who, from what, to what, and why."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="billing_audit_entries")
    field = models.CharField(max_length=30)
    old_value = models.CharField(max_length=200, blank=True)
    new_value = models.CharField(max_length=200, blank=True)
    reason = models.CharField(max_length=500)
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        verbose_name_plural = "billing audit entries"
        indexes = [models.Index(fields=["organization", "created_at"])]

    def __str__(self) -> str:
        return f"{self.field}: {self.old_value or '∅'} → {self.new_value or '∅'}"


class ProviderChargeBasis(models.TextChoices):
    DELIVERED = "delivered", "Delivered (billed to the customer)"
    OUTPUT_LOST = "output_lost", "Provider finished, we lost the output"
    OUTCOME_UNKNOWN = "outcome_unknown", "Outcome unknown: the provider may bill"


class ProviderCharge(models.Model):
    """What the provider charges us, or may, for one job: the cost side of the margin. One row per job."""

    organization = models.ForeignKey(Organization, on_delete=models.PROTECT, related_name="provider_charges")
    source_id = models.UUIDField(unique=True, help_text="The generation the provider ran.")
    resolution = models.CharField(max_length=8)
    seconds = models.PositiveIntegerField()
    amount = models.DecimalField(max_digits=12, decimal_places=4)
    basis = models.CharField(max_length=20, choices=ProviderChargeBasis.choices)
    estimated = models.BooleanField(default=False, help_text="Seconds not measured: the most the job could bill.")
    reason = models.CharField(max_length=200, blank=True)
    period = models.DateField(help_text="First day of the month the job ended.")
    incurred_at = models.DateTimeField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-incurred_at"]
        indexes = [models.Index(fields=["period"])]

    def __str__(self) -> str:
        return f"{self.source_id} {self.amount} ({self.basis})"
