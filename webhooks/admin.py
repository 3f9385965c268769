"""Operator console for webhook endpoints and deliveries, with a replay action."""

from django.contrib import admin, messages

from seedance_saas.errors import ServiceError
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint
from webhooks.rotation import DEFAULT_OVERLAP_HOURS


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = [
        "url",
        "organization",
        "enabled",
        "consecutive_failures",
        "failing_since",
        "rotation_state",
        "created_at",
    ]
    list_filter = ["enabled", "created_at"]
    search_fields = ["url", "description", "organization__name", "organization__slug", "id"]
    # Secrets are never shown to operators: the rotation state says what signs, not with what.
    exclude = ["secret", "previous_secret"]
    readonly_fields = [
        "id",
        "rotation_state",
        "secret_rotated_at",
        "previous_secret_expires_at",
        "disabled_at",
        "consecutive_failures",
        "failing_since",
        "created_at",
        "updated_at",
    ]
    list_select_related = ["organization"]
    actions = ["enable", "rotate_secret"]

    @admin.action(description="Enable the selected endpoints (clears their failure history)")
    def enable(self, request, queryset):
        for endpoint in queryset:
            services.webhook_endpoint_update(endpoint=endpoint, enabled=True)
        self.message_user(request, f"Enabled {queryset.count()} endpoint(s).", messages.SUCCESS)

    def has_add_permission(self, request):
        return False  # an organization registers its endpoints (API or page), which makes the secret

    @admin.display(description="Secret rotation")
    def rotation_state(self, endpoint: WebhookEndpoint) -> str:
        until = endpoint.previous_secret_signs_until
        if until is not None:
            return f"overlap: old and new secret sign until {until:%Y-%m-%d %H:%M} UTC"
        if endpoint.secret_rotated_at:
            return f"rotated {endpoint.secret_rotated_at:%Y-%m-%d %H:%M} UTC; one secret signs"
        return "never rotated"

    @admin.action(description=f"Rotate the signing secret (the old one signs for {DEFAULT_OVERLAP_HOURS} h more)")
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            services.webhook_endpoint_rotate_secret(endpoint=endpoint, overlap_hours=DEFAULT_OVERLAP_HOURS)
        self.message_user(request, f"Rotated {queryset.count()} secret(s).", messages.SUCCESS)


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(admin.ModelAdmin):
    list_display = [
        "event_type",
        "event_id",
        "endpoint",
        "organization",
        "status",
        "attempts",
        "last_status_code",
        "last_latency_ms",
        "next_attempt_at",
        "created_at",
    ]
    list_filter = ["status", "event_type", "created_at"]
    search_fields = ["event_id", "id", "endpoint__url", "organization__name", "organization__slug"]
    list_select_related = ["endpoint", "organization"]
    date_hierarchy = "created_at"
    readonly_fields = [f.name for f in WebhookDelivery._meta.fields]
    actions = ["replay"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Replay the selected deliveries")
    def replay(self, request, queryset):
        replayed = 0
        for delivery in queryset.select_related("endpoint"):
            try:
                services.delivery_replay(delivery=delivery)
                replayed += 1
            except ServiceError as exc:
                self.message_user(request, f"{delivery.event_id}: {exc.message}", messages.WARNING)
        self.message_user(request, f"Replaying {replayed} deliver{'y' if replayed == 1 else 'ies'}.", messages.SUCCESS)
