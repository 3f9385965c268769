"""Organizations, roles, API keys and the end-user mapping, through the public services."""

import hashlib

import pytest

from accounts import selectors, services
from accounts.models import ApiKey, EndUser, Membership, Role
from seedance_saas.errors import Conflict, InvalidInput
from tests.factories import OrganizationFactory, UserFactory


def test_organization_create_makes_owner_and_unique_slug(user):
    first = services.organization_create(name="Acme Films", owner=user)
    second = services.organization_create(name="Acme Films", owner=UserFactory())
    assert first.slug == "acme-films"
    assert second.slug != first.slug and second.slug.startswith("acme-films-")
    assert Membership.objects.get(organization=first, user=user).role == Role.OWNER


def test_organization_create_refuses_blank_name(user):
    with pytest.raises(InvalidInput) as error:
        services.organization_create(name="   ", owner=user)
    assert "name" in error.value.fields


def test_user_can_belong_to_several_organizations(user):
    own = OrganizationFactory(owner=user)
    other = OrganizationFactory()
    services.membership_add(organization=other, user=user, role=Role.MEMBER)
    assert {m.organization for m in selectors.membership_list(user=user)} == {own, other}


def test_membership_add_twice_is_a_conflict(user, other_organization):
    services.membership_add(organization=other_organization, user=user)
    with pytest.raises(Conflict):
        services.membership_add(organization=other_organization, user=user)


def test_last_owner_cannot_be_demoted(user, organization):
    membership = Membership.objects.get(organization=organization, user=user)
    with pytest.raises(Conflict):
        services.membership_set_role(membership=membership, role=Role.MEMBER)
    second = services.membership_add(organization=organization, user=UserFactory(), role=Role.OWNER)
    services.membership_set_role(membership=membership, role=Role.ADMIN)
    membership.refresh_from_db()
    assert membership.role == Role.ADMIN and second.role == Role.OWNER


def test_unknown_role_is_refused(user, organization):
    with pytest.raises(InvalidInput):
        services.membership_add(organization=organization, user=UserFactory(), role="god")


def test_api_key_secret_is_shown_once_and_stored_hashed(organization):
    key, secret = services.api_key_create(organization=organization, name="server")
    assert secret.startswith("sk_live_")
    assert len(secret) - len("sk_live_") >= 43  # 32 random bytes, url-safe base64
    stored = ApiKey.objects.get(pk=key.pk)
    assert secret not in (stored.secret_hash, stored.prefix, stored.name)
    assert stored.secret_hash == hashlib.sha256(secret.encode()).hexdigest()
    assert secret.startswith(stored.prefix)


def test_api_key_authenticates_until_revoked(organization):
    key, secret = services.api_key_create(organization=organization, name="server")
    found = services.api_key_authenticate(secret=secret)
    assert found == key and found.organization == organization
    assert ApiKey.objects.get(pk=key.pk).last_used_at is not None
    services.api_key_revoke(api_key=key)
    assert services.api_key_authenticate(secret=secret) is None


def test_api_key_rejects_unknown_and_malformed_secrets(organization):
    services.api_key_create(organization=organization, name="server")
    assert services.api_key_authenticate(secret="sk_live_" + "x" * 43) is None
    assert services.api_key_authenticate(secret="not-a-key") is None


def test_end_user_mapping_is_stable_and_distinct_across_organizations(organization, other_organization):
    first = services.end_user_for_partner(organization=organization, external_id="alice@example.com")
    again = services.end_user_for_partner(organization=organization, external_id="alice@example.com")
    elsewhere = services.end_user_for_partner(organization=other_organization, external_id="alice@example.com")
    assert first.pk == again.pk and first.upstream_id == again.upstream_id
    assert elsewhere.upstream_id != first.upstream_id
    assert EndUser.objects.filter(external_id="alice@example.com").count() == 2


def test_end_user_upstream_id_leaks_nothing(organization):
    end_user = services.end_user_for_partner(organization=organization, external_id="alice@example.com")
    assert "alice" not in end_user.upstream_id and "example" not in end_user.upstream_id
    assert end_user.upstream_id.startswith("eu_") and len(end_user.upstream_id) == 43
    assert end_user.upstream_id == services.end_user_upstream_id(
        organization=organization, external_id="alice@example.com"
    )


def test_end_user_upstream_id_depends_on_server_secret(organization, settings):
    before = services.end_user_upstream_id(organization=organization, external_id="p-1")
    settings.END_USER_ID_SECRET = "another-secret"
    assert services.end_user_upstream_id(organization=organization, external_id="p-1") != before


def test_browser_and_default_end_users_never_collide_with_partner_ids(organization, user):
    browser = services.end_user_for_user(organization=organization, user=user)
    default = services.end_user_default(organization=organization)
    assert len({browser.pk, default.pk}) == 2
    with pytest.raises(InvalidInput):
        services.end_user_for_partner(organization=organization, external_id=browser.external_id)
    with pytest.raises(InvalidInput):
        services.end_user_for_partner(organization=organization, external_id=default.external_id)


@pytest.mark.parametrize("bad", ["", " ", "a b", "x" * 129, "user:1", "-leading-dash"])
def test_partner_end_user_id_is_validated(organization, bad):
    with pytest.raises(InvalidInput) as error:
        services.end_user_for_partner(organization=organization, external_id=bad)
    assert "end_user_id" in error.value.fields


def test_end_user_update_sets_limit_and_block(organization):
    end_user = services.end_user_for_partner(organization=organization, external_id="bob")
    services.end_user_update(end_user=end_user, blocked=True)
    end_user.refresh_from_db()
    assert end_user.blocked is True and end_user.monthly_spend_limit is None
    with pytest.raises(InvalidInput):
        services.end_user_update(end_user=end_user, monthly_spend_limit=-1)
