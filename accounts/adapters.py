"""allauth hooks: a new sign-up gets a personal organization; client IPs and failed-login limits are ours."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.core.internal import ratelimit
from django.db import transaction

from accounts import services
from seedance_saas.client_ip import client_ip

APP = "allauth.account"


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

    # allauth counts failed log-ins per IP and per address; the per-address count (5 in 5 minutes) lets anyone
    # lock a known address out. Ours counts per (address, client IP) instead, plus a much higher per-address
    # cap ("login_failed_account") so a guess spread over many IPs still stops. These override allauth
    # internals (pinned version): keep them in step when upgrading.

    def _get_login_attempts_cache_key(self, request, **credentials) -> str:
        # get_ip: the client IP as allauth's per-IP limits see it (IPv6 cut to its /64).
        return f"{self._account_key(request, **credentials)}:{ratelimit.get_ip(request)}"

    def _account_key(self, request, **credentials) -> str:
        return super()._get_login_attempts_cache_key(request, **credentials)

    def pre_authenticate(self, request, **credentials) -> None:
        super().pre_authenticate(request, **credentials)
        account_usage = ratelimit.consume(
            request, app=APP, action="login_failed_account", key=self._account_key(request, **credentials)
        )
        if not account_usage:
            self._rollback_login_failed_rl_usage()
            raise self.validation_error("too_many_login_attempts")
        # A successful log-in rolls back this attempt from every count, the per-address one included.
        self._login_failed_rl_usage.usage.extend(account_usage.usage)

    def _delete_login_attempts_cached_email(self, request, **credentials) -> None:
        """A password reset wipes the counts of this address (from this client, and from everyone)."""
        super()._delete_login_attempts_cached_email(request, **credentials)
        ratelimit.clear(request, app=APP, action="login_failed_account", key=self._account_key(request, **credentials))
