"""Operator console for billing: plans, accounts, the read-only ledger with refunds, Stripe bookkeeping."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse

from billing import services, stripe_gateway
from billing.admin_accounts import BillingAccountAdmin, BillingAuditEntryAdmin
from billing.admin_margin import ProviderChargeAdmin
from billing.admin_mixins import ReadOnlyMixin
from billing.models import (
    BillingAccount,
    BillingAuditEntry,
    Plan,
    ProviderCharge,
    ReportState,
    SpendAuthorization,
    StripeEvent,
    StripeMeter,
    TrialClaim,
    UsageRecord,
)
from billing.stripe import metering
from seedance_saas.errors import ServiceError

NOT_CONFIGURED = (
    "Stripe is not configured (STRIPE_API_KEY is unset): billing runs in ledger-only mode. Usage is recorded "
    "here but nothing is sent to Stripe, and no one can subscribe."
)


class StripeNoticeMixin:
    """Every billing page says so when Stripe is not configured."""

    def changelist_view(self, request, extra_context=None):
        if not stripe_gateway.configured():
            messages.warning(request, NOT_CONFIGURED)
        return super().changelist_view(request, extra_context)


@admin.register(Plan)
class PlanAdmin(StripeNoticeMixin, admin.ModelAdmin):
    list_display = [
        "name",
        "slug",
        "is_default",
        "price_480p",
        "price_720p",
        "price_1080p",
        "dispatch_weight",
        "max_key_share",
        "stripe_product_id",
    ]
    readonly_fields = ["stripe_product_id", "stripe_price_ids", "updated_at"]
    prepopulated_fields = {"slug": ["name"]}

    def get_form(self, request, obj=None, **kwargs):
        if stripe_gateway.configured():
            messages.info(
                request, "After editing prices, run `python manage.py stripe_sync` so Stripe charges the same."
            )
        return super().get_form(request, obj, **kwargs)


@admin.register(BillingAccount)
class BillingAccountWithNoticeAdmin(StripeNoticeMixin, BillingAccountAdmin):
    pass


admin.site.register(BillingAuditEntry, BillingAuditEntryAdmin)
admin.site.register(ProviderCharge, ProviderChargeAdmin)


class RefundForm(forms.Form):
    reason = forms.CharField(max_length=300, widget=forms.Textarea(attrs={"rows": 3}))
    amount = forms.DecimalField(
        required=False,
        max_digits=12,
        decimal_places=4,
        min_value=Decimal("0.0001"),
        help_text="Leave empty to refund what is left of each selected record.",
    )


@admin.register(UsageRecord)
class UsageRecordAdmin(StripeNoticeMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = [
        "completed_at",
        "organization",
        "kind",
        "resolution",
        "seconds",
        "unit_price",
        "amount",
        "provider_cost",
        "report_state",
        "report_attempts",
        "stripe_adjustment",
        "flagged_at",
    ]
    list_filter = [
        "report_state",
        "stripe_adjustment",
        "kind",
        "resolution",
        "covered_by_trial",
        ("flagged_at", admin.EmptyFieldListFilter),
    ]
    search_fields = ["id", "source_id", "organization__slug", "end_user__external_id"]
    list_select_related = ["organization"]
    date_hierarchy = "completed_at"
    actions = ["refund", "retry_report"]

    @admin.action(description="Refund selected usage (asks for a reason)")
    def refund(self, request: HttpRequest, queryset: QuerySet[UsageRecord]):
        form = RefundForm(request.POST if "apply" in request.POST else None)
        if "apply" in request.POST and form.is_valid():
            done = 0
            for record in queryset:
                try:
                    services.usage_refund(
                        usage_record=record,
                        amount=form.cleaned_data["amount"],
                        reason=form.cleaned_data["reason"],
                        actor=request.user,
                    )
                    done += 1
                except (ServiceError, InvalidOperation) as exc:
                    self.message_user(request, f"{record.pk}: {getattr(exc, 'message', exc)}", messages.ERROR)
            self.message_user(request, f"Refunded {done} record(s).", messages.SUCCESS if done else messages.WARNING)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": "Refund usage",
            "form": form,
            "records": queryset,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/billing/usage_refund.html", context)

    @admin.action(description="Send failed records to Stripe again")
    def retry_report(self, request: HttpRequest, queryset: QuerySet[UsageRecord]):
        count = 0
        for record in queryset.filter(report_state=ReportState.FAILED):
            metering.usage_record_report_retry(usage_record=record)
            count += 1
        self.message_user(request, f"{count} record(s) queued for the next Stripe drain.")


@admin.register(SpendAuthorization)
class SpendAuthorizationAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "organization", "source_id", "resolution", "seconds", "amount", "state", "reason"]
    list_filter = ["state", "resolution", "covered_by_trial"]
    search_fields = ["source_id", "organization__slug"]


@admin.register(StripeMeter)
class StripeMeterAdmin(StripeNoticeMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["resolution", "event_name", "stripe_meter_id", "updated_at"]


@admin.register(StripeEvent)
class StripeEventAdmin(StripeNoticeMixin, ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["received_at", "type", "event_id", "processed_at", "result"]
    list_filter = ["type"]
    search_fields = ["event_id"]


@admin.register(TrialClaim)
class TrialClaimAdmin(admin.ModelAdmin):
    """Which mailboxes had a trial; deleting a row lets that mailbox unlock one again."""

    list_display = ["email", "organization", "user", "claimed_at"]
    search_fields = ["email", "organization__name"]
    readonly_fields = ["email", "organization", "user", "claimed_at"]

    def has_add_permission(self, request):
        return False
