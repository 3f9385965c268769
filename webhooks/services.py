"""Every write of partner webhooks: endpoints, publishing events, signed delivery attempts, retries, replay."""

from __future__ import annotations

import functools
import json
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import send_mail
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import F
from django.db.models.functions import Coalesce
from django.utils import timezone
from django_q.tasks import async_task

from accounts.models import Membership, Organization, Role
from seedance_saas.errors import Conflict, InvalidInput
from webhooks import addresses, transport
from webhooks.models import EVENT_TYPES, DeliveryStatus, WebhookDelivery, WebhookEndpoint
from webhooks.rotation import (  # noqa: F401 -- rotation's public names stay reachable as services.<name>
    SECRET_PREFIX,
    secret_generate,
    signature_for,
    signature_header,
    webhook_endpoint_rotate_secret,
)

logger = logging.getLogger(__name__)

EXCERPT_CHARS = 500
MAX_ENDPOINTS_PER_ORGANIZATION = 20
USER_AGENT = "SeedanceStudio-Webhooks/1.0"
WEBHOOKS_CLUSTER = "webhooks"  # sends run on their own django-q2 cluster (settings.Q_CLUSTER["ALT_CLUSTERS"])


# --- Endpoints -------------------------------------------------------------------


def _localhost_allowed(scheme: str, host: str) -> bool:
    return settings.WEBHOOKS_ALLOW_HTTP_LOCALHOST and scheme in ("http", "https") and host in addresses.LOOPBACK_NAMES


def url_validate(url: str) -> str:
    """HTTPS to a public host (http://127.0.0.1 too when WEBHOOKS_ALLOW_HTTP_LOCALHOST is on)."""

    def invalid(message: str):
        return InvalidInput(message, fields={"url": [message]})

    url = (url or "").strip()
    if len(url) > 500:
        raise invalid("Use a URL of at most 500 characters.")
    try:
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        parts.port  # noqa: B018 -- raises ValueError on a bad port
    except ValueError as exc:
        raise invalid("Enter a valid URL.") from exc
    if not host or parts.scheme not in ("http", "https") or parts.username or parts.password:
        raise invalid("Enter an https:// URL without credentials.")
    if _localhost_allowed(parts.scheme, host):
        return url
    if parts.scheme != "https":
        raise invalid("Webhook URLs must use https://.")
    try:
        if not addresses.is_public(addresses.parse(host)):
            raise invalid("Webhook URLs must point at a public host, not a private address.")
    except ValueError:  # a name, not an address
        if host == "localhost" or host.endswith((".localhost", ".local", ".internal")) or "." not in host:
            raise invalid("Webhook URLs must point at a public host name.") from None
    return url


def _event_types_validate(event_types) -> list[str]:
    if not isinstance(event_types, list) or not event_types:
        raise InvalidInput("Choose at least one event type.", fields={"event_types": ["Choose at least one."]})
    unknown = [str(t) for t in event_types if t not in EVENT_TYPES]
    if unknown:
        message = f"Unknown event types {', '.join(unknown)}; use {', '.join(EVENT_TYPES)}."
        raise InvalidInput(message, fields={"event_types": [message]})
    return sorted(set(event_types))


def webhook_endpoint_create(
    *, organization: Organization, url: str, event_types: list[str] | None = None, description: str = ""
) -> WebhookEndpoint:
    url = url_validate(url)
    event_types = _event_types_validate(list(EVENT_TYPES) if event_types is None else event_types)
    if WebhookEndpoint.objects.filter(organization=organization).count() >= MAX_ENDPOINTS_PER_ORGANIZATION:
        raise Conflict(f"An organization can have at most {MAX_ENDPOINTS_PER_ORGANIZATION} webhook endpoints.")
    return WebhookEndpoint.objects.create(
        organization=organization,
        url=url,
        event_types=event_types,
        description=description[:200],
        secret=secret_generate(),
    )


def webhook_endpoint_update(
    *, endpoint: WebhookEndpoint, url=None, event_types=None, description=None, enabled: bool | None = None
) -> WebhookEndpoint:
    """Changes what is given; enabling a disabled endpoint clears its failure history."""
    if url is not None:
        endpoint.url = url_validate(url)
    if event_types is not None:
        endpoint.event_types = _event_types_validate(event_types)
    if description is not None:
        endpoint.description = description[:200]
    if enabled is True and not endpoint.enabled:
        endpoint.enabled = True
        endpoint.disabled_at = None
        endpoint.disabled_reason = ""
        endpoint.consecutive_failures = 0
        endpoint.failing_since = None
    elif enabled is False and endpoint.enabled:
        endpoint.enabled = False
        endpoint.disabled_at = timezone.now()
        endpoint.disabled_reason = "Disabled by the organization."
    endpoint.save()
    return endpoint


def webhook_endpoint_delete(*, endpoint: WebhookEndpoint) -> None:
    endpoint.delete()


def webhook_endpoint_disable(*, endpoint: WebhookEndpoint, reason: str) -> WebhookEndpoint:
    """Turns a failing endpoint off, gives up its pending deliveries and tells the owners by email."""
    now = timezone.now()
    with transaction.atomic():
        changed = WebhookEndpoint.objects.filter(pk=endpoint.pk, enabled=True).update(
            enabled=False, disabled_at=now, disabled_reason=reason[:300], updated_at=now
        )
        WebhookDelivery.objects.filter(endpoint=endpoint, status=DeliveryStatus.PENDING).update(
            status=DeliveryStatus.FAILED, next_attempt_at=None, last_error="The endpoint was disabled."
        )
    endpoint.refresh_from_db()
    if changed:
        logger.warning("webhook endpoint %s disabled: %s", endpoint.pk, reason)
        _notify_disabled(endpoint=endpoint)
    return endpoint


def _notify_disabled(*, endpoint: WebhookEndpoint) -> None:
    recipients = list(
        Membership.objects.filter(organization_id=endpoint.organization_id, role__in=[Role.OWNER, Role.ADMIN])
        .values_list("user__email", flat=True)
        .order_by("user__email")
    )
    if not recipients:
        return
    send_mail(
        subject="[Seedance] A webhook endpoint was disabled",
        message=(
            f"We disabled the webhook endpoint {endpoint.url} because {endpoint.disabled_reason}\n\n"
            "Fix the receiver, enable the endpoint again (PATCH /api/v1/webhook-endpoints/"
            f"{endpoint.pk}/ with enabled=true) and replay the deliveries you missed."
        ),
        from_email=None,
        recipient_list=recipients,
        fail_silently=True,
    )


# --- Events and deliveries -------------------------------------------------------


def event_publish(*, organization: Organization, event_type: str, payload: dict) -> list[WebhookDelivery]:
    """One delivery per enabled endpoint subscribed to this event; each is sent by a task after commit."""
    if event_type not in EVENT_TYPES:
        raise InvalidInput(f"Unknown event type {event_type!r}.")
    event_id = "msg_" + secrets.token_urlsafe(18)
    body = {
        "id": event_id,
        "type": event_type,
        "timestamp": timezone.now().isoformat(),
        "data": json.loads(json.dumps(payload, cls=DjangoJSONEncoder)),
    }
    endpoints = [
        e
        for e in WebhookEndpoint.objects.filter(organization=organization, enabled=True)
        if event_type in e.event_types
    ]
    now = timezone.now()
    with transaction.atomic():
        deliveries = [
            WebhookDelivery.objects.create(
                organization=organization,
                endpoint=endpoint,
                event_id=event_id,
                event_type=event_type,
                payload=body,
                next_attempt_at=now,
            )
            for endpoint in endpoints
        ]
        for delivery in deliveries:
            _enqueue_on_commit(delivery)
    return deliveries


def _enqueue_on_commit(delivery: WebhookDelivery) -> None:
    delivery_id = str(delivery.pk)
    transaction.on_commit(lambda: _enqueue(delivery_id))


def _enqueue(delivery_id: str) -> None:
    """On the webhooks cluster only, so a slow partner can hold up sends, never dispatch or polling."""
    async_task("webhooks.tasks.delivery_attempt", delivery_id, cluster=WEBHOOKS_CLUSTER)


def delivery_replay(*, delivery: WebhookDelivery) -> WebhookDelivery:
    """Sends the same event (same webhook-id and body) again, as a new delivery with its own log."""
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        raise Conflict("This endpoint is disabled; enable it first, then replay.", code="endpoint_disabled")
    with transaction.atomic():
        replay = WebhookDelivery.objects.create(
            organization=delivery.organization,
            endpoint=endpoint,
            event_id=delivery.event_id,
            event_type=delivery.event_type,
            payload=delivery.payload,
            next_attempt_at=timezone.now(),
            replay_of=delivery,
        )
        _enqueue_on_commit(replay)
    return replay


def deliveries_send_due(*, limit: int = 500) -> int:
    """Enqueues every pending delivery whose next attempt is due (the schedule runs this each minute)."""
    due = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=timezone.now())
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for delivery_id in due:
        _enqueue(str(delivery_id))
    return len(due)


@functools.cache
def _webhooks_broker():
    from django_q.brokers import get_broker

    return get_broker(WEBHOOKS_CLUSTER)


def deliveries_requeue_lost(*, grace_s: float = 5.0, every_s: int = 5, limit: int = 200) -> int:
    """Re-enqueue due deliveries whose task was lost (a killed worker, a Redis queue a killed node had fetched).

    The generations ticker calls this each pass; it acts at most every `every_s` seconds and only while the
    webhooks queue is empty, since a delivery waiting in a backlog is not lost. A delivery enqueued twice is
    still sent once: each attempt is claimed.
    """
    from django.core.cache import cache

    if settings.Q_CLUSTER.get("sync") or not cache.add("webhooks:requeue-lost", True, timeout=every_s):
        return 0
    if _webhooks_broker().queue_size():
        return 0
    overdue = timezone.now() - timedelta(seconds=grace_s)
    due = list(
        WebhookDelivery.objects.filter(status=DeliveryStatus.PENDING, next_attempt_at__lte=overdue)
        .order_by("next_attempt_at")
        .values_list("pk", flat=True)[:limit]
    )
    for delivery_id in due:
        _enqueue(str(delivery_id))
    return len(due)


@dataclass
class AttemptResult:
    status_code: int | None
    latency_ms: int
    excerpt: str
    error: str

    @property
    def ok(self) -> bool:
        # A 2xx that then stalls past the deadline is a failure: the receiver must answer in time.
        return not self.error and self.status_code is not None and 200 <= self.status_code < 300


def _claim(delivery_id) -> WebhookDelivery | None:
    """Compare-and-set on the due time, so the task and the schedule never send one attempt twice."""
    now = timezone.now()
    # A send ends within WEBHOOKS_TIMEOUT_S; past the lease, a send lost with a killed worker is due again.
    lease = now + timedelta(seconds=settings.WEBHOOKS_TIMEOUT_S + 5)
    claimed = WebhookDelivery.objects.filter(
        pk=delivery_id, status=DeliveryStatus.PENDING, next_attempt_at__lte=now
    ).update(next_attempt_at=lease)
    if not claimed:
        return None
    return WebhookDelivery.objects.select_related("endpoint").get(pk=delivery_id)


def _send(*, endpoint: WebhookEndpoint, delivery: WebhookDelivery) -> AttemptResult:
    body = json.dumps(delivery.payload, separators=(",", ":"), sort_keys=True)
    now = timezone.now()  # the secrets live at send time sign it, so a retry after a rotation uses the new one
    timestamp = int(now.timestamp())
    headers = {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": delivery.event_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signature_header(
            endpoint=endpoint, msg_id=delivery.event_id, timestamp=timestamp, body=body, now=now
        ),
    }
    parts = urlsplit(endpoint.url)
    outcome = transport.post(
        endpoint.url,
        body=body.encode(),
        headers=headers,
        timeout_s=settings.WEBHOOKS_TIMEOUT_S,
        max_response_bytes=settings.WEBHOOKS_MAX_RESPONSE_BYTES,
        allow_loopback=_localhost_allowed(parts.scheme, (parts.hostname or "").lower()),
    )
    error = outcome.error
    if not error and outcome.status_code is not None and not 200 <= outcome.status_code < 300:
        error = f"HTTP {outcome.status_code}"
    excerpt = outcome.body.decode("utf-8", errors="replace")[:EXCERPT_CHARS]
    return AttemptResult(outcome.status_code, int(outcome.elapsed_s * 1000), excerpt, error)


def delivery_attempt(*, delivery_id) -> WebhookDelivery | None:
    """Sends one due attempt (outside any transaction), logs it, then schedules the retry or gives up."""
    delivery = _claim(delivery_id)
    if delivery is None:
        return None
    endpoint = delivery.endpoint
    if not endpoint.enabled:
        WebhookDelivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED, next_attempt_at=None, last_error="The endpoint is disabled."
        )
        return None
    result = _send(endpoint=endpoint, delivery=delivery)
    delivery = _attempt_record(delivery=delivery, result=result)
    _endpoint_health_check(endpoint=endpoint)
    return delivery


def _attempt_record(*, delivery: WebhookDelivery, result: AttemptResult) -> WebhookDelivery:
    now = timezone.now()
    schedule = settings.WEBHOOKS_RETRY_SCHEDULE_S
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        delivery.attempts += 1
        delivery.last_attempt_at = now
        delivery.last_status_code = result.status_code
        delivery.last_latency_ms = result.latency_ms
        delivery.last_response_excerpt = result.excerpt
        delivery.last_error = result.error
        delivery.attempt_log = [
            *delivery.attempt_log,
            {
                "at": now.isoformat(),
                "status_code": result.status_code,
                "latency_ms": result.latency_ms,
                "response_excerpt": result.excerpt,
                "error": result.error,
            },
        ]
        if result.ok:
            delivery.status = DeliveryStatus.SUCCEEDED
            delivery.delivered_at = now
            delivery.next_attempt_at = None
        elif delivery.attempts > len(schedule):
            delivery.status = DeliveryStatus.FAILED
            delivery.next_attempt_at = None
        else:
            delivery.next_attempt_at = now + timedelta(seconds=schedule[delivery.attempts - 1])
        delivery.save()
        endpoints = WebhookEndpoint.objects.filter(pk=delivery.endpoint_id)
        if result.ok:
            endpoints.update(consecutive_failures=0, failing_since=None)
        else:
            endpoints.update(
                consecutive_failures=F("consecutive_failures") + 1, failing_since=Coalesce("failing_since", now)
            )
    return delivery


def _endpoint_health_check(*, endpoint: WebhookEndpoint) -> None:
    endpoint.refresh_from_db()
    if not endpoint.enabled or endpoint.failing_since is None:
        return
    failing_for = timezone.now() - endpoint.failing_since
    if failing_for >= timedelta(hours=settings.WEBHOOKS_DISABLE_AFTER_HOURS):
        hours = settings.WEBHOOKS_DISABLE_AFTER_HOURS
        webhook_endpoint_disable(endpoint=endpoint, reason=f"every delivery failed for {hours:g} hours.")
    elif endpoint.consecutive_failures >= settings.WEBHOOKS_DISABLE_AFTER_FAILURES:
        count = endpoint.consecutive_failures
        webhook_endpoint_disable(endpoint=endpoint, reason=f"{count} delivery attempts in a row failed.")
