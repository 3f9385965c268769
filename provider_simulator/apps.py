"""The provider simulator as a Django app: for its `eachlabs_simulator` command; it has no models."""

from django.apps import AppConfig


class ProviderSimulatorConfig(AppConfig):
    name = "provider_simulator"
    verbose_name = "Provider simulator"
