"""Operator console for billing accounts: standing and plan change only through audited actions with a reason."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import mark_safe

from billing import accounts, selectors
from billing.admin_mixins import ReadOnlyMixin
from billing.models import BillingAccount, BillingAuditEntry, Plan, Standing
from seedance_saas.errors import ServiceError

AUDITED_EDITABLE_FIELDS = ("monthly_spend_limit", "trial_credit")


class StandingForm(forms.Form):
    standing = forms.ChoiceField(choices=Standing.choices)
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


class PlanForm(forms.Form):
    plan = forms.ModelChoiceField(queryset=Plan.objects.all())
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}))


class BillingAccountForm(forms.ModelForm):
    change_reason = forms.CharField(
        max_length=500,
        required=False,
        widget=forms.Textarea(attrs={"rows": 2}),
        help_text="Required when you change the limit or the trial credit; kept in the audit log.",
    )

    class Meta:
        model = BillingAccount
        fields = ["monthly_spend_limit", "trial_credit"]

    def clean(self):
        cleaned = super().clean()
        if set(self.changed_data) & set(AUDITED_EDITABLE_FIELDS) and not (cleaned.get("change_reason") or "").strip():
            self.add_error("change_reason", "Say why you change the limit or the trial credit.")
        return cleaned


class NotInvoicedFilter(admin.SimpleListFilter):
    title = "invoiced by Stripe"
    parameter_name = "invoiced"

    def lookups(self, request, model_admin):
        return [("no", "Active but not invoiced")]

    def queryset(self, request, queryset):
        if self.value() == "no":
            return queryset.filter(pk__in=selectors.billing_accounts_not_invoiced().values("pk"))
        return queryset


class BillingAccountAdmin(admin.ModelAdmin):
    form = BillingAccountForm
    list_display = [
        "organization",
        "standing",
        "invoiced",
        "plan",
        "monthly_spend_limit",
        "trial_credit",
        "trial_status",
        "stripe_customer_id",
    ]
    list_filter = ["standing", NotInvoicedFilter, "trial_status", "plan"]
    search_fields = ["organization__name", "organization__slug", "stripe_customer_id", "stripe_subscription_id"]
    list_select_related = ["organization", "plan"]
    actions = ["set_standing", "change_plan"]
    fields = [
        "organization",
        "standing",
        "plan",
        "monthly_spend_limit",
        "trial_credit",
        "change_reason",
        "stripe_customer_id",
        "stripe_subscription_id",
        "subscription_status",
        "trial_status",
        "standing_event_created",
        "created_at",
        "updated_at",
        "audit_log",
    ]
    # Standing follows Stripe (webhooks) and plan prices the subscription: neither is a free-text edit.
    readonly_fields = [
        "organization",
        "standing",
        "plan",
        "stripe_customer_id",
        "stripe_subscription_id",
        "subscription_status",
        "trial_status",
        "standing_event_created",
        "created_at",
        "updated_at",
        "audit_log",
    ]

    def has_add_permission(self, request, obj=None):
        return False  # organizations get their account when they are created

    def has_delete_permission(self, request, obj=None):
        return False  # the ledger and the audit log point at it

    @admin.display(description="invoiced", boolean=True)
    def invoiced(self, obj: BillingAccount) -> bool | None:
        """Active accounts only: does a Stripe subscription invoice the usage we report?"""
        if obj.standing != Standing.ACTIVE:
            return None
        return accounts.billing_account_invoiced(obj)

    @admin.display(description="audit log (latest 20)")
    def audit_log(self, obj: BillingAccount):
        entries = BillingAuditEntry.objects.filter(organization_id=obj.organization_id).select_related("actor")[:20]
        if not entries:
            return "-"
        return format_html_join(
            mark_safe("<br>"),  # noqa: S308 - a constant
            "{} · {}: {} → {} · {} · {}",
            (
                (f"{e.created_at:%Y-%m-%d %H:%M}", e.field, e.old_value or "∅", e.new_value or "∅", e.reason, e.actor)
                for e in entries
            ),
        )

    def save_model(self, request, obj, form, change):
        changes = {name: (form.initial.get(name), form.cleaned_data.get(name)) for name in form.changed_data}
        changes = {name: values for name, values in changes.items() if name in AUDITED_EDITABLE_FIELDS}
        # Only the fields this form edits: a full save would write back a standing or subscription status that a
        # Stripe webhook changed since the page loaded the account.
        edited = [name for name in form.changed_data if name in BillingAccountForm.Meta.fields]
        obj.save(update_fields=[*edited, "updated_at"])
        if changes:
            accounts.billing_account_audit_edit(
                account=obj, changes=changes, reason=form.cleaned_data["change_reason"], actor=request.user
            )

    def _ask(self, request: HttpRequest, queryset: QuerySet, *, form, action: str, title: str, apply):
        if "apply" in request.POST and form.is_valid():
            done = 0
            for account in queryset.select_related("organization"):
                try:
                    apply(account, form.cleaned_data)
                    done += 1
                except ServiceError as exc:
                    self.message_user(request, f"{account.organization}: {exc.message}", messages.ERROR)
            self.message_user(request, f"Changed {done} account(s).", messages.SUCCESS if done else messages.WARNING)
            return None
        context = {
            **self.admin_site.each_context(request),
            "title": title,
            "form": form,
            "accounts": queryset,
            "action": action,
            "opts": self.model._meta,
            "action_checkbox_name": admin.helpers.ACTION_CHECKBOX_NAME,
        }
        return TemplateResponse(request, "admin/billing/account_action.html", context)

    @admin.action(description="Set standing (asks for a reason; audited)")
    def set_standing(self, request: HttpRequest, queryset: QuerySet[BillingAccount]):
        return self._ask(
            request,
            queryset,
            form=StandingForm(request.POST if "apply" in request.POST else None),
            action="set_standing",
            title="Set the standing",
            apply=lambda account, data: accounts.billing_account_set_standing(
                organization=account.organization, standing=data["standing"], reason=data["reason"], actor=request.user
            ),
        )

    @admin.action(description="Change plan (asks for a reason; audited)")
    def change_plan(self, request: HttpRequest, queryset: QuerySet[BillingAccount]):
        return self._ask(
            request,
            queryset,
            form=PlanForm(request.POST if "apply" in request.POST else None),
            action="change_plan",
            title="Change the plan",
            apply=lambda account, data: accounts.billing_account_set_plan(
                organization=account.organization, plan=data["plan"], reason=data["reason"], actor=request.user
            ),
        )


class BillingAuditEntryAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["created_at", "organization", "field", "change", "reason", "actor"]
    list_filter = ["field"]
    search_fields = ["organization__slug", "organization__name", "reason"]
    list_select_related = ["organization", "actor"]
    date_hierarchy = "created_at"

    @admin.display(description="change")
    def change(self, obj: BillingAuditEntry):
        return format_html("{} → {}", obj.old_value or "∅", obj.new_value or "∅")
