from django.apps import AppConfig


class StoryboardsConfig(AppConfig):
    name = "storyboards"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from generations import holds, media_ownership
        from generations.signals import end_user_erased, generation_ended
        from seedance_saas.schedules import Every, register
        from storyboards import hooks

        generation_ended.connect(hooks.on_generation_ended, dispatch_uid="storyboards.generation_ended")
        end_user_erased.connect(hooks.on_end_user_erased, dispatch_uid="storyboards.end_user_erased")
        holds.register_hold_keeper(hooks.holds_kept)
        media_ownership.register_media_owner(hooks.media_belongs_to)
        # The safety net when a generation_ended signal was lost with its worker: advance what is due.
        register(self, [Every(name="storyboards: advance", func="storyboards.tasks.advance_all", minutes=1)])
