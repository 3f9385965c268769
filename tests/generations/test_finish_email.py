"""The person who waits: a browser user hears by email, once, when their video is ready or has failed."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.utils import timezone
from django_q.tasks import async_task

from accounts import services as accounts_services
from generations import services
from generations.catalog import validate_inputs
from generations.models import Generation, Status
from tests.generations.test_lifecycle import png_upload


@pytest.fixture(autouse=True)
def generous_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)


def browser_generation(organization, user) -> Generation:
    """Made as the browser's form makes it: by a logged-in user, no API key."""
    image = png_upload()
    inputs = validate_inputs(prompt="a secret plan unfolds", duration="5", resolution="480p", image=image)
    end_user = accounts_services.end_user_for_user(organization=organization, user=user)
    return services.generation_create(
        organization=organization, end_user=end_user, inputs=inputs, image=image, created_by=user
    )


def api_generation(organization, api_key) -> Generation:
    image = png_upload()
    inputs = validate_inputs(prompt="a partner's clip", duration="5", resolution="480p", image=image)
    end_user = accounts_services.end_user_for_partner(organization=organization, external_id="customer-1")
    return services.generation_create(
        organization=organization, end_user=end_user, inputs=inputs, image=image, api_key=api_key
    )


def finish(simulator, capture, *, webhook: bool = True) -> None:
    """Submit, let the provider finish, and deliver its webhook, running what each commit enqueues."""
    with capture(execute=True):
        services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    with capture(execute=True):
        if webhook:
            simulator.deliver_webhooks()
        else:
            Generation.objects.filter(status=Status.PROCESSING).update(next_poll_at=timezone.now())
            services.upkeep_pass()


def test_succeeded_browser_video_sends_one_email_with_an_absolute_link(
    organization, user, simulator, mailoutbox, django_capture_on_commit_callbacks, settings
):
    generation = browser_generation(organization, user)
    finish(simulator, django_capture_on_commit_callbacks)
    generation.refresh_from_db()
    assert generation.status == Status.SUCCEEDED and generation.owner_notified_at is not None
    (message,) = mailoutbox
    assert message.to == [user.email] and "ready" in message.subject
    link = f"{settings.SITE_URL}/app/videos/{generation.pk}/"
    assert link.startswith("http://127.0.0.1:8000/") and link in message.body
    html, mimetype = message.alternatives[0]
    assert mimetype == "text/html" and f'href="{link}"' in html
    assert f"{settings.SITE_URL}/app/settings/" in message.body  # how to stop them
    assert "a secret plan" not in message.body  # the prompt stays out of mailboxes and mail logs


def test_failed_browser_video_sends_one_email_with_a_short_reason(
    organization, user, simulator, mailoutbox, django_capture_on_commit_callbacks, settings
):
    settings.SITE_URL = "https://studio.example.com"  # links follow the public address
    simulator.force_next(status_code=400, message="The image " + "is far too dark " * 40, details="image")
    generation = browser_generation(organization, user)
    with django_capture_on_commit_callbacks(execute=True):
        services.dispatch_pending()
    generation.refresh_from_db()
    assert generation.status == Status.FAILED
    (message,) = mailoutbox
    assert "could not be made" in message.subject
    assert "The image is far too dark" in message.body and "…" in message.body
    assert generation.error_message not in message.body  # shortened, not the provider's whole text
    assert f"https://studio.example.com/app/videos/{generation.pk}/" in message.body
    assert "Nothing was charged" in message.body


def test_two_finish_paths_and_a_task_delivered_twice_still_send_one_email(
    organization, user, simulator, mailoutbox, django_capture_on_commit_callbacks
):
    generation = browser_generation(organization, user)
    finish(simulator, django_capture_on_commit_callbacks, webhook=True)
    # The poll comes due as well, and the broker hands the email task out again (a worker died after sending).
    with django_capture_on_commit_callbacks(execute=True):
        Generation.objects.filter(pk=generation.pk).update(next_poll_at=timezone.now())
        services.upkeep_pass()
        services.generation_refresh(generation_id=generation.pk)
    async_task("generations.tasks.notify_owner", str(generation.pk), task_name="notify_owner")
    async_task("generations.tasks.notify_owner", str(generation.pk), task_name="notify_owner")
    assert len(mailoutbox) == 1


def test_opted_out_user_gets_no_email(organization, user, simulator, mailoutbox, django_capture_on_commit_callbacks):
    accounts_services.user_set_notifications(user=user, notify_video_finished=False)
    generation = browser_generation(organization, user)
    finish(simulator, django_capture_on_commit_callbacks)
    assert Generation.objects.get(pk=generation.pk).status == Status.SUCCEEDED
    assert mailoutbox == []


def test_api_made_video_sends_no_email(
    organization, user, api_key, simulator, mailoutbox, django_capture_on_commit_callbacks
):
    generation = api_generation(organization, api_key)
    finish(simulator, django_capture_on_commit_callbacks)
    assert Generation.objects.get(pk=generation.pk).status == Status.SUCCEEDED
    async_task("generations.tasks.notify_owner", str(generation.pk), task_name="notify_owner")
    assert mailoutbox == []


def test_canceled_video_sends_no_email(organization, user, mailoutbox, django_capture_on_commit_callbacks):
    generation = browser_generation(organization, user)
    with django_capture_on_commit_callbacks(execute=True):
        services.generation_cancel(generation=generation)
    assert mailoutbox == []


def test_email_server_down_leaves_the_generation_alone_and_a_later_try_sends(
    organization, user, simulator, mailoutbox, settings, django_capture_on_commit_callbacks, caplog
):
    settings.EMAIL_BACKEND = "tests.fakes.email.UnreachableEmailBackend"
    generation = browser_generation(organization, user)
    finish(simulator, django_capture_on_commit_callbacks)
    generation.refresh_from_db()
    assert generation.status == Status.SUCCEEDED and generation.video and generation.cost is not None
    assert generation.owner_notified_at is None  # the claim is given back
    assert "finish email for generation" in caplog.text and "SMTPServerDisconnected" in caplog.text

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    async_task("generations.tasks.notify_owner", str(generation.pk), task_name="notify_owner")
    assert len(mailoutbox) == 1


def test_profile_page_turns_the_email_off_and_on(browser_client, user):
    page = browser_client.get("/app/settings/")
    assert page.status_code == 200 and b"Email me when my video is ready or failed" in page.content
    assert b'name="notify_video_finished"' in page.content and b"checked" in page.content
    response = browser_client.post("/app/settings/", {})
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.notify_video_finished is False
    browser_client.post("/app/settings/", {"notify_video_finished": "on"})
    user.refresh_from_db()
    assert user.notify_video_finished is True


def test_profile_page_needs_a_login(client):
    assert client.get("/app/settings/").status_code == 302
