from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from billing.metrics import UsageReportingCollector
        from seedance_saas.metrics import register_collector

        register_collector(UsageReportingCollector())
        from allauth.account.signals import email_confirmed, user_signed_up

        from accounts.signals import organization_created

        organization_created.connect(_on_organization_created, dispatch_uid="billing.organization_created")
        email_confirmed.connect(_on_email_confirmed, dispatch_uid="billing.email_confirmed")
        user_signed_up.connect(_on_user_signed_up, dispatch_uid="billing.user_signed_up")


def _on_organization_created(sender, organization, self_service=False, **kwargs):
    from billing import services

    services.billing_account_create(organization=organization, trial_awaits_verification=self_service)


def _on_email_confirmed(sender, email_address, **kwargs):
    from billing import trial_services

    trial_services.trial_unlock(user=email_address.user, email=email_address.email)


def _on_user_signed_up(sender, user, **kwargs):
    """An address already verified at sign-up (no email_confirmed follows) unlocks the trial at once."""
    from allauth.account.models import EmailAddress

    from billing import trial_services

    for address in EmailAddress.objects.filter(user=user, verified=True):
        trial_services.trial_unlock(user=user, email=address.email)
