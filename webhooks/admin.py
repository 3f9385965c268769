"""Operator console for webhook endpoints and deliveries, with a replay action."""

from django.contrib import admin, messages

from seedance_saas.errors import ServiceError
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(admin.ModelAdmin):
    list_display = ["url", "organization", "enabled", "consecutive_failures", "failing_since", "created_at"]
    list_filter = ["enabled", "created_at"]
    search_fields = ["url", "description", "organization__name", "organization__slug", "id"]
    readonly_fields = [
        "id",
        "secret",
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

    @admin.action(description="Rotate the signing secret")
    def rotate_secret(self, request, queryset):
        for endpoint in queryset:
            services.webhook_endpoint_rotate_secret(endpoint=endpoint)
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
