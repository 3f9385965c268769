from django.apps import AppConfig


class WebhooksConfig(AppConfig):
    name = "webhooks"
    verbose_name = "Partner webhooks"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from seedance_saas.metrics import register_collector
        from webhooks.metrics import DeliveriesCollector

        register_collector(DeliveriesCollector())
        from seedance_saas.schedules import Every, register

        register(
            self,
            [
                Every("webhooks: send due retries", "webhooks.tasks.deliveries_send_due", 1),
                Every("api: purge idempotency records", "webhooks.tasks.idempotency_records_purge", 60),
                Every("webhooks: drop rotated-out secrets", "webhooks.tasks.previous_secrets_drop_expired", 60),
            ],
        )
