"""Sign-ups are capped per day per client network and per mailbox, with a message saying so."""

import pytest
from django.urls import reverse

from accounts.emails import normalize_email
from accounts.models import User

PASSWORD = "a-Strong-pass-99"


def sign_up(client, email: str, *, ip: str):
    return client.post(
        reverse("account_signup"), {"email": email, "password1": PASSWORD, "password2": PASSWORD}, REMOTE_ADDR=ip
    )


def test_sign_ups_from_one_network_are_capped_per_day(client, settings):
    settings.SIGNUP_LIMIT_PER_NETWORK_PER_DAY = 5
    for n in range(5):
        client.logout()
        assert sign_up(client, f"farm{n}@example.com", ip=f"203.0.113.{10 + n}").status_code == 302
    client.logout()
    refused = sign_up(client, "farm5@example.com", ip="203.0.113.99")
    assert refused.status_code == 200
    assert "Too many sign-ups from your network today" in refused.content.decode()
    assert not User.objects.filter(email="farm5@example.com").exists()
    # Another network is not affected.
    assert sign_up(client, "farm5@example.com", ip="198.51.100.1").status_code == 302


def test_ipv6_networks_are_counted_per_slash_64(client, settings):
    settings.SIGNUP_LIMIT_PER_NETWORK_PER_DAY = 1
    assert sign_up(client, "six1@example.com", ip="2001:db8:1:2::1").status_code == 302
    client.logout()
    assert sign_up(client, "six2@example.com", ip="2001:db8:1:2:ffff::9").status_code == 200
    assert sign_up(client, "six2@example.com", ip="2001:db8:1:3::1").status_code == 302


def test_one_mailbox_under_many_spellings_is_capped_per_day(client, settings):
    settings.SIGNUP_LIMIT_PER_EMAIL_PER_DAY = 3
    for n, email in enumerate(["jo.doe@gmail.com", "jodoe+1@gmail.com", "J.o.Doe+x@googlemail.com"]):
        client.logout()
        assert sign_up(client, email, ip=f"198.51.{n}.1").status_code == 302
    client.logout()
    refused = sign_up(client, "jodoe+4@gmail.com", ip="198.51.9.1")
    assert refused.status_code == 200
    assert "This email address was used for too many sign-ups today" in refused.content.decode()


def test_an_invalid_sign_up_does_not_use_up_the_cap(client, settings):
    settings.SIGNUP_LIMIT_PER_NETWORK_PER_DAY = 1
    bad = client.post(
        reverse("account_signup"),
        {"email": "typo@example.com", "password1": PASSWORD, "password2": "different"},
        REMOTE_ADDR="203.0.113.1",
    )
    assert bad.status_code == 200
    assert sign_up(client, "typo@example.com", ip="203.0.113.1").status_code == 302


@pytest.mark.parametrize(
    ("email", "normalized"),
    [
        ("A.B+tag@GoogleMail.com", "ab@gmail.com"),
        ("first.last+x@Example.COM", "first.last@example.com"),
        ("plain@example.com", "plain@example.com"),
    ],
)
def test_normalize_email(email, normalized):
    assert normalize_email(email) == normalized
