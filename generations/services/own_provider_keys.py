"""An organization's own provider key: checked with the provider, then its jobs run only on it."""

from __future__ import annotations

import uuid

from accounts.models import Organization
from generations.eachlabs.client import EachlabsError, ProviderAuthError, ProviderNotFound, build_client
from generations.models import ProviderKey
from generations.services.provider_keys import provider_key_create, provider_key_set_secret
from generations.services.transitions import wake_dispatcher
from seedance_saas.errors import ServiceError

KEY_CHECK_TIMEOUT_S = 10.0


class ProviderKeyRefused(ServiceError):
    code = "provider_key_refused"
    status_code = 400
    default_message = "Eachlabs refused this key (401). Check that you copied the whole key from your Eachlabs account."


class ProviderKeyUncheckable(ServiceError):
    code = "provider_key_uncheckable"
    status_code = 503
    default_message = "We could not reach Eachlabs to check the key; nothing was saved. Try again in a minute."


def provider_key_check(*, secret: str, base_url: str = "") -> None:
    """A cheap authenticated call: GET a prediction id that cannot exist. 404 = the key is accepted,
    401 = refused; anything else leaves the key unchecked (and unsaved)."""
    secret = secret.strip()
    if len(secret) < 8:
        raise ProviderKeyRefused("That is not an Eachlabs API key (too short).")
    # Runs while an owner waits on the form: a short read timeout, and "could not check" rather than a hang.
    client = build_client(api_key=secret, base_url=base_url, read_timeout_s=KEY_CHECK_TIMEOUT_S)
    try:
        client.get_prediction(f"key-check-{uuid.uuid4()}")
    except ProviderNotFound:
        return
    except ProviderAuthError as error:
        raise ProviderKeyRefused() from error
    except EachlabsError as error:
        raise ProviderKeyUncheckable() from error
    finally:
        client.close()
    # A 200 for an id nobody made is not what the contract says; do not trust the key blindly.
    raise ProviderKeyUncheckable("Eachlabs answered the key check unexpectedly; nothing was saved.")


def own_provider_key_attach(*, organization: Organization, secret: str, label: str = "") -> ProviderKey:
    """Check the key with the provider (outside any transaction), then store it as the organization's own key
    (replacing an earlier one). From then on its jobs run only on it, with its limits."""
    provider_key_check(secret=secret)
    existing = ProviderKey.objects.filter(organization=organization).first()
    if existing is not None:
        existing.enabled = True
        if label:
            existing.label = label
        existing.save(update_fields=["enabled", "label", "updated_at"])
        return provider_key_set_secret(key=existing, secret=secret)
    key = provider_key_create(label=label or f"{organization.name} (own key)", secret=secret, organization=organization)
    wake_dispatcher()
    return key


def own_provider_key_detach(*, organization: Organization) -> bool:
    """Stop using the organization's own key: its queued jobs go back to the shared keys. The row stays (disabled)
    so jobs already in flight on it are still polled with it."""
    disabled = ProviderKey.objects.filter(organization=organization, enabled=True).update(enabled=False)
    wake_dispatcher()
    return bool(disabled)
