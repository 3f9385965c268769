"""Provider keys as data (issue 13, parts 1-2): per-key dispatch, polls, 401/429, learned limits, own keys."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from django.core import mail
from django.db import connection
from django.urls import reverse
from django.utils import timezone

from billing import services as billing_services
from billing.models import Plan, UsageRecord
from generations import provider_key_selectors, services
from generations.eachlabs.client import SIMULATOR_API_KEY, ProviderNotFound, get_client
from generations.models import Generation, ProviderKey, Status
from generations.provider_key_secrets import decrypt_secret
from generations.services import own_provider_keys
from tests.factories import UserFactory
from tests.generations.test_lifecycle import create, reload

ALPHA = "own-key-alpha-000111"
BETA = "own-key-beta-000222"


@pytest.fixture(autouse=True)
def generous_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)


@pytest.fixture
def shared_key(simulator) -> ProviderKey:
    return services.provider_key_default_ensure()


def accept(simulator, *keys: str) -> None:
    simulator.config.accepted_keys = frozenset({SIMULATOR_API_KEY, *keys})


def attach(organization, secret: str) -> ProviderKey:
    return own_provider_keys.own_provider_key_attach(organization=organization, secret=secret)


def statuses_of(organization) -> list[str]:
    return sorted(Generation.objects.filter(organization=organization).values_list("status", flat=True))


# --- keys as data ----------------------------------------------------------------------------


def test_the_environment_seeds_one_shared_key_idempotently(simulator, settings):
    first = services.provider_key_default_ensure()
    assert services.provider_key_default_ensure().pk == first.pk
    assert first.organization is None and first.from_environment and first.enabled
    assert first.plaintext_secret() == SIMULATOR_API_KEY
    # A new EACHLABS_API_KEY is a new shared key; the old one takes no new jobs (its jobs in flight keep it).
    settings.EACHLABS_API_KEY = "a-real-provider-key-9999"
    second = services.provider_key_default_ensure()
    assert second.pk != first.pk and second.last4 == "9999"
    assert ProviderKey.objects.get(pk=first.pk).enabled is False


def test_secrets_are_encrypted_at_rest_and_never_shown(simulator, organization, admin_client):
    accept(simulator, ALPHA)
    key = attach(organization, ALPHA)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT * FROM {ProviderKey._meta.db_table} WHERE id = %s", [key.pk])
        row = cursor.fetchone()
    assert not any(ALPHA in str(value) for value in row)
    assert decrypt_secret(key.encrypted_secret) == ALPHA
    page = admin_client.get(reverse("admin:generations_providerkey_change", args=[key.pk])).content.decode()
    assert ALPHA not in page and key.encrypted_secret not in page and "0111" in page


def test_the_encryption_key_rotates(simulator, settings):
    ProviderKey.objects.all().delete()
    old, new = Fernet.generate_key().decode(), Fernet.generate_key().decode()
    settings.PROVIDER_KEY_ENCRYPTION_KEYS = [old]
    key = services.provider_key_create(label="agreed limits", secret="raised-limit-key-4242")
    settings.PROVIDER_KEY_ENCRYPTION_KEYS = [new, old]  # new first: encrypts; old still decrypts
    assert key.plaintext_secret() == "raised-limit-key-4242"
    assert services.provider_keys_reencrypt() == ProviderKey.objects.count()
    settings.PROVIDER_KEY_ENCRYPTION_KEYS = [new]  # the old key is gone
    assert ProviderKey.objects.get(pk=key.pk).plaintext_secret() == "raised-limit-key-4242"


# --- per-key dispatch, polls, 401 and 429 --------------------------------------------------------


def test_own_key_jobs_run_only_on_it_and_take_no_shared_slot(simulator, organization, other_organization, shared_key):
    accept(simulator, ALPHA)
    own = attach(organization, ALPHA)
    ProviderKey.objects.filter(pk=own.pk).update(max_in_flight=2)
    ProviderKey.objects.filter(pk=shared_key.pk).update(max_in_flight=3)
    mine = [create(organization) for _ in range(3)]
    theirs = [create(other_organization) for _ in range(2)]
    assert services.dispatch_pending() == 4
    # Its own key is full: its third job waits for it rather than taking the shared key's free slot.
    assert statuses_of(organization) == [Status.PROCESSING, Status.PROCESSING, Status.QUEUED]
    assert statuses_of(other_organization) == [Status.PROCESSING, Status.PROCESSING]
    assert provider_key_selectors.key_in_flight(key=shared_key) == 2
    assert {reload(g).provider_key_id for g in mine if reload(g).status == Status.PROCESSING} == {own.pk}
    assert {reload(g).provider_key_id for g in theirs if reload(g).status == Status.PROCESSING} == {shared_key.pk}
    # Without its own key, the organization's jobs go back to the shared key.
    own_provider_keys.own_provider_key_detach(organization=organization)
    ProviderKey.objects.filter(pk=shared_key.pk).update(max_in_flight=10)
    services.dispatch_pending()
    assert reload(mine[2]).provider_key_id == shared_key.pk


def test_a_job_is_polled_and_downloaded_with_its_own_key_and_billed_at_its_plan(simulator, organization):
    plan = Plan.objects.create(
        name="Own key", slug="own-key", price_480p=Decimal("0.0500"), price_720p=Decimal("0.1000"), price_1080p=1
    )
    billing_services.billing_account_change_plan(organization=organization, plan=plan)
    accept(simulator, ALPHA)
    attach(organization, ALPHA)
    simulator.config.webhooks_enabled = False  # only polls can finish it
    generation = create(organization, duration="5", resolution="480p")
    services.dispatch_pending()
    generation = reload(generation)
    # Prediction ids are private to their key: the shared key is told it does not exist.
    with pytest.raises(ProviderNotFound):
        get_client(services.provider_key_default_ensure()).get_prediction(generation.prediction_id)
    simulator.advance(simulator.config.latency_s + 1)
    Generation.objects.filter(pk=generation.pk).update(next_poll_at=timezone.now())
    services.poll_due()
    generation = reload(generation)
    assert generation.status == Status.SUCCEEDED and generation.video
    usage = UsageRecord.objects.get(source_id=generation.pk)
    assert usage.organization_id == organization.pk and usage.unit_price == Decimal("0.0500")
    assert abs(usage.amount - usage.seconds * Decimal("0.0500")) < Decimal("0.01")


def test_a_revoked_key_stops_only_its_organization_and_its_owner_hears_once(
    simulator, organization, other_organization, shared_key, client, django_capture_on_commit_callbacks
):
    accept(simulator, ALPHA)
    own = attach(organization, ALPHA)
    accept(simulator)  # Eachlabs revokes ALPHA
    mine = [create(organization) for _ in range(2)]
    theirs = [create(other_organization) for _ in range(2)]
    with django_capture_on_commit_callbacks(execute=True):
        services.dispatch_pending()
    own.refresh_from_db()
    assert own.stopped_at is not None and "401" in own.state_reason
    assert statuses_of(organization) == [Status.QUEUED] * 2
    assert statuses_of(other_organization) == [Status.PROCESSING] * 2
    assert services.dispatch_pending() == 0  # the stopped key is not asked again
    assert simulator.stats["unauthorized"] == 1
    assert [message.to for message in mail.outbox] == [[organization.memberships.get().user.email]]
    assert "refused" in mail.outbox[0].body and ALPHA not in mail.outbox[0].body

    owner = organization.memberships.get().user
    client.force_login(owner)
    assert "provider refused your organization" in client.get(reverse("generation_list")).content.decode()
    client.force_login(other_organization.memberships.get().user)
    assert "provider-key-banner" not in client.get(reverse("generation_list")).content.decode()

    accept(simulator, ALPHA)  # fixed on the Eachlabs side; an operator resumes
    services.provider_key_resume(key=own)
    services.dispatch_pending()
    assert statuses_of(organization) == [Status.PROCESSING] * 2
    assert {reload(g).provider_key_id for g in mine} == {own.pk}
    assert {reload(g).provider_key_id for g in theirs} == {shared_key.pk}
    assert len(mail.outbox) == 1


def test_a_429_pauses_only_that_key(simulator, organization, other_organization, shared_key):
    accept(simulator, ALPHA)
    own = attach(organization, ALPHA)
    simulator.config.key_concurrency_limits = {ALPHA: 1}
    for _ in range(2):
        create(organization)
        create(other_organization)
    assert services.dispatch_pending() == 4  # one of them was answered 429 and went back to the queue
    own.refresh_from_db()
    assert own.paused_until > timezone.now() and "429" in own.state_reason
    assert statuses_of(organization) == [Status.PROCESSING, Status.QUEUED]
    assert statuses_of(other_organization) == [Status.PROCESSING] * 2
    shared_key.refresh_from_db()
    assert shared_key.paused_until is None


def test_a_key_limited_to_4_while_configured_at_10_learns_4_then_probes_up(simulator, organization, settings):
    accept(simulator, ALPHA)
    own = attach(organization, ALPHA)
    simulator.config.key_concurrency_limits = {ALPHA: 4}
    for _ in range(7):
        create(organization)
    services.dispatch_pending()
    own.refresh_from_db()
    assert (own.max_in_flight, own.learned_in_flight_limit, own.in_flight_limit) == (10, 4, 4)
    assert simulator.stats["rate_limited"] == 1
    # After the pause the key keeps to what it learned: no more 429s.
    ProviderKey.objects.filter(pk=own.pk).update(paused_until=None)
    Generation.objects.filter(status=Status.QUEUED).update(not_before=None)
    assert services.dispatch_pending() == 0
    assert simulator.stats["rate_limited"] == 1
    assert provider_key_selectors.key_in_flight(key=own) == 4
    # A probe interval without a 429: one slot more, which the provider refuses, so it learns 4 again.
    ProviderKey.objects.filter(pk=own.pk).update(
        learned_changed_at=timezone.now() - timedelta(seconds=settings.PROVIDER_KEY_PROBE_INTERVAL_S + 1)
    )
    services.dispatch_pending()
    own.refresh_from_db()
    assert simulator.stats["rate_limited"] == 2 and own.learned_in_flight_limit == 4
    # Probing never goes above the configured limit: one below it, the next probe forgets what was learned.
    ProviderKey.objects.filter(pk=own.pk).update(
        learned_in_flight_limit=9,
        paused_until=None,
        learned_changed_at=timezone.now() - timedelta(seconds=settings.PROVIDER_KEY_PROBE_INTERVAL_S + 1),
    )
    simulator.config.key_concurrency_limits = None
    Generation.objects.filter(status=Status.QUEUED).update(not_before=None)
    services.dispatch_pending()
    own.refresh_from_db()
    assert own.learned_in_flight_limit is None and own.in_flight_limit == 10


# --- an organization's own key: the owner's page and the admin ------------------------------------


def test_the_owner_page_refuses_a_key_the_provider_refuses(simulator, organization, browser_client):
    accept(simulator)  # ALPHA is not an Eachlabs key
    url = reverse("own_provider_key")
    response = browser_client.post(url, {"secret": ALPHA})
    assert response.status_code == 400
    assert "Eachlabs refused this key" in response.content.decode()
    assert not ProviderKey.objects.filter(organization=organization).exists()

    accept(simulator, ALPHA)
    response = browser_client.post(url, {"secret": ALPHA}, follow=True)
    assert response.status_code == 200 and "Eachlabs accepted the key" in response.content.decode()
    key = ProviderKey.objects.get(organization=organization)
    assert key.last4 == "0111" and ALPHA not in response.content.decode()


def test_only_owners_attach_a_key(simulator, organization, client):
    member = UserFactory()
    organization.memberships.create(user=member, role="member")
    client.force_login(member)
    client.post(reverse("organization_switch"), {"organization": organization.pk})
    accept(simulator, ALPHA)
    assert client.post(reverse("own_provider_key"), {"secret": ALPHA}).status_code == 403
    assert not ProviderKey.objects.filter(organization=organization).exists()


def test_the_admin_checks_an_organizations_key_before_saving_it(simulator, organization, admin_client):
    accept(simulator)
    form = {
        "label": "Acme's key",
        "organization": organization.pk,
        "base_url": "",
        "enabled": "on",
        "max_in_flight": 10,
        "max_creates_per_minute": 100,
        "secret": BETA,
    }
    response = admin_client.post(reverse("admin:generations_providerkey_add"), form)
    assert response.status_code == 200 and "Eachlabs refused this key" in response.content.decode()
    assert not ProviderKey.objects.filter(organization=organization).exists()
    accept(simulator, BETA)
    response = admin_client.post(reverse("admin:generations_providerkey_add"), form)
    assert response.status_code == 302
    assert ProviderKey.objects.get(organization=organization).plaintext_secret() == BETA


@pytest.fixture
def admin_client(client):
    client.force_login(UserFactory(is_staff=True, is_superuser=True))
    return client


def test_operators_see_both_limits_and_resume_a_stopped_key_in_the_admin(simulator, organization, admin_client):
    accept(simulator, ALPHA)
    own = attach(organization, ALPHA)
    ProviderKey.objects.filter(pk=own.pk).update(
        learned_in_flight_limit=4, stopped_at=timezone.now(), state_reason="401: the provider refused the key"
    )
    listing = admin_client.get(reverse("admin:generations_providerkey_changelist")).content.decode()
    assert "refused the key (401)" in listing and ALPHA not in listing
    dashboard = admin_client.get(reverse("admin:index")).content.decode()
    assert "4 learned of 10" in dashboard and "401: the provider refused the key" in dashboard
    response = admin_client.post(
        reverse("admin:generations_providerkey_changelist"),
        {"action": "resume", "_selected_action": [own.pk]},
    )
    assert response.status_code == 302
    own.refresh_from_db()
    assert own.stopped_at is None and own.state_reason == ""


def test_the_owner_page_shows_the_key_without_its_secret(simulator, organization, browser_client):
    accept(simulator, ALPHA)
    own = attach(organization, ALPHA)
    ProviderKey.objects.filter(pk=own.pk).update(learned_in_flight_limit=4)
    page = browser_client.get(reverse("own_provider_key")).content.decode()
    assert "…0111" in page and ALPHA not in page
    assert "learned from Eachlabs; configured 10" in page
    browser_client.post(reverse("own_provider_key_remove"))
    assert provider_key_selectors.own_key_organization_ids().filter(organization_id=organization.pk).count() == 0
    assert "No key of your own" in browser_client.get(reverse("own_provider_key")).content.decode()


def test_an_own_key_never_reaches_a_stored_message_or_a_log_line(simulator, organization, caplog):
    accept(simulator, ALPHA)
    attach(organization, ALPHA)
    simulator.force_next(status_code=400, message=f"Invalid input for key {ALPHA}", details=f"key={ALPHA}")
    generation = create(organization)
    with caplog.at_level("DEBUG"):
        services.dispatch_pending()
    generation = reload(generation)
    assert generation.status == Status.FAILED
    assert ALPHA not in generation.error_message and "[redacted]" in generation.error_message
    assert ALPHA not in caplog.text


def test_a_refused_shared_key_emails_the_owners_whose_videos_wait_on_it(
    simulator, organization, other_organization, shared_key, django_capture_on_commit_callbacks
):
    accept(simulator, ALPHA)
    attach(other_organization, ALPHA)  # runs on its own key: not affected
    simulator.config.accepted_keys = frozenset({ALPHA})  # the shared key is refused
    create(organization)
    create(other_organization)
    with django_capture_on_commit_callbacks(execute=True):
        services.dispatch_pending()
    shared_key.refresh_from_db()
    assert shared_key.stopped_at is not None
    assert statuses_of(organization) == [Status.QUEUED] and statuses_of(other_organization) == [Status.PROCESSING]
    assert [message.to for message in mail.outbox] == [[organization.memberships.get().user.email]]
    assert "Nothing is lost" in mail.outbox[0].body


def test_a_401_while_polling_stops_the_key_and_keeps_the_job(simulator, organization, shared_key):
    accept(simulator, ALPHA)
    own = attach(organization, ALPHA)
    simulator.config.webhooks_enabled = False
    generation = create(organization)
    services.dispatch_pending()
    accept(simulator)  # revoked while the job runs
    Generation.objects.filter(pk=generation.pk).update(next_poll_at=timezone.now())
    services.poll_due()
    own.refresh_from_db()
    assert own.stopped_at is not None
    assert reload(generation).status == Status.PROCESSING  # polled again later, with its key, once resumed
    shared_key.refresh_from_db()
    assert shared_key.stopped_at is None
