"""The project's own app: wires logging context and error reporting into django-q2 at start-up."""

from django.apps import AppConfig


class SeedanceConfig(AppConfig):
    name = "seedance_saas"
    verbose_name = "Seedance Studio"

    def ready(self) -> None:
        from seedance_saas.observability import worker_context

        worker_context.connect()
