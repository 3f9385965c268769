"""Browser forms of billing."""

from decimal import Decimal

from django import forms
from django.utils import timezone


class SpendLimitForm(forms.Form):
    monthly_spend_limit = forms.DecimalField(
        label="Monthly spend limit (USD)",
        required=False,
        min_value=Decimal("0"),
        max_digits=12,
        decimal_places=2,
        help_text="New videos are refused once this month's spend plus videos in progress would pass it. "
        "Empty: no limit.",
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0", "placeholder": "No limit"}),
    )


class UsageExportForm(forms.Form):
    """The billing page's "Download CSV": the same dates and rules as GET /api/v1/usage/export.csv."""

    from_ = forms.DateField(label="From", required=False, widget=forms.DateInput(attrs={"type": "date"}))
    to = forms.DateField(label="To", required=False, widget=forms.DateInput(attrs={"type": "date"}))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["from"] = self.fields.pop("from_")  # `from` is a Python keyword

    def clean(self):
        from billing.serializers import MAX_USAGE_RANGE_DAYS

        data = super().clean()
        today = timezone.now().date()
        start = data.get("from") or today.replace(day=1)
        end = data.get("to") or today
        if end < start:
            raise forms.ValidationError("The last day must be on or after the first.")
        if (end - start).days > MAX_USAGE_RANGE_DAYS:
            raise forms.ValidationError(f"Ask for at most {MAX_USAGE_RANGE_DAYS} days at once.")
        return {"start": start, "end": end}
