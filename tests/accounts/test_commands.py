"""The management commands later checks and the README rely on."""

import io

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts import services
from accounts.models import Membership, Organization, Role, User


def run(*args) -> list[str]:
    out = io.StringIO()
    call_command(*args, stdout=out)
    return out.getvalue().strip().splitlines()


def test_create_tenant_prints_slug_last():
    lines = run(
        "create_tenant", "--name", "Night Owl Films", "--owner-email", "owner@owl.test", "--password", "pw-123456x"
    )
    organization = Organization.objects.get(slug=lines[-1])
    assert organization.name == "Night Owl Films"
    owner = User.objects.get(email="owner@owl.test")
    assert owner.check_password("pw-123456x")
    assert Membership.objects.get(organization=organization, user=owner).role == Role.OWNER


def test_create_api_key_prints_working_secret_last(organization):
    secret = run("create_api_key", "--org", organization.slug, "--name", "ci")[-1]
    assert services.api_key_authenticate(secret=secret).organization == organization


def test_create_api_key_takes_scopes_or_read_only(organization):
    full = services.api_key_authenticate(secret=run("create_api_key", "--org", organization.slug, "--name", "a")[-1])
    assert full.has_all_scopes
    reader = run("create_api_key", "--org", organization.slug, "--name", "b", "--scopes", "read-only")[-1]
    assert services.api_key_authenticate(secret=reader).is_read_only
    writer = run("create_api_key", "--org", organization.slug, "--name", "c", "--scopes", "generations:write, usage")
    assert services.api_key_authenticate(secret=writer[-1]).scopes == ["generations:write", "usage"]
    with pytest.raises(CommandError, match="Unknown scope"):
        run("create_api_key", "--org", organization.slug, "--name", "d", "--scopes", "everything")


def test_create_api_key_unknown_org_fails_clearly():
    with pytest.raises(CommandError, match="No organization"):
        run("create_api_key", "--org", "nope", "--name", "ci")


def test_seed_demo_is_idempotent_and_login_works():
    run("seed_demo")
    lines = run("seed_demo")
    assert any("demo@example.com" in line for line in lines)
    assert User.objects.filter(email="demo@example.com").count() == 1
    assert Membership.objects.filter(user__email="demo@example.com").count() == 1
    client = Client()
    assert client.login(email="demo@example.com", password="demo-password-1")
    assert client.get("/app/").status_code == 200
