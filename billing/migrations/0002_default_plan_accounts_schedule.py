"""The default plan at list rates, a billing account for every existing organization, and the Stripe drain schedule."""

from django.conf import settings
from django.db import migrations
from django.utils import timezone

from billing import prices

# The price book is the one source of the list rates; this migration keeps no copy of its own.
LIST_RATES = {f"price_{resolution}": rate for resolution, rate in prices.PROVIDER_COST_PER_SECOND.items()}
SCHEDULE_NAME = "billing: send unreported usage to Stripe"


def forwards(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    BillingAccount = apps.get_model("billing", "BillingAccount")
    Organization = apps.get_model("accounts", "Organization")
    Schedule = apps.get_model("django_q", "Schedule")
    plan = Plan.objects.filter(is_default=True).first()
    if plan is None:
        plan, _ = Plan.objects.get_or_create(slug="standard", defaults={"name": "Standard", "is_default": True, **LIST_RATES})
    for organization in Organization.objects.filter(billing_account__isnull=True):
        BillingAccount.objects.create(
            organization=organization, plan=plan, standing="trial", trial_credit=settings.TRIAL_CREDIT_USD
        )
    Schedule.objects.update_or_create(
        name=SCHEDULE_NAME,
        defaults={
            "func": "billing.tasks.usage_report_drain",
            "schedule_type": "I",  # every `minutes`
            "minutes": 1,
            "repeats": -1,
            "next_run": timezone.now(),
        },
    )


def backwards(apps, schema_editor):
    apps.get_model("django_q", "Schedule").objects.filter(name=SCHEDULE_NAME).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("billing", "0001_initial"),
        ("accounts", "0001_initial"),
        ("django_q", "0019_alter_task_options_alter_ormq_key_alter_ormq_lock_and_more"),
    ]

    operations = [migrations.RunPython(forwards, backwards)]
