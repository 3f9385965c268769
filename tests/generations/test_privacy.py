"""Erasure's durable file deletion (the sweeper finishes what a storage outage left), the signal for apps above
generations, and a browser user deleting their own account."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.files.storage import FileSystemStorage
from django.utils import timezone

from accounts import services as accounts_services
from accounts.models import EndUser, EndUserErasure, Membership, Role, User
from generations import privacy, services
from generations.catalog import validate_inputs
from generations.models import Generation
from generations.signals import end_user_erased
from tests.factories import MembershipFactory, OrganizationFactory, UserFactory
from tests.generations.test_lifecycle import png_upload

PASSWORD = "pw-for-tests-1"


class FlakyStorage(FileSystemStorage):
    """Local disk whose deletes fail while `down` is set: storage (S3) unreachable, at the boundary."""

    down = False

    def delete(self, name):
        if FlakyStorage.down:
            raise OSError("storage unreachable")
        return super().delete(name)


@pytest.fixture(autouse=True)
def generous_trial(settings):
    settings.TRIAL_CREDIT_USD = Decimal(1000)


@pytest.fixture
def flaky_storage(settings):
    settings.STORAGES = {**settings.STORAGES, "default": {"BACKEND": f"{__name__}.FlakyStorage"}}
    yield FlakyStorage
    FlakyStorage.down = False


def make(organization, end_user, *, created_by=None) -> Generation:
    image = png_upload()
    inputs = validate_inputs(prompt="a secret prompt", duration="5", resolution="480p", image=image)
    return services.generation_create(
        organization=organization, end_user=end_user, inputs=inputs, image=image, created_by=created_by
    )


def on_disk(settings, name: str) -> bool:
    return (Path(settings.MEDIA_ROOT) / name).is_file()


def test_files_a_storage_outage_kept_are_deleted_by_the_sweeper(
    organization, settings, flaky_storage, django_capture_on_commit_callbacks
):
    end_user = accounts_services.end_user_for_partner(organization=organization, external_id="carol")
    name = make(organization, end_user).image.name
    flaky_storage.down = True
    with django_capture_on_commit_callbacks(execute=True):
        erasure = privacy.end_user_erase(end_user=end_user)
    erasure.refresh_from_db()
    assert erasure.files_pending == [name] and erasure.completed_at is None and on_disk(settings, name)
    assert Generation.objects.get().image.name == ""  # the database side is erased already

    flaky_storage.down = False
    assert services.upkeep_pass()["erasure_files_deleted"] == 0  # younger than a minute: its task may still run
    EndUserErasure.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    assert services.upkeep_pass()["erasure_files_deleted"] == 1

    erasure.refresh_from_db()
    assert erasure.files_pending == [] and erasure.files_deleted == 1 and erasure.completed_at is not None
    assert not on_disk(settings, name)


def test_a_storage_outage_does_not_stop_the_upkeep_pass(organization, flaky_storage):
    end_user = accounts_services.end_user_for_partner(organization=organization, external_id="dave")
    make(organization, end_user)
    flaky_storage.down = True
    privacy.end_user_erase(end_user=end_user)
    EndUserErasure.objects.update(created_at=timezone.now() - timedelta(minutes=2))
    figures = services.upkeep_pass()
    assert figures["erasure_files_deleted"] == 0 and "dispatched" in figures
    assert len(EndUserErasure.objects.get().files_pending) == 1


def test_apps_above_generations_hear_of_the_erasure_and_may_add_files(organization, settings):
    heard = []

    def receiver(sender, organization, end_user, generation_ids, **kwargs):
        heard.append((organization.pk, end_user.external_id, list(generation_ids)))
        return ["storyboards/shots/gone.png"]

    end_user = accounts_services.end_user_for_partner(organization=organization, external_id="erin")
    generation = make(organization, end_user)
    end_user_erased.connect(receiver, dispatch_uid="test")
    try:
        erasure = privacy.end_user_erase(end_user=end_user)
    finally:
        end_user_erased.disconnect(dispatch_uid="test")
    assert heard == [(organization.pk, erasure.anonymous_id, [generation.pk])]
    assert "storyboards/shots/gone.png" in erasure.files_pending


# --- A browser user deletes their account -------------------------------------------------


def test_deleting_my_account_erases_my_videos_in_every_organization(
    client, user, organization, settings, django_capture_on_commit_callbacks
):
    elsewhere = OrganizationFactory()
    MembershipFactory(user=user, organization=elsewhere)
    names = []
    for org in (organization, elsewhere):
        mine = make(org, accounts_services.end_user_for_user(organization=org, user=user), created_by=user)
        names.append(mine.image.name)
    teammate_video = make(
        organization, accounts_services.end_user_for_partner(organization=organization, external_id="x")
    )
    client.force_login(user)
    page = client.get("/app/settings/")
    assert b"Delete my account" in page.content

    refused = client.post("/app/settings/delete-account/", {"password": "wrong"})
    assert refused.status_code == 400 and b"That is not your password." in refused.content
    assert User.objects.filter(pk=user.pk).exists()

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post("/app/settings/delete-account/", {"password": PASSWORD})

    assert response.status_code == 302
    assert not User.objects.filter(pk=user.pk).exists() and not Membership.objects.filter(user_id=user.pk).exists()
    assert not any(on_disk(settings, name) for name in names)
    external_id = f"user:{user.pk}"
    assert not EndUser.objects.filter(external_id=external_id).exists()
    assert not Generation.objects.filter(prompt="a secret prompt").exclude(pk=teammate_video.pk).exists()
    assert set(EndUserErasure.objects.values_list("origin", flat=True)) == {EndUserErasure.Origin.ACCOUNT_DELETED}
    assert EndUserErasure.objects.count() == 2
    assert client.get("/app/settings/").status_code == 302  # logged out
    assert Generation.objects.get(pk=teammate_video.pk).prompt == "a secret prompt"  # others' work stays


def test_the_only_owner_of_an_organization_with_members_must_hand_over_first(client, user, organization):
    MembershipFactory(user=UserFactory(), organization=organization, role=Role.MEMBER)
    make(organization, accounts_services.end_user_for_user(organization=organization, user=user), created_by=user)
    client.force_login(user)
    response = client.post("/app/settings/delete-account/", {"password": PASSWORD})
    assert response.status_code == 409
    assert b"only owner of" in response.content and b"Team page" in response.content
    assert User.objects.filter(pk=user.pk).exists() and not EndUserErasure.objects.exists()
    assert Generation.objects.get().prompt == "a secret prompt"


def test_a_video_at_the_provider_postpones_account_deletion(client, user, organization, simulator):
    make(organization, accounts_services.end_user_for_user(organization=organization, user=user), created_by=user)
    services.dispatch_pending()
    client.force_login(user)
    response = client.post("/app/settings/delete-account/", {"password": PASSWORD})
    assert response.status_code == 409 and b"being made right now" in response.content
    assert User.objects.filter(pk=user.pk).exists() and not EndUserErasure.objects.exists()
