from django.apps import AppConfig


class GenerationsConfig(AppConfig):
    name = "generations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.db.models.signals import post_delete

        from generations.eachlabs.client import set_call_observer
        from generations.metrics import GenerationsCollector, provider_call_observed
        from generations.models import Generation
        from seedance_saas.metrics import register_collector
        from seedance_saas.schedules import Every, register

        # The ticker dispatches, polls and recovers for ~55 s of every minute (see generations.tasks.tick).
        register(
            self,
            [
                Every(name="generations: tick", func="generations.tasks.tick", minutes=1),
                Every(name="generations: sweep spend holds", func="generations.tasks.holds_sweep", minutes=10),
                # Read by /readyz (seedance_saas/health.py): proves scheduler, broker and a worker all move.
                Every(name="workers: heartbeat", func="seedance_saas.health.worker_heartbeat", minutes=1),
            ],
        )
        register_collector(GenerationsCollector())
        set_call_observer(provider_call_observed)
        # Every delete path (admin page, bulk action, queryset, cascade) sends post_delete per row, so a deleted
        # generation can never leave its spend hold held.
        post_delete.connect(_on_generation_deleted, sender=Generation, dispatch_uid="generations.release_hold")
        _register_concurrency_budget()


def _on_generation_deleted(sender, instance, **kwargs) -> None:
    from generations import holds

    holds.generation_deleted(generation=instance)


def _register_concurrency_budget() -> None:
    """The `generations` budget in every API answer's rate-limit fields (seedance_saas/ratelimit_fields.py)."""
    from generations.selectors import generation_concurrency
    from seedance_saas.ratelimit_fields import register_concurrency

    register_concurrency("generations", generation_concurrency)
