"""POST /hooks/stripe/: signatures, each event once, standing transitions; checkout and portal redirects."""

import time

import pytest

from billing.models import BillingAccount, Standing, StripeEvent
from tests.billing.conftest import WEBHOOK_SECRET
from tests.factories import MembershipFactory, OrganizationFactory

URL = "/hooks/stripe/"


@pytest.fixture
def customer_org(synced_stripe, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        organization = OrganizationFactory()
    return organization


def _account(organization):
    return BillingAccount.objects.get(organization=organization)


def _post(client, fake, type_, obj, *, secret=WEBHOOK_SECRET, capture=None, **sign):
    payload, signature, event = fake.signed_event(type_, obj, secret, **sign)
    if capture is None:
        return client.post(URL, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature), event
    with capture(execute=True):
        response = client.post(URL, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
    return response, event


def _subscription(organization, status="active", sub_id="sub_1"):
    return {
        "id": sub_id,
        "object": "subscription",
        "customer": _account(organization).stripe_customer_id,
        "status": status,
    }


@pytest.mark.parametrize(
    ("secret", "sign"),
    [("whsec_wrong", {}), (WEBHOOK_SECRET, {"timestamp": int(time.time()) - 3600})],
    ids=["bad signature", "stale signature"],
)
def test_bad_or_stale_signature_is_400(client, customer_org, synced_stripe, secret, sign):
    response, _ = _post(client, synced_stripe, "invoice.paid", {"customer": "cus_x"}, secret=secret, **sign)
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "bad_signature"
    assert not StripeEvent.objects.exists()


def test_missing_signature_and_garbage_are_400(client, synced_stripe):
    assert client.post(URL, b"{}", content_type="application/json").status_code == 400
    payload = b"not json"
    signature = synced_stripe.sign(payload, WEBHOOK_SECRET)
    response = client.post(URL, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
    assert response.status_code == 400 and response.json()["error"]["code"] == "bad_payload"


def test_checkout_then_subscription_lifecycle(client, customer_org, synced_stripe, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    session = {
        "id": "cs_1",
        "object": "checkout.session",
        "mode": "subscription",
        "status": "complete",
        "customer": _account(customer_org).stripe_customer_id,
        "client_reference_id": customer_org.slug,
        "subscription": "sub_1",
    }
    response, _ = _post(client, synced_stripe, "checkout.session.completed", session, capture=capture)
    assert response.status_code == 200
    account = _account(customer_org)
    assert (account.standing, account.stripe_subscription_id) == (Standing.ACTIVE, "sub_1")
    steps = [
        ("customer.subscription.updated", "past_due", Standing.PAST_DUE),
        ("customer.subscription.updated", "active", Standing.ACTIVE),
        ("invoice.payment_failed", None, Standing.PAST_DUE),
        ("invoice.paid", None, Standing.ACTIVE),
        ("customer.subscription.deleted", "canceled", Standing.CANCELED),
    ]
    for type_, status, standing in steps:
        obj = _subscription(customer_org, status) if status else {"customer": account.stripe_customer_id}
        response, _ = _post(client, synced_stripe, type_, obj, capture=capture)
        assert response.status_code == 200
        assert _account(customer_org).standing == standing, type_


def test_each_event_is_processed_once(client, customer_org, synced_stripe, django_capture_on_commit_callbacks):
    capture = django_capture_on_commit_callbacks
    payload, signature, event = synced_stripe.signed_event(
        "customer.subscription.created", _subscription(customer_org), WEBHOOK_SECRET
    )
    for _ in range(2):
        with capture(execute=True):
            response = client.post(URL, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
        assert response.status_code == 200
    assert StripeEvent.objects.filter(event_id=event["id"]).count() == 1
    assert StripeEvent.objects.get().result == "standing active"
    # Replaying the same event after the standing moved on does not move it back.
    BillingAccount.objects.filter(organization=customer_org).update(standing=Standing.CANCELED)
    with capture(execute=True):
        client.post(URL, payload, content_type="application/json", HTTP_STRIPE_SIGNATURE=signature)
    assert _account(customer_org).standing == Standing.CANCELED


def test_an_older_event_arriving_late_cannot_undo_a_newer_one(
    client, customer_org, synced_stripe, django_capture_on_commit_callbacks
):
    now = int(time.time())
    capture = django_capture_on_commit_callbacks
    _post(
        client,
        synced_stripe,
        "customer.subscription.updated",
        _subscription(customer_org, "past_due"),
        created=now,
        capture=capture,
    )
    _post(
        client,
        synced_stripe,
        "customer.subscription.updated",
        _subscription(customer_org, "active"),
        created=now - 60,
        capture=capture,
    )
    assert _account(customer_org).standing == Standing.PAST_DUE


def test_other_event_types_are_ignored_with_200(
    client, customer_org, synced_stripe, django_capture_on_commit_callbacks
):
    response, event = _post(
        client, synced_stripe, "charge.refunded", {"id": "ch_1"}, capture=django_capture_on_commit_callbacks
    )
    assert response.status_code == 200
    assert StripeEvent.objects.get(event_id=event["id"]).result == "ignored"


def test_checkout_redirect_and_completion(client, customer_org, synced_stripe, django_capture_on_commit_callbacks):
    owner = customer_org.memberships.get().user
    client.force_login(owner)
    response = client.post("/billing/checkout/")
    assert response.status_code == 302
    session_id = response["Location"].rsplit("/", 1)[1]
    created = synced_stripe.checkout_sessions[session_id]
    assert created["mode"] == "subscription" and created["client_reference_id"] == customer_org.slug
    assert len(created["line_items_prices"]) == 3
    session, subscription = synced_stripe.checkout_complete(session_id)
    capture = django_capture_on_commit_callbacks
    _post(client, synced_stripe, "checkout.session.completed", session, capture=capture)
    _post(client, synced_stripe, "customer.subscription.created", subscription, capture=capture)
    account = _account(customer_org)
    assert (account.standing, account.stripe_subscription_id) == (Standing.ACTIVE, subscription["id"])
    response = client.post("/billing/portal/")
    assert response.status_code == 302 and response["Location"].startswith(synced_stripe.base_url + "/p/session/")


def test_members_cannot_open_checkout(client, customer_org, synced_stripe):
    member = MembershipFactory(organization=customer_org).user
    client.force_login(member)
    assert client.post("/billing/checkout/").status_code == 403
    assert client.post("/billing/portal/").status_code == 403
    assert synced_stripe.checkout_sessions == {}


def test_checkout_without_stripe_says_so(client, organization, user, settings):
    settings.STRIPE_API_KEY = ""
    client.force_login(user)
    response = client.post("/billing/checkout/")
    assert response.status_code == 302
    messages = [str(m) for m in response.wsgi_request._messages]
    assert any("not configured" in m for m in messages)
