"""allauth hooks: a new sign-up gets a personal organization; client IPs and failed-login limits are ours."""

from allauth.account.adapter import DefaultAccountAdapter
from django.db import transaction

from accounts import services
from seedance_saas.client_ip import client_ip


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        with transaction.atomic():
            user = super().save_user(request, user, form, commit=commit)
            if commit:
                services.organization_create_personal(user=user)
        return user

    def get_client_ip(self, request) -> str:
        """Every allauth rate limit keys on this: the address behind our trusted proxies, never a spoofable header."""
        return client_ip(request)
