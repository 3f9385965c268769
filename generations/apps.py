from django.apps import AppConfig


class GenerationsConfig(AppConfig):
    name = "generations"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from seedance_saas.schedules import Every, register

        # The ticker dispatches, polls and recovers for ~55 s of every minute (see generations.tasks.tick).
        register(self, [Every(name="generations: tick", func="generations.tasks.tick", minutes=1)])
