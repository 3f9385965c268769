from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from accounts.signals import organization_created

        organization_created.connect(_on_organization_created, dispatch_uid="billing.organization_created")


def _on_organization_created(sender, organization, **kwargs):
    from billing import services

    services.billing_account_create(organization=organization)
