"""DELETE /api/v1/end-users/{id}/ erases an end user: no file of theirs in media storage, no row holding their
prompt or id, while the money (ledger, Stripe, the usage endpoint) is unchanged to the cent."""

from __future__ import annotations

import io
import json
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.apps import apps
from django.core.management import CommandError, call_command
from django.db import models
from PIL import Image
from rest_framework.test import APIClient

from accounts import services as account_services
from accounts.models import EndUser, EndUserErasure
from billing import services as billing_services
from billing.models import SpendAuthorization, UsageRecord
from generations import services as generation_services
from generations.models import Generation, Status
from tests.api.conftest import assert_error
from tests.billing.conftest import stripe_server, subscribed_org, synced_stripe  # noqa: F401 -- fake Stripe
from webhooks import services as webhook_services
from webhooks.models import WebhookDelivery

PROMPT = "canary-prompt: a lighthouse keeper named Oriel waves 7f3a9c"
EXTERNAL_ID = "canary-customer-5d21"
OTHER_PROMPT = "a control prompt that must survive"


@pytest.fixture(autouse=True)
def generous_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)


def png_file(color=(200, 40, 40)):
    buffer = io.BytesIO()
    Image.new("RGB", (64, 36), color).save(buffer, "PNG")
    buffer.seek(0)
    buffer.name = "frame.png"
    return buffer


def key_client(organization) -> APIClient:
    _, secret = account_services.api_key_create(organization=organization, name="privacy key")
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    return client


def create(client, *, end_user_id=EXTERNAL_ID, prompt=PROMPT, key=None, **extra) -> dict:
    body = {
        "prompt": prompt,
        "image": png_file(),
        "end_image": png_file((20, 40, 200)),
        "resolution": "480p",
        "duration": "5",
        "end_user_id": end_user_id,
        **extra,
    }
    body = {name: value for name, value in body.items() if value is not None}
    headers = {"HTTP_IDEMPOTENCY_KEY": key} if key else {}
    response = client.post("/api/v1/generations/", body, format="multipart", **headers)
    assert response.status_code == 201, response.content
    return response.json()


def run_to_success(simulator) -> None:
    generation_services.dispatch_pending()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()


def media_files(root) -> set[str]:
    root = Path(root)
    return {str(path.relative_to(root)) for path in root.rglob("*") if path.is_file()} if root.exists() else set()


def rows_mentioning(*needles: str) -> list[str]:
    """Every text or JSON column of every model, scanned for the needles (the whole database, not a guess list)."""
    found = []
    for model in apps.get_models():
        text_fields = [
            field.attname
            for field in model._meta.concrete_fields
            if isinstance(field, models.CharField | models.TextField | models.JSONField | models.FileField)
        ]
        if not text_fields:
            continue
        for row in model._default_manager.values_list("pk", *text_fields).iterator():
            text = json.dumps([str(value) if not isinstance(value, dict | list) else value for value in row[1:]])
            for needle in needles:
                if needle in text:
                    found.append(f"{model._meta.label} {row[0]}: {needle!r}")
    return found


def reconcile(capsys) -> str:
    args = ["--since", billing_services.period_start().isoformat(), "--grace-minutes", "15"]
    try:
        call_command("billing_reconcile", *args)
    except CommandError as exc:
        return capsys.readouterr().out + f"\nEXIT 1: {exc}"
    return capsys.readouterr().out


def test_after_erasure_no_file_or_row_holds_them_and_the_money_is_unchanged(
    subscribed_org,  # noqa: F811
    synced_stripe,  # noqa: F811
    simulator,
    receiver,
    settings,
    capsys,
    django_capture_on_commit_callbacks,
):
    organization = subscribed_org
    client = key_client(organization)
    webhook_services.webhook_endpoint_create(organization=organization, url=receiver.url)
    with django_capture_on_commit_callbacks(execute=True):
        done = create(client, key="order-1")  # with an Idempotency-Key: its answer is stored
        control = create(client, end_user_id="someone-else", prompt=OTHER_PROMPT)
        run_to_success(simulator)
    with django_capture_on_commit_callbacks(execute=True):
        failed = create(client, image_url="https://partner.example/canary-customer-5d21/first.png", image=None)
        simulator.force_next(status_code=400, message=f"bad input: {PROMPT}")
        generation_services.dispatch_pending()
    queued = create(client)  # its on-commit wake-up never runs here: it stays queued
    assert Generation.objects.get(pk=done["id"]).status == Status.SUCCEEDED
    assert Generation.objects.get(pk=failed["id"]).status == Status.FAILED
    assert Generation.objects.get(pk=queued["id"]).status == Status.QUEUED
    assert WebhookDelivery.objects.filter(payload__data__id=done["id"]).exists()
    theirs = set()
    for generation in Generation.objects.filter(end_user__external_id=EXTERNAL_ID):
        theirs |= {f.name for f in (generation.image, generation.end_image, generation.video) if f}
    assert len(theirs) == 6  # frames: 2 + 1 (the failed one names a URL for its first) + 2; one video
    assert theirs <= media_files(settings.MEDIA_ROOT)
    usage_before = client.get("/api/v1/usage/?group_by=resolution").json()
    ledger_before = sorted(UsageRecord.objects.values_list("pk", "amount", "seconds"))
    holds_before = SpendAuthorization.objects.count()
    assert "agree" in reconcile(capsys)
    assert rows_mentioning(PROMPT, EXTERNAL_ID)  # the scan does find them before

    with django_capture_on_commit_callbacks(execute=True):
        response = client.delete(f"/api/v1/end-users/{EXTERNAL_ID}/")

    assert response.status_code == 200, response.content
    body = response.json()
    assert set(body) == {"object", "erased_at", "generations_erased", "files_pending", "refused_until"}
    assert body["generations_erased"] == 3 and body["files_pending"] == 6
    assert Generation.objects.get(pk=queued["id"]).status == Status.CANCELED  # canceled first, hold released
    assert SpendAuthorization.objects.get(source_id=queued["id"]).state == "released"
    assert not theirs & media_files(settings.MEDIA_ROOT)  # every file of theirs is gone
    kept = Generation.objects.get(pk=control["id"])
    control_files = {kept.image.name, kept.end_image.name, kept.video.name}
    assert control_files <= media_files(settings.MEDIA_ROOT)  # nobody else's
    assert rows_mentioning(PROMPT, EXTERNAL_ID) == []
    assert rows_mentioning(OTHER_PROMPT)  # the scan still sees other people's data
    erasure = EndUserErasure.objects.get()
    assert erasure.files_pending == [] and erasure.files_deleted == 6 and erasure.completed_at is not None
    assert erasure.requested_by_api_key is not None and erasure.generations_erased == 3
    # The money: same ledger rows, same usage totals, Stripe still agrees; they now point at the anonymous id.
    assert sorted(UsageRecord.objects.values_list("pk", "amount", "seconds")) == ledger_before
    assert SpendAuthorization.objects.count() == holds_before
    assert client.get("/api/v1/usage/?group_by=resolution").json() == usage_before
    assert UsageRecord.objects.get(source_id=done["id"]).end_user.external_id == erasure.anonymous_id
    assert "agree" in reconcile(capsys)
    # Their deliveries keep the envelope only; the end user answers 404 now; a replayed key is a new request.
    delivery = WebhookDelivery.objects.filter(payload__data__id=done["id"]).first()
    assert delivery.payload["data"] == {"id": done["id"], "erased": True}
    assert_error(client.get(f"/api/v1/end-users/{EXTERNAL_ID}/"), 404, "not_found")
    assert_error(client.delete(f"/api/v1/end-users/{EXTERNAL_ID}/"), 404, "not_found")


def test_a_new_generation_for_the_erased_id_is_refused_until_the_refusal_expires(api_client, organization):
    EndUser.objects.create(organization=organization, external_id=EXTERNAL_ID, upstream_id="eu_x")
    assert api_client.delete(f"/api/v1/end-users/{EXTERNAL_ID}/").status_code == 200
    body = {"prompt": "again", "image_url": "https://partner.example/a.png", "end_user_id": EXTERNAL_ID}
    error = assert_error(api_client.post("/api/v1/generations/", body, format="json"), 409, "end_user_erased")
    assert "cannot be used again until" in error["message"]
    other = {**body, "end_user_id": "a-different-person"}
    assert api_client.post("/api/v1/generations/", other, format="json").status_code == 201
    EndUserErasure.objects.update(refused_until="2020-01-01T00:00:00Z")  # the refusal period is over
    assert api_client.post("/api/v1/generations/", body, format="json").status_code == 201
    assert EndUser.objects.get(organization=organization, external_id=EXTERNAL_ID).erased_at is None


def test_the_refusal_lasts_the_configured_days(api_client, organization, settings):
    settings.END_USER_ERASURE_REFUSAL_DAYS = 7
    EndUser.objects.create(organization=organization, external_id=EXTERNAL_ID, upstream_id="eu_x")
    body = api_client.delete(f"/api/v1/end-users/{EXTERNAL_ID}/").json()
    erasure = EndUserErasure.objects.select_related("end_user").get()
    assert erasure.refused_until - erasure.end_user.erased_at == timedelta(days=7)
    assert body["refused_until"].startswith(erasure.refused_until.date().isoformat())


def test_erasure_while_a_generation_is_at_the_provider_is_409_busy_and_changes_nothing(api_client, simulator):
    created = api_client.post(
        "/api/v1/generations/",
        {"prompt": PROMPT, "image": png_file(), "end_user_id": EXTERNAL_ID},
        format="multipart",
    ).json()
    generation_services.dispatch_pending()
    assert Generation.objects.get(pk=created["id"]).status == Status.PROCESSING
    error = assert_error(api_client.delete(f"/api/v1/end-users/{EXTERNAL_ID}/"), 409, "end_user_busy")
    assert "retry" in error["message"].lower()
    assert Generation.objects.get(pk=created["id"]).prompt == PROMPT
    assert not EndUserErasure.objects.exists()
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    assert api_client.delete(f"/api/v1/end-users/{EXTERNAL_ID}/").status_code == 200


def test_another_organizations_end_user_is_404_for_erase_and_export(api_client, other_client, organization):
    EndUser.objects.create(organization=organization, external_id=EXTERNAL_ID, upstream_id="eu_x")
    assert_error(other_client.delete(f"/api/v1/end-users/{EXTERNAL_ID}/"), 404, "not_found")
    assert_error(other_client.get(f"/api/v1/end-users/{EXTERNAL_ID}/export/"), 404, "not_found")
    assert EndUser.objects.get(external_id=EXTERNAL_ID).erased_at is None


def test_erase_and_export_need_the_end_users_scope(organization):
    _, secret = account_services.api_key_create(organization=organization, name="ro", scopes=["end_users:read"])
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    EndUser.objects.create(organization=organization, external_id=EXTERNAL_ID, upstream_id="eu_x")
    assert assert_error(client.delete(f"/api/v1/end-users/{EXTERNAL_ID}/"), 403)["required_scope"] == "end_users"
    error = assert_error(client.get(f"/api/v1/end-users/{EXTERNAL_ID}/export/"), 403)
    assert error["required_scope"] == "end_users"


def test_the_schema_documents_erase_and_export_with_examples_and_errors():
    from drf_spectacular.generators import SchemaGenerator

    paths = SchemaGenerator().get_schema(request=None, public=True)["paths"]
    erase = paths["/api/v1/end-users/{end_user_id}/"]["delete"]
    assert erase["x-required-scope"] == "end_users" and "refused_until" in erase["description"]
    assert {"200", "401", "403", "404", "409", "429"} <= set(erase["responses"])
    examples = erase["responses"]["409"]["content"]["application/json"]["examples"].values()
    assert "end_user_busy" in {example["value"]["error"]["code"] for example in examples}
    assert erase["responses"]["200"]["content"]["application/json"]["examples"]
    export = paths["/api/v1/end-users/{end_user_id}/export/"]["get"]
    assert export["x-required-scope"] == "end_users"
    assert {"200", "202", "401", "403", "404", "429"} <= set(export["responses"])
    assert export["responses"]["202"]["content"]["application/json"]["examples"]
    assert "Retry-After" in export["responses"]["202"]["headers"]
    assert export["responses"]["200"]["content"]["application/json"]["examples"]


def test_the_anonymous_id_cannot_be_revived_by_patch_or_a_new_generation(api_client, organization):
    EndUser.objects.create(organization=organization, external_id=EXTERNAL_ID, upstream_id="eu_x")
    api_client.delete(f"/api/v1/end-users/{EXTERNAL_ID}/")
    anonymous_id = EndUserErasure.objects.get().anonymous_id
    patch = api_client.patch(f"/api/v1/end-users/{anonymous_id}/", {"blocked": False}, format="json")
    assert_error(patch, 409, "end_user_erased")
    body = {"prompt": "x", "image_url": "https://partner.example/a.png", "end_user_id": anonymous_id}
    assert_error(api_client.post("/api/v1/generations/", body, format="json"), 409, "end_user_erased")
    assert EndUser.objects.get(external_id=anonymous_id).blocked


def test_erasing_the_default_end_user_does_not_lock_out_calls_without_an_end_user(api_client):
    body = {"prompt": PROMPT, "image_url": "https://partner.example/a.png"}
    first = api_client.post("/api/v1/generations/", body, format="json").json()
    api_client.post(f"/api/v1/generations/{first['id']}/cancel/")
    assert api_client.delete("/api/v1/end-users/:default/").status_code == 200
    assert Generation.objects.get(pk=first["id"]).prompt == ""
    assert api_client.post("/api/v1/generations/", body, format="json").status_code == 201


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_creates_racing_an_erasure_never_leave_a_generation_with_a_prompt_behind(settings):
    from tests.concurrency import run_at_once
    from tests.factories import OrganizationFactory

    settings.TRIAL_CREDIT_USD = Decimal(1000)
    organization = OrganizationFactory()
    _, secret = account_services.api_key_create(organization=organization, name="race")
    EndUser.objects.create(organization=organization, external_id=EXTERNAL_ID, upstream_id="eu_race")
    body = {"prompt": PROMPT, "image_url": "https://partner.example/a.png", "end_user_id": EXTERNAL_ID}
    calls = iter(["delete"] + ["create"] * 5)
    lock = __import__("threading").Lock()

    def call():
        with lock:
            kind = next(calls)
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
        if kind == "delete":
            return kind, client.delete(f"/api/v1/end-users/{EXTERNAL_ID}/").status_code
        return kind, client.post("/api/v1/generations/", body, format="json").status_code

    results = run_at_once(call, threads=6)

    assert len(results) == 6
    erased = EndUser.objects.filter(organization=organization, erased_at__isnull=False).exists()
    if erased:  # whatever was created before it was canceled and blanked; nothing after it got in
        assert not Generation.objects.filter(organization=organization).exclude(prompt="").exists()
        assert not Generation.objects.filter(organization=organization, status=Status.QUEUED).exists()
    else:  # it answered busy: a create slipped in between its cancel and its transaction
        assert ("delete", 409) in results
    for kind, status in results:
        assert status in ({200, 409} if kind == "delete" else {201, 402, 409}), (kind, status)
