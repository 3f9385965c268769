"""The project's own app: wires logging context and error reporting into django-q2 at start-up."""

from django.apps import AppConfig


class SeedanceConfig(AppConfig):
    name = "seedance_saas"
    verbose_name = "Seedance Studio"

    def ready(self) -> None:
        from django.conf import settings

        from seedance_saas.observability import sentry, worker_context

        worker_context.connect()
        if settings.SENTRY_DSN:
            sentry.install_worker_reporter()
