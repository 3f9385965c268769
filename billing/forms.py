"""Browser forms of billing."""

from decimal import Decimal

from django import forms


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
