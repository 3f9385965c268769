"""Publishing, signing, retries, replay and disabling of partner webhooks, against a real HTTP receiver."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from datetime import timedelta

import pytest
from django.conf import settings as django_settings
from django.core import mail
from django.utils import timezone

from seedance_saas.errors import Conflict, InvalidInput
from webhooks import services
from webhooks.models import DeliveryStatus, WebhookDelivery, WebhookEndpoint


def verify_standard_webhook(secret: str, headers: dict, body: str, tolerance_s: int = 300) -> dict:
    """An independent Standard Webhooks verifier, as a partner would write it from the spec."""
    key = base64.b64decode(secret.split("_", 1)[1])
    msg_id, timestamp = headers["webhook-id"], headers["webhook-timestamp"]
    assert abs(int(timestamp) - timezone.now().timestamp()) < tolerance_s
    expected = base64.b64encode(hmac.new(key, f"{msg_id}.{timestamp}.{body}".encode(), hashlib.sha256).digest())
    signatures = [s.split(",", 1)[1] for s in headers["webhook-signature"].split(" ") if s.startswith("v1,")]
    assert any(hmac.compare_digest(expected.decode(), s) for s in signatures), "signature does not verify"
    return json.loads(body)


def publish(organization, django_capture_on_commit_callbacks, event_type="generation.succeeded", payload=None):
    with django_capture_on_commit_callbacks(execute=True):
        return services.event_publish(
            organization=organization, event_type=event_type, payload=payload or {"id": "gen_1", "status": "succeeded"}
        )


def test_secret_has_the_standard_shape(organization, receiver):
    endpoint = services.webhook_endpoint_create(organization=organization, url=receiver.url)
    assert endpoint.secret.startswith("whsec_")
    assert len(base64.b64decode(endpoint.secret.removeprefix("whsec_"))) >= 24


def test_publish_delivers_a_signed_event_that_an_independent_verifier_accepts(
    organization, receiver, django_capture_on_commit_callbacks
):
    endpoint = services.webhook_endpoint_create(organization=organization, url=receiver.url)
    [delivery] = publish(organization, django_capture_on_commit_callbacks, payload={"id": "g1", "cost": "0.5648"})

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    event = verify_standard_webhook(endpoint.secret, request["headers"], request["body"])
    assert event["type"] == "generation.succeeded" and event["data"] == {"id": "g1", "cost": "0.5648"}
    assert request["headers"]["webhook-id"] == delivery.event_id == event["id"]
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 1
    assert delivery.last_status_code == 200 and delivery.last_response_excerpt == "received with 200"
    assert delivery.attempt_log[0]["status_code"] == 200 and delivery.attempt_log[0]["latency_ms"] >= 0


def test_a_wrong_secret_does_not_verify(organization, receiver, django_capture_on_commit_callbacks):
    services.webhook_endpoint_create(organization=organization, url=receiver.url)
    publish(organization, django_capture_on_commit_callbacks)
    request = receiver.requests[0]
    with pytest.raises(AssertionError, match="does not verify"):
        verify_standard_webhook(services.secret_generate(), request["headers"], request["body"])
    with pytest.raises(AssertionError, match="does not verify"):
        verify_standard_webhook(
            WebhookEndpoint.objects.get().secret, request["headers"], request["body"].replace("g", "h", 1)
        )


def test_only_subscribed_enabled_endpoints_of_the_organization_receive(
    organization, other_organization, receiver, django_capture_on_commit_callbacks
):
    services.webhook_endpoint_create(organization=organization, url=receiver.url, event_types=["generation.failed"])
    disabled = services.webhook_endpoint_create(organization=organization, url=receiver.url)
    services.webhook_endpoint_update(endpoint=disabled, enabled=False)
    services.webhook_endpoint_create(organization=other_organization, url=receiver.url)

    assert publish(organization, django_capture_on_commit_callbacks, event_type="generation.succeeded") == []
    assert receiver.requests == []
    [delivery] = publish(organization, django_capture_on_commit_callbacks, event_type="generation.failed")
    assert json.loads(receiver.requests[0]["body"])["type"] == "generation.failed"
    assert delivery.organization == organization


def test_failures_are_retried_on_the_schedule_until_success(
    organization, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_RETRY_SCHEDULE_S = [5, 300]
    services.webhook_endpoint_create(organization=organization, url=receiver.url)
    receiver.statuses = [500, 503]
    [delivery] = publish(organization, django_capture_on_commit_callbacks)

    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.PENDING and delivery.attempts == 1
    assert timedelta(seconds=3) < delivery.next_attempt_at - timezone.now() <= timedelta(seconds=5)
    assert services.deliveries_send_due() == 0  # not due yet: nothing is sent early

    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert services.deliveries_send_due() == 1
    delivery.refresh_from_db()
    assert delivery.attempts == 2 and delivery.last_status_code == 503
    assert timedelta(seconds=290) < delivery.next_attempt_at - timezone.now() <= timedelta(seconds=300)

    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    services.deliveries_send_due()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and delivery.attempts == 3
    assert [a["status_code"] for a in delivery.attempt_log] == [500, 503, 200]
    assert len({r["headers"]["webhook-id"] for r in receiver.requests}) == 1  # same id on every retry
    assert WebhookEndpoint.objects.get().consecutive_failures == 0


def test_gives_up_after_the_last_retry(organization, receiver, settings, django_capture_on_commit_callbacks):
    settings.WEBHOOKS_RETRY_SCHEDULE_S = [0]
    services.webhook_endpoint_create(organization=organization, url=receiver.url)
    receiver.statuses = [500, 500, 500]
    [delivery] = publish(organization, django_capture_on_commit_callbacks)
    services.deliveries_send_due()
    services.deliveries_send_due()
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 2 and delivery.next_attempt_at is None
    assert len(receiver.requests) == 2


def test_unreachable_receiver_and_timeouts_are_logged_as_failed_attempts(
    organization, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_TIMEOUT_S = 0.3
    services.webhook_endpoint_create(organization=organization, url=receiver.url)
    receiver.delay_s = 1.0
    [slow] = publish(organization, django_capture_on_commit_callbacks)
    slow.refresh_from_db()
    assert slow.status == DeliveryStatus.PENDING and slow.last_status_code is None
    assert slow.last_error == "timeout" and slow.attempts == 1

    receiver.delay_s = 0
    receiver.close()
    WebhookDelivery.objects.filter(pk=slow.pk).update(next_attempt_at=timezone.now())
    services.deliveries_send_due()
    slow.refresh_from_db()
    assert slow.attempts == 2 and slow.last_error == "connection refused"


def test_a_delivery_is_never_attempted_twice_at_once(organization, receiver, django_capture_on_commit_callbacks):
    services.webhook_endpoint_create(organization=organization, url=receiver.url)
    receiver.statuses = [500]
    [delivery] = publish(organization, django_capture_on_commit_callbacks)
    # The task and the schedule both try the same due attempt: the claim lets one through.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=timezone.now())
    assert services.delivery_attempt(delivery_id=delivery.pk) is not None
    assert services.delivery_attempt(delivery_id=delivery.pk) is None
    assert len(receiver.requests) == 2


def test_replay_sends_the_same_event_again_as_a_new_delivery(
    organization, receiver, django_capture_on_commit_callbacks
):
    endpoint = services.webhook_endpoint_create(organization=organization, url=receiver.url)
    [delivery] = publish(organization, django_capture_on_commit_callbacks)
    with django_capture_on_commit_callbacks(execute=True):
        replay = services.delivery_replay(delivery=delivery)
    replay.refresh_from_db()
    assert replay.status == DeliveryStatus.SUCCEEDED and replay.replay_of == delivery
    first, second = receiver.requests
    assert first["body"] == second["body"] and first["headers"]["webhook-id"] == second["headers"]["webhook-id"]
    verify_standard_webhook(endpoint.secret, second["headers"], second["body"])


def test_endpoint_failing_too_often_is_disabled_with_a_notice(
    organization, user, receiver, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_DISABLE_AFTER_FAILURES = 3
    settings.WEBHOOKS_RETRY_SCHEDULE_S = [0, 0, 0, 0]
    endpoint = services.webhook_endpoint_create(organization=organization, url=receiver.url)
    receiver.statuses = [500] * 10
    [delivery] = publish(organization, django_capture_on_commit_callbacks)
    services.deliveries_send_due()
    services.deliveries_send_due()
    endpoint.refresh_from_db()
    delivery.refresh_from_db()
    assert not endpoint.enabled and "3 delivery attempts in a row failed" in endpoint.disabled_reason
    assert delivery.status == DeliveryStatus.FAILED and delivery.attempts == 3
    assert services.deliveries_send_due() == 0 and len(receiver.requests) == 3
    [notice] = mail.outbox
    assert user.email in notice.to and endpoint.url in notice.body
    assert publish(organization, django_capture_on_commit_callbacks) == []
    with pytest.raises(Conflict):
        services.delivery_replay(delivery=delivery)

    services.webhook_endpoint_update(endpoint=endpoint, enabled=True)
    assert endpoint.consecutive_failures == 0 and endpoint.failing_since is None


def test_endpoint_failing_for_a_day_is_disabled(organization, receiver, django_capture_on_commit_callbacks):
    endpoint = services.webhook_endpoint_create(organization=organization, url=receiver.url)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(hours=25), consecutive_failures=7
    )
    receiver.statuses = [502]
    publish(organization, django_capture_on_commit_callbacks)
    endpoint.refresh_from_db()
    assert not endpoint.enabled and "24 hours" in endpoint.disabled_reason


def test_a_success_resets_the_failure_streak(organization, receiver, django_capture_on_commit_callbacks):
    endpoint = services.webhook_endpoint_create(organization=organization, url=receiver.url)
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(
        failing_since=timezone.now() - timedelta(hours=2), consecutive_failures=7
    )
    publish(organization, django_capture_on_commit_callbacks)
    endpoint.refresh_from_db()
    assert endpoint.enabled and endpoint.consecutive_failures == 0 and endpoint.failing_since is None


@pytest.mark.parametrize(
    "url",
    [
        "http://partner.example/hook",
        "https://10.0.0.5/hook",
        "https://169.254.169.254/latest",
        "https://localhost/hook",
        "https://[::1]/hook",
        "https://user:pw@partner.example/hook",
        "ftp://partner.example/",
        "not a url",
        "https://partner.example:99999/",
        "http://127.0.0.1:8000/hook",
    ],
)
def test_only_public_https_urls_are_accepted(organization, settings, url):
    settings.WEBHOOKS_ALLOW_HTTP_LOCALHOST = False
    with pytest.raises(InvalidInput) as error:
        services.webhook_endpoint_create(organization=organization, url=url)
    assert "url" in error.value.fields


def test_localhost_http_is_accepted_only_when_allowed(organization, settings):
    settings.WEBHOOKS_ALLOW_HTTP_LOCALHOST = True
    assert services.webhook_endpoint_create(organization=organization, url="http://127.0.0.1:9/h").url.startswith(
        "http:"
    )
    settings.WEBHOOKS_ALLOW_HTTP_LOCALHOST = False
    assert services.webhook_endpoint_create(organization=organization, url="https://hooks.partner.example/h")


def test_a_public_name_that_resolves_to_a_private_address_is_refused_at_send_time(
    organization, settings, django_capture_on_commit_callbacks
):
    settings.WEBHOOKS_ALLOW_HTTP_LOCALHOST = False
    endpoint = services.webhook_endpoint_create(organization=organization, url="https://localtest.me/hook")
    [delivery] = publish(organization, django_capture_on_commit_callbacks)
    delivery.refresh_from_db()
    assert delivery.endpoint == endpoint and delivery.last_status_code is None
    assert delivery.last_error in ("address not allowed", "DNS failure")


def test_schedules_are_registered():
    from django_q.models import Schedule

    names = set(Schedule.objects.values_list("func", flat=True))
    assert {"webhooks.tasks.deliveries_send_due", "webhooks.tasks.idempotency_records_purge"} <= names


def test_the_readme_verification_snippet_accepts_a_real_delivery_and_refuses_a_tampered_one(
    organization, receiver, django_capture_on_commit_callbacks
):
    readme = (django_settings.BASE_DIR / "README.md").read_text()
    snippet = readme.split("Verifying a delivery (Python, standard library only):", 1)[1]
    snippet = snippet.split("```python", 1)[1].split("```", 1)[0]
    namespace: dict = {}
    exec(snippet, namespace)  # noqa: S102 -- our own README, run as a partner would paste it
    verify = namespace["verify"]

    endpoint = services.webhook_endpoint_create(organization=organization, url=receiver.url)
    publish(organization, django_capture_on_commit_callbacks, payload={"id": "g9"})
    request = receiver.requests[0]
    assert verify(endpoint.secret, request["headers"], request["body"].encode())["data"] == {"id": "g9"}
    with pytest.raises(ValueError, match="bad signature"):
        verify(endpoint.secret, request["headers"], request["body"].replace("g9", "g8").encode())


def test_a_send_lost_with_a_killed_worker_is_sent_again_within_seconds(
    organization, receiver, settings, django_capture_on_commit_callbacks
):
    """A worker killed mid-send leaves the attempt claimed; after the short claim the ticker sends it again."""
    from django.core.cache import cache

    services.webhook_endpoint_create(organization=organization, url=receiver.url)
    with django_capture_on_commit_callbacks(execute=False):  # the task is lost: never runs
        [delivery] = services.event_publish(
            organization=organization, event_type="generation.succeeded", payload={"id": "g"}
        )
    assert services._claim(delivery.pk) is not None  # the killed worker had claimed it
    delivery.refresh_from_db()
    assert delivery.next_attempt_at - timezone.now() <= timedelta(seconds=settings.WEBHOOKS_TIMEOUT_S + 5)
    settings.Q_CLUSTER = {**django_settings.Q_CLUSTER, "sync": False}  # as on a real node (tasks still run inline)
    assert services.deliveries_requeue_lost() == 0  # still claimed: nothing is sent twice at once
    claim_ran_out = timezone.now() - timedelta(seconds=6)
    WebhookDelivery.objects.filter(pk=delivery.pk).update(next_attempt_at=claim_ran_out)
    cache.delete("webhooks:requeue-lost")
    assert services.deliveries_requeue_lost() == 1
    delivery.refresh_from_db()
    assert delivery.status == DeliveryStatus.SUCCEEDED and len(receiver.requests) == 1
