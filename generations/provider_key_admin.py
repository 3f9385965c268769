"""The admin for provider keys: the secret is written once and never shown; resume after a 401."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.utils import timezone

from generations import provider_key_selectors, selectors, services
from generations.models import ProviderKey
from generations.services import own_provider_keys


class ProviderKeyForm(forms.ModelForm):
    base_url = forms.URLField(required=False, assume_scheme="https", help_text="Blank: EACHLABS_BASE_URL.")
    secret = forms.CharField(
        required=False,
        strip=True,
        widget=forms.PasswordInput(render_value=False),
        help_text="The Eachlabs API key. Stored encrypted and never shown again; leave empty to keep the current one.",
    )

    class Meta:
        model = ProviderKey
        fields = ["label", "organization", "base_url", "enabled", "max_in_flight", "max_creates_per_minute"]

    def clean(self):
        cleaned = super().clean()
        secret = cleaned.get("secret")
        if not self.instance.pk and not secret:
            self.add_error("secret", "A new key needs its secret.")
        if secret and cleaned.get("organization") is not None:
            # An organization's own key is checked with the provider before it is saved, as on the owner's page.
            try:
                own_provider_keys.provider_key_check(secret=secret, base_url=cleaned.get("base_url") or "")
            except own_provider_keys.ProviderKeyRefused as error:
                raise ValidationError({"secret": error.message}) from error
        return cleaned


@admin.register(ProviderKey)
class ProviderKeyAdmin(admin.ModelAdmin):
    form = ProviderKeyForm
    list_display = [
        "label",
        "organization",
        "fingerprint_prefix",
        "last4",
        "state",
        "in_flight",
        "max_in_flight",
        "in_flight_limit",
        "max_creates_per_minute",
        "enabled",
    ]
    list_filter = ["enabled", ("organization", admin.EmptyFieldListFilter)]
    readonly_fields = [
        "fingerprint_prefix",
        "last4",
        "from_environment",
        "learned_in_flight_limit",
        "learned_changed_at",
        "paused_until",
        "stopped_at",
        "state_reason",
        "created_at",
        "updated_at",
    ]
    actions = ["resume"]
    raw_id_fields = ["organization"]

    @admin.display(description="state")
    def state(self, obj: ProviderKey) -> str:
        return selectors.provider_key_pause(key=obj, now=timezone.now()) or "active"

    @admin.display(description="in flight")
    def in_flight(self, obj: ProviderKey) -> int:
        return provider_key_selectors.key_in_flight(key=obj)

    @admin.display(description="learned limit")
    def in_flight_limit(self, obj: ProviderKey) -> int:
        return obj.in_flight_limit

    def save_model(self, request, obj, form, change):
        secret = form.cleaned_data.get("secret")
        if not change:
            created = services.provider_key_create(
                label=obj.label,
                secret=secret,
                organization=obj.organization,
                base_url=obj.base_url,
                max_in_flight=obj.max_in_flight,
                max_creates_per_minute=obj.max_creates_per_minute,
            )
            obj.pk = created.pk
            obj.refresh_from_db()
            return
        super().save_model(request, obj, form, change)
        if secret:
            services.provider_key_set_secret(key=obj, secret=secret)

    @admin.action(description="Resume dispatching (after fixing the key)")
    def resume(self, request, queryset):
        for key in queryset:
            services.provider_key_resume(key=key)
        messages.success(request, f"Dispatching resumed on {queryset.count()} key(s).")
