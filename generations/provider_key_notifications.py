"""Tell the owners of the organizations a stopped provider key affects, once per stop, by email."""

from __future__ import annotations

import logging

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Q

from accounts.models import Membership, Role
from generations.models import IN_FLIGHT, Generation, ProviderKey, Status
from generations.provider_key_selectors import own_key_organization_ids

logger = logging.getLogger(__name__)


def _affected_organization_ids(key: ProviderKey) -> set[int]:
    """An own key: its organization. A shared key: organizations without an own key that have jobs waiting."""
    if key.organization_id is not None:
        return {key.organization_id}
    waiting = Generation.objects.filter(Q(status=Status.QUEUED) | Q(status__in=IN_FLIGHT, provider_key=key))
    return set(
        waiting.exclude(organization_id__in=own_key_organization_ids()).values_list("organization_id", flat=True)
    )


def provider_key_notify_stopped(*, key_id: int) -> int:
    """Email every owner of each affected organization; returns how many emails went out. Called once per stop
    (provider_key_stop claims the stop with one UPDATE), never raises."""
    key = ProviderKey.objects.filter(pk=key_id, stopped_at__isnull=False).first()
    if key is None:
        return 0
    owners = (
        Membership.objects.filter(
            organization_id__in=_affected_organization_ids(key), role=Role.OWNER, user__is_active=True
        )
        .select_related("user", "organization")
        .order_by("pk")
    )
    own = key.organization_id is not None
    sent = 0
    for membership in owners:
        if own:
            body = (
                f"Eachlabs refused the provider key your organization {membership.organization.name} attached "
                f"(ending …{key.last4}). Your videos stay queued and nothing is charged while they wait.\n\n"
                f"Attach a working key on the organization settings page: {settings.SITE_URL}/organization/"
            )
        else:
            body = (
                f"Our video provider is refusing our account, so the videos of {membership.organization.name} "
                "are waiting in the queue. Nothing is lost and nothing is charged while they wait; they start as "
                "soon as our operators have fixed it."
            )
        try:
            send_mail(
                settings.ACCOUNT_EMAIL_SUBJECT_PREFIX + "Your videos are waiting: provider key refused",
                body,
                settings.DEFAULT_FROM_EMAIL,
                [membership.user.email],
            )
            sent += 1
        except Exception:
            logger.exception("the key-stopped email to an owner of organization %s failed", membership.organization_id)
    logger.info("provider key %s stopped: %s owner emails sent", key.fingerprint_prefix, sent)
    return sent
