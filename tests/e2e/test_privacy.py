"""In a real browser: a user deletes their account from Settings; their videos' files go with it."""

from pathlib import Path

import pytest
from django.conf import settings

from accounts import services as accounts_services
from accounts.models import EndUserErasure, User
from generations import services
from generations.catalog import validate_inputs
from generations.models import Generation, Status
from tests.e2e.conftest import PASSWORD, assert_fields_labelled
from tests.generations.conftest import _eachlabs_isolated, simulator  # noqa: F401 -- the provider simulator
from tests.generations.test_lifecycle import png_upload

pytestmark = pytest.mark.e2e


def test_delete_my_account_from_settings(logged_in_page, e2e_user, screenshot, simulator):  # noqa: F811
    page = logged_in_page
    organization = e2e_user.organization
    image = png_upload()
    generation = services.generation_create(
        organization=organization,
        end_user=accounts_services.end_user_for_user(organization=organization, user=e2e_user),
        inputs=validate_inputs(prompt="my private idea", duration="5", resolution="480p", image=image),
        image=image,
        created_by=e2e_user,
    )
    stored = Path(settings.MEDIA_ROOT) / generation.image.name
    services.dispatch_pending()
    assert stored.is_file() and Generation.objects.get().status == Status.PROCESSING

    page.goto("/app/settings/")
    page.get_by_role("heading", name="Delete my account").wait_for()
    assert_fields_labelled(page)
    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Delete my account").click()
    page.get_by_text("is being made right now").wait_for()  # the provider cannot stop it: try again later
    screenshot(page, "privacy-00-delete-account-busy")
    simulator.advance(simulator.config.latency_s + 1)
    simulator.deliver_webhooks()
    assert Generation.objects.get().status == Status.SUCCEEDED

    page.get_by_label("Your password").fill("not-my-password-1")
    page.get_by_role("button", name="Delete my account").click()
    page.get_by_text("That is not your password.").wait_for()
    screenshot(page, "privacy-01-delete-account-wrong-password")
    assert User.objects.filter(pk=e2e_user.pk).exists()

    page.get_by_label("Your password").fill(PASSWORD)
    page.get_by_role("button", name="Delete my account").click()
    page.get_by_text("Your account is deleted").wait_for()
    screenshot(page, "privacy-02-account-deleted")
    assert not User.objects.filter(pk=e2e_user.pk).exists()
    assert EndUserErasure.objects.get().origin == EndUserErasure.Origin.ACCOUNT_DELETED
    assert not stored.exists() and Generation.objects.get().prompt == ""
