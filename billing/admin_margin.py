"""Operator console: every provider charge, and the margin per month (revenue from the ledger vs provider cost)."""

from __future__ import annotations

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest
from django.template.response import TemplateResponse
from django.urls import path

from billing import margin
from billing.admin_mixins import ReadOnlyMixin


class ProviderChargeAdmin(ReadOnlyMixin, admin.ModelAdmin):
    list_display = ["incurred_at", "organization", "basis", "resolution", "seconds", "estimated", "amount", "reason"]
    list_filter = ["basis", "estimated", "resolution", "period"]
    search_fields = ["source_id", "organization__slug"]
    list_select_related = ["organization"]
    date_hierarchy = "incurred_at"
    change_list_template = "admin/billing/providercharge_change_list.html"

    def get_urls(self):
        view = self.admin_site.admin_view(self.margin_view)
        return [path("margin/", view, name="billing_margin"), *super().get_urls()]

    def margin_view(self, request: HttpRequest):
        if not self.has_view_permission(request):  # every tenant's revenue: as guarded as the charges themselves
            raise PermissionDenied
        context = {
            **self.admin_site.each_context(request),
            "title": "Margin per month",
            "months": margin.margin_by_month(months=24),
            "opts": self.model._meta,
        }
        return TemplateResponse(request, "admin/billing/margin.html", context)
