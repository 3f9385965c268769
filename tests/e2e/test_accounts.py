"""In a real browser: sign up, log out and in, invite a teammate who joins, API keys shown once and revoked."""

import re

import httpx
import pytest
from django.core import mail

from accounts.models import ApiKey, Membership, Role, User
from tests.e2e.conftest import PASSWORD, PHONE, assert_fields_labelled, log_in

pytestmark = pytest.mark.e2e


def expect_text(page, text: str) -> None:
    page.get_by_text(text, exact=False).first.wait_for()


def test_sign_up_lands_in_personal_organization_then_log_out_and_in(page, screenshot):
    page.goto("/")
    expect_text(page, "Turn a still image into a video")
    assert page.locator('[data-testid="price-720p"]').inner_text().startswith("$")
    screenshot(page, "01-landing")

    page.get_by_role("link", name="Sign up").first.click()
    page.get_by_label("Email").fill("maker@example.com")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill("something-else-77")
    page.get_by_role("button", name="Sign Up").click()
    # The mismatch is reported next to the field, with the field marked invalid.
    error = page.locator(".field.has-error .errorlist")
    error.first.wait_for()
    assert "same password" in error.first.inner_text()
    screenshot(page, "02-signup-error")
    assert_fields_labelled(page)

    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password (again)").fill(PASSWORD)
    page.get_by_role("button", name="Sign Up").click()
    page.wait_for_url("**/app/")
    assert page.get_by_role("heading", level=1).inner_text() == "maker's workspace"
    membership = Membership.objects.get(user__email="maker@example.com")
    assert membership.role == Role.OWNER and membership.organization.name == "maker's workspace"
    screenshot(page, "03-dashboard")

    page.locator("summary", has_text="maker@example.com").click()
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(re.compile(r"/$"))
    assert page.get_by_role("link", name="Log in").is_visible()

    page.goto("/accounts/login/")
    page.get_by_label("Email").fill("maker@example.com")
    page.get_by_label("Password").fill("wrong-password-1")
    page.get_by_role("button", name="Sign In").click()
    page.locator(".alert.error").wait_for()
    screenshot(page, "04-login-error")
    log_in(page, "maker@example.com")
    assert page.get_by_role("heading", level=1).inner_text() == "maker's workspace"


def test_invite_a_member_who_signs_up_and_joins(logged_in_page, new_page, e2e_user, screenshot):
    page = logged_in_page
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Team").click()
    page.get_by_label("Email address").fill("teammate@example.com")
    page.get_by_label("Role", exact=True).select_option("admin")
    page.get_by_role("button", name="Send invitation").click()
    expect_text(page, "Invitation sent to teammate@example.com")
    assert page.locator("table", has_text="teammate@example.com").is_visible()
    screenshot(page, "05-team-invited")

    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["teammate@example.com"]
    accept_path = re.search(r"https?://[^/\s]+(/invitations/[^\s]+/)", mail.outbox[0].body).group(1)

    invitee = new_page()
    invitee.goto(accept_path)
    expect_text(invitee, "Join Acme Studio")
    screenshot(invitee, "06-invitation")
    invitee.get_by_role("link", name="Create an account").click()
    invitee.get_by_label("Email").fill("teammate@example.com")
    invitee.get_by_label("Password", exact=True).fill(PASSWORD)
    invitee.get_by_label("Password (again)").fill(PASSWORD)
    invitee.get_by_role("button", name="Sign Up").click()
    invitee.get_by_role("button", name="Accept and join Acme Studio").click()
    invitee.wait_for_url("**/app/")
    assert invitee.get_by_role("heading", level=1).inner_text() == "Acme Studio"
    # Two organizations now: the switcher appears and can go back to the personal one.
    switcher = invitee.get_by_label("Active organization")
    switcher.select_option(label="teammate's workspace")
    invitee.wait_for_load_state()
    invitee.get_by_role("heading", name="teammate's workspace").wait_for()
    screenshot(invitee, "07-invitee-dashboard-switched")

    teammate = User.objects.get(email="teammate@example.com")
    assert Membership.objects.get(user=teammate, organization=e2e_user.organization).role == Role.ADMIN
    page.reload()
    row = page.locator("tr", has_text="teammate@example.com")
    assert row.get_by_role("combobox").input_value() == "admin"
    screenshot(page, "08-team-with-member")


def test_api_key_secret_shown_once_then_revoked(logged_in_page, e2e_user, live_server, screenshot):
    page = logged_in_page
    page.context.grant_permissions(["clipboard-read", "clipboard-write"])
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Developers").click()
    page.get_by_role("button", name="Create key").click()
    page.locator(".field.has-error .errorlist").wait_for()  # an empty name is refused next to the field
    page.get_by_label("Key name").fill("Render farm")
    page.get_by_role("button", name="Create key").click()
    secret = page.get_by_test_id("new-secret").inner_text().strip()
    assert secret.startswith("sk_live_") and len(secret) > 40
    page.get_by_role("button", name="Copy").click()
    page.get_by_role("button", name="Copied ✓").wait_for()
    assert page.evaluate("navigator.clipboard.readText()") == secret
    screenshot(page, "09-api-key-created")

    api = f"{live_server.url}/api/v1/webhook-endpoints/"
    assert httpx.get(api, headers={"Authorization": f"Bearer {secret}"}).status_code == 200

    page.goto("/app/developers/")
    assert secret not in page.content()
    key = ApiKey.objects.get(organization=e2e_user.organization)
    assert page.locator(f"#key-{key.pk}").inner_text().count(key.prefix) == 1
    page.get_by_role("link", name="Revoke Render farm").click()
    expect_text(page, "Revoke “Render farm”?")
    screenshot(page, "10-api-key-revoke-confirm")
    page.get_by_role("button", name="Revoke key").click()
    expect_text(page, "is revoked")
    assert page.locator(f"#key-{key.pk} .badge").inner_text() == "Revoked"
    screenshot(page, "11-api-key-revoked")
    assert httpx.get(api, headers={"Authorization": f"Bearer {secret}"}).status_code == 401


def test_pages_fit_a_phone_and_errors_are_friendly(new_page, e2e_user, screenshot):
    phone = new_page(viewport=PHONE)
    phone.goto("/")
    screenshot(phone, "12-phone-landing")
    log_in(phone, e2e_user.email)
    for path, name in [
        ("/app/", "13-phone-dashboard"),
        ("/app/team/", "14-phone-team"),
        ("/app/developers/", "15-phone-developers"),
    ]:
        phone.goto(path)
        screenshot(phone, name)
        assert_fields_labelled(phone)
        overflow = phone.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path} scrolls sideways by {overflow}px on a phone"
    response = phone.goto("/app/no-such-page/")
    assert response.status == 404
    expect_text(phone, "We could not find that page")
    screenshot(phone, "16-phone-404")


def test_account_pages_are_styled(logged_in_page, new_page, e2e_user, screenshot):
    page = logged_in_page
    page.locator("summary", has_text=e2e_user.email).click()
    page.get_by_role("link", name="Change password").click()
    page.get_by_label("Current Password").fill("not-my-password")
    page.get_by_label("New Password", exact=True).fill(PASSWORD + "x")
    page.get_by_label("New Password (again)").fill(PASSWORD + "x")
    page.get_by_role("button", name="Change Password").click()
    page.locator(".field.has-error .errorlist").first.wait_for()
    screenshot(page, "17-password-change-error")
    page.goto("/accounts/email/")
    screenshot(page, "18-email-addresses")
    assert_fields_labelled(page)

    visitor = new_page()
    visitor.goto("/accounts/password/reset/")
    visitor.get_by_label("Email").fill(e2e_user.email)
    visitor.get_by_role("button", name="Reset My Password").click()
    visitor.wait_for_url("**/password/reset/done/")
    screenshot(visitor, "19-password-reset-done")
    assert any("password" in message.subject.lower() for message in mail.outbox)


@pytest.mark.parametrize("width", [760, 1024])
def test_top_bar_fits_mid_sized_screens(new_page, e2e_user, screenshot, width):
    tablet = new_page(viewport={"width": width, "height": 900})
    log_in(tablet, e2e_user.email)
    screenshot(tablet, f"20-dashboard-{width}px")
    overflow = tablet.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the dashboard scrolls sideways by {overflow}px at {width}px"
    menu = tablet.locator("details.user-menu summary").bounding_box()
    assert menu is not None and menu["x"] + menu["width"] <= width, "the account menu is pushed off screen"
