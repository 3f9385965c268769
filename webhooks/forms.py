"""Browser form for a webhook endpoint (the service validates the URL)."""

from django import forms

from webhooks.models import EVENT_TYPES


class WebhookEndpointForm(forms.Form):
    url = forms.CharField(
        label="Endpoint URL", max_length=500, help_text="An https:// URL on your server that answers 2xx."
    )
    description = forms.CharField(max_length=200, required=False)
    event_types = forms.MultipleChoiceField(
        choices=[(t, t) for t in EVENT_TYPES],
        initial=EVENT_TYPES,
        widget=forms.CheckboxSelectMultiple,
        label="Events",
    )
