"""Partner webhook sends run on their own django-q2 queue (the `webhooks` cluster), never on the main one
that dispatches and polls every tenant's generations: on the ORM broker and on the Redis broker."""

from __future__ import annotations

import os
import time

import pytest
from django.db import connection
from django_q.brokers import get_broker
from django_q.conf import Conf
from django_q.signing import SignedPackage

from tests.stack import Stack
from webhooks import services


@pytest.fixture
def queued_for_real(monkeypatch):
    """Tasks go to the broker instead of running inline (the suite runs django-q2 synchronously)."""
    monkeypatch.setattr(Conf, "SYNC", False)
    main, webhooks = get_broker(), get_broker("webhooks")
    for broker in (main, webhooks):
        broker.purge_queue()
    yield main, webhooks
    for broker in (main, webhooks):
        broker.purge_queue()


def test_a_webhook_send_is_queued_for_the_webhooks_cluster_only(
    organization, receiver, queued_for_real, django_capture_on_commit_callbacks
):
    main, webhooks = queued_for_real
    services.webhook_endpoint_create(organization=organization, url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        [delivery] = services.event_publish(
            organization=organization, event_type="generation.succeeded", payload={"id": "g1"}
        )

    assert main.dequeue() is None, "the main cluster would pick up a webhook send"
    [(ack_id, package)] = webhooks.dequeue()
    task = SignedPackage.loads(package)
    assert task["func"] == "webhooks.tasks.delivery_attempt" and task["args"] == (str(delivery.pk),)
    assert task["cluster"] == "webhooks"
    webhooks.acknowledge(ack_id)
    assert receiver.requests == []  # queued, not sent inline


def test_retries_from_the_schedule_go_to_the_webhooks_cluster_too(organization, receiver, queued_for_real):
    main, webhooks = queued_for_real
    services.webhook_endpoint_create(organization=organization, url=receiver.url)
    services.event_publish(organization=organization, event_type="generation.succeeded", payload={"id": "g1"})
    assert services.deliveries_send_due() == 1
    assert main.queue_size() == 0 and webhooks.queue_size() == 1


def _stack_options() -> dict:
    if connection.vendor == "postgresql":
        maintenance_url = os.environ["DATABASE_URL"].rsplit("/", 1)[0] + "/postgres"
        return {"postgres_url": maintenance_url, "redis_url": os.environ.get("REDIS_URL")}
    return {"redis_url": os.environ.get("STACK_REDIS_URL")}  # set it to try the Redis broker on SQLite


PUBLISH = """
from accounts.models import Organization
from webhooks import services
organization = Organization.objects.get(slug={slug!r})
services.webhook_endpoint_create(organization=organization, url={url!r})
[delivery] = services.event_publish(organization=organization, event_type="generation.succeeded", payload={{"id": "g"}})
emit(str(delivery.pk))
"""
WEBHOOKS_QUEUE = "from django_q.brokers import get_broker\nemit(get_broker('webhooks').queue_size())"


@pytest.mark.django_db(transaction=True)
def test_a_running_main_cluster_leaves_webhook_sends_to_the_webhook_worker_group(tmp_path, receiver):
    with Stack(tmp_path, latency_s=2, webhook_cluster=False, **_stack_options()) as stack:
        slug = stack.manage("create_tenant", "--name", "Hooks", "--owner-email", "hooks@example.com").split()[-1]
        stack.run_python(PUBLISH.format(slug=slug, url=receiver.url))
        time.sleep(4)  # the main cluster polls its queue every 0.2 s: ample time to take a task it should not
        assert receiver.requests == [], "the main cluster sent a partner webhook"
        # Still waiting on its own queue; the schedule's "send due retries" may have queued it a second time,
        # which is harmless (each attempt is claimed): the receiver below still hears it once.
        assert stack.run_python(WEBHOOKS_QUEUE) >= 1

        stack.start_webhook_cluster()
        deadline = time.monotonic() + 30
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.2)
        assert len(receiver.requests) == 1, stack.log("qcluster-webhooks")[-3000:]
