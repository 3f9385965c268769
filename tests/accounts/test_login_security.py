"""Logging in cannot be brute-forced, through the admin or otherwise."""

import re

from django.core import mail
from django.urls import reverse

from tests.factories import UserFactory

PASSWORD = "pw-for-tests-1"


def admin_login_attempt(client, email: str, password: str):
    """What an attacker does: open /admin/login/, follow wherever it leads, post the credentials to that form."""
    page = client.get("/admin/login/?next=/admin/", follow=True)
    form_path = page.request["PATH_INFO"]
    # The admin's form names the field "username", allauth's "login": send both.
    return client.post(f"{form_path}?next=/admin/", {"username": email, "login": email, "password": password})


def test_admin_login_stops_a_brute_force_before_the_right_password(client):
    staff = UserFactory(is_staff=True, is_superuser=True)
    for attempt in range(40):
        admin_login_attempt(client, staff.email, f"wrong-{attempt}")
    last = admin_login_attempt(client, staff.email, PASSWORD)
    assert last.status_code in (200, 429)
    assert client.get("/admin/").status_code == 302, "the 41st try, with the right password, logged in"


def test_staff_log_in_to_the_admin_through_the_account_page(client):
    staff = UserFactory(is_staff=True)
    assert client.get("/admin/login/").headers["Location"].startswith(reverse("account_login"))
    response = admin_login_attempt(client, staff.email, PASSWORD)
    assert response.status_code == 302 and response.headers["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_a_logged_in_non_staff_user_is_refused_the_admin_login(client, user):
    client.force_login(user)
    assert client.get("/admin/login/").status_code == 403


def login_from(client, email: str, password: str, *, proxy: str = "10.0.0.1", forwarded_for: str):
    """A log-in through one proxy (REMOTE_ADDR), which appends the client's address to X-Forwarded-For."""
    return client.post(
        reverse("account_login"),
        {"login": email, "password": password},
        REMOTE_ADDR=proxy,
        headers={"x-forwarded-for": forwarded_for},
    )


def test_behind_a_trusted_proxy_one_client_hammering_login_does_not_lock_out_another(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    victim = UserFactory()
    for attempt in range(40):
        login_from(client, f"nobody{attempt}@example.com", "wrong", forwarded_for="203.0.113.5")
    assert login_from(client, "nobody@example.com", "wrong", forwarded_for="203.0.113.5").status_code == 429

    response = login_from(client, victim.email, PASSWORD, forwarded_for="198.51.100.7")
    assert response.status_code == 302 and client.get(reverse("dashboard")).status_code == 200


def test_a_stranger_cannot_lock_a_known_address_out(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    victim = UserFactory()
    for _ in range(8):
        login_from(client, victim.email, "wrong", forwarded_for="203.0.113.5")
    stranger = login_from(client, victim.email, PASSWORD, forwarded_for="203.0.113.5")
    assert stranger.status_code == 200, "the stranger's own address is locked out for this account"

    owner = login_from(client, victim.email, PASSWORD, forwarded_for="198.51.100.7")
    assert owner.status_code == 302 and client.get(reverse("dashboard")).status_code == 200


def test_failures_spread_over_many_addresses_hit_the_per_account_cap(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed_account": "12/h/key"}
    victim = UserFactory()
    for n in range(12):
        login_from(client, victim.email, "wrong", forwarded_for=f"203.0.113.{n}")
    response = login_from(client, victim.email, PASSWORD, forwarded_for="198.51.100.7")
    assert response.status_code == 200 and "Too many failed login attempts" in response.content.decode()
    assert client.get(reverse("dashboard")).status_code == 302


def test_a_successful_login_does_not_count_against_the_account(client, settings):
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed_account": "3/h/key"}
    owner = UserFactory()
    for n in range(5):
        client.logout()
        assert login_from(client, owner.email, PASSWORD, forwarded_for=f"198.51.100.{n}").status_code == 302


def test_a_password_reset_lifts_the_per_account_cap(client, settings):
    settings.TRUSTED_PROXY_COUNT = 1
    settings.ACCOUNT_RATE_LIMITS = {**settings.ACCOUNT_RATE_LIMITS, "login_failed_account": "3/h/key"}
    owner = UserFactory()
    for n in range(3):
        login_from(client, owner.email, "wrong", forwarded_for=f"203.0.113.{n}")
    assert login_from(client, owner.email, PASSWORD, forwarded_for="198.51.100.7").status_code == 200

    client.post(reverse("account_reset_password"), {"email": owner.email})
    link = re.search(r"(/accounts/password/reset/key/\S+/)", mail.outbox[-1].body).group(1)
    set_password_page = client.get(link, follow=True).request["PATH_INFO"]
    new_password = "a-Fresh-pass-77"
    client.post(set_password_page, {"password1": new_password, "password2": new_password})
    client.logout()

    response = login_from(client, owner.email, new_password, forwarded_for="198.51.100.7")
    assert response.status_code == 302 and client.get(reverse("dashboard")).status_code == 200
