"""allauth hooks: a new sign-up gets a personal organization."""

from allauth.account.adapter import DefaultAccountAdapter
from django.db import transaction

from accounts import services


class AccountAdapter(DefaultAccountAdapter):
    def save_user(self, request, user, form, commit=True):
        with transaction.atomic():
            user = super().save_user(request, user, form, commit=commit)
            if commit:
                services.organization_create_personal(user=user)
        return user
