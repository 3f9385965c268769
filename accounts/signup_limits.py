"""Daily caps on sign-ups per client network and per mailbox, counted in the shared cache like allauth's limits."""

from __future__ import annotations

from allauth.core.internal import ratelimit
from django.conf import settings
from django.http import HttpRequest

from accounts.emails import normalize_email
from seedance_saas.client_ip import client_network

APP = "accounts.signup_limits"


def _config() -> dict[str, str]:
    # A limit of 0 turns that cap off.
    caps = {
        "signup_network": settings.SIGNUP_LIMIT_PER_NETWORK_PER_DAY,
        "signup_email": settings.SIGNUP_LIMIT_PER_EMAIL_PER_DAY,
    }
    return {action: f"{limit}/1d/key" for action, limit in caps.items() if limit > 0}


def signup_consume(*, request: HttpRequest, email: str) -> str | None:
    """Counts one sign-up against both caps; returns why it is refused (nothing is counted then), or None."""
    config = _config()
    network_usage = ratelimit.consume(
        request, app=APP, action="signup_network", config=config, key=client_network(request)
    )
    if network_usage is None:
        return (
            f"Too many sign-ups from your network today (at most {settings.SIGNUP_LIMIT_PER_NETWORK_PER_DAY} a day). "
            "Try again tomorrow, or ask a teammate who has an account to invite you."
        )
    if ratelimit.consume(request, app=APP, action="signup_email", config=config, key=normalize_email(email)) is None:
        network_usage.rollback()
        return (
            f"This email address was used for too many sign-ups today (at most "
            f"{settings.SIGNUP_LIMIT_PER_EMAIL_PER_DAY} a day). Try again tomorrow, or log in if you have an account."
        )
    return None
