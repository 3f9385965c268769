"""The operators' console: Django admin whose front page is a dashboard of what needs attention."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from django.contrib import admin
from django.contrib.admin.apps import AdminConfig
from django.utils import timezone


class OperationsAdminSite(admin.AdminSite):
    site_header = "Seedance Studio operations"
    site_title = "Seedance Studio admin"
    index_title = "Dashboard"
    index_template = "admin/operations_index.html"

    def login(self, request, extra_context=None):
        """Logging in happens on allauth's page, whose failed-login rate limits then cover the admin too."""
        from allauth.account.decorators import secure_admin_login  # the admin site loads before the app registry

        return secure_admin_login(super().login)(request, extra_context)

    def index(self, request, extra_context=None):
        from billing import selectors as billing_selectors
        from generations import selectors as generation_selectors
        from webhooks import selectors as webhook_selectors

        hour_ago = timezone.now() - timedelta(hours=1)
        dashboard = {
            "generations": generation_selectors.operator_overview(),
            "unreported_usage": billing_selectors.unreported_usage().count(),
            "accounts_not_invoiced": billing_selectors.billing_accounts_not_invoiced().count(),
            "rejected_usage": billing_selectors.rejected_usage().count(),
            "stripe_configured": bool(settings.STRIPE_API_KEY),
            "provider_simulated": settings.EACHLABS_SIMULATED,
            "webhooks": webhook_selectors.delivery_failures_overview(since=hour_ago),
        }
        return super().index(request, {**(extra_context or {}), "dashboard": dashboard})


class OperationsAdminConfig(AdminConfig):
    default_site = "seedance_saas.admin_site.OperationsAdminSite"
