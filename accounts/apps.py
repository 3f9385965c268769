from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from django.db.models.signals import post_delete

        from accounts.api_key_cache import forget_deleted

        post_delete.connect(forget_deleted, sender="accounts.ApiKey", dispatch_uid="api_key_cache_forget_deleted")
