"""Operator console for generations: filters, search, timelines, and actions that call the services."""

from django.contrib import admin, messages
from django.utils.html import format_html

from generations import services, sharing
from generations.models import Generation, GenerationEvent, ProviderCall, ShareLink, Status
from seedance_saas.errors import ServiceError


class GenerationEventInline(admin.TabularInline):
    model = GenerationEvent
    extra = 0
    can_delete = False
    fields = ["created_at", "from_status", "to_status", "reason"]
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Generation)
class GenerationAdmin(admin.ModelAdmin):
    class Media:
        css = {"all": ["css/admin.css"]}

    list_display = [
        "id",
        "organization",
        "status_badge",
        "resolution",
        "duration",
        "cost",
        "created_at",
        "completed_at",
    ]
    list_filter = ["status", "resolution", "created_at", "organization"]
    search_fields = ["=id", "prediction_id", "organization__name", "organization__slug", "end_user__external_id"]
    date_hierarchy = "created_at"
    list_select_related = ["organization"]
    inlines = [GenerationEventInline]
    actions = ["refresh_now", "fail_stuck", "retry"]
    readonly_fields = [f.name for f in Generation._meta.fields if f.name not in ("prompt",)] + ["timings"]
    fieldsets = [
        (None, {"fields": ["id", "organization", "end_user", "created_by", "api_key", "retry_of", "status"]}),
        (
            "Inputs",
            {
                "fields": [
                    "prompt",
                    "image",
                    "image_url",
                    "end_image",
                    "end_image_url",
                    "resolution",
                    "duration",
                    "aspect_ratio",
                    "generate_audio",
                    "seed",
                ]
            },
        ),
        (
            "Provider",
            {
                "fields": [
                    "prediction_id",
                    "attempts",
                    "polls",
                    "webhooks_received",
                    "not_before",
                    "next_poll_at",
                    "deadline_at",
                    "provider_output_url",
                    "predict_time",
                ]
            },
        ),
        ("Result", {"fields": ["video", "duration_seconds", "estimated_cost", "cost", "error_code", "error_message"]}),
        (
            "Times",
            {
                "fields": [
                    "created_at",
                    "submitted_at",
                    "provider_completed_at",
                    "completed_at",
                    "updated_at",
                    "timings",
                ]
            },
        ),
    ]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    @admin.display(description="status", ordering="status")
    def status_badge(self, obj):
        # A class, not style="": the Content-Security-Policy refuses inline styles (colours in css/admin.css).
        return format_html('<b class="status-{}">{}</b>', obj.status, obj.get_status_display())

    @admin.display(description="timings")
    def timings(self, obj):
        parts = []
        if obj.submitted_at:
            parts.append(f"queued {(obj.submitted_at - obj.created_at).total_seconds():.1f} s")
        if obj.completed_at and obj.submitted_at:
            parts.append(f"at the provider {(obj.completed_at - obj.submitted_at).total_seconds():.1f} s")
        if obj.completed_at and obj.provider_completed_at:
            parts.append(f"copy {(obj.completed_at - obj.provider_completed_at).total_seconds():.1f} s")
        return ", ".join(parts) or "-"

    @admin.action(description="Refresh now from the provider")
    def refresh_now(self, request, queryset):
        for generation in queryset.filter(status=Status.PROCESSING):
            services.generation_refresh(generation_id=generation.pk)
        messages.success(request, "Refreshed the processing generations among those selected.")

    @admin.action(description="Fail stuck submissions (outcome unknown, not charged)")
    def fail_stuck(self, request, queryset):
        count = services.recover_stuck_submissions()
        messages.success(request, f"Failed {count} generation(s) stuck in submitting.")

    @admin.action(description="Retry failed or canceled (as new generations)")
    def retry(self, request, queryset):
        for generation in queryset:
            try:
                services.generation_retry(generation=generation, created_by=request.user)
            except ServiceError as error:
                messages.error(request, f"{generation.pk}: {error.message}")


@admin.register(ProviderCall)
class ProviderCallAdmin(admin.ModelAdmin):
    list_display = ["started_at", "kind", "status_code", "error_code", "latency_ms", "generation_id"]
    list_filter = ["kind", "status_code", "error_code"]
    date_hierarchy = "started_at"

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False


@admin.register(ShareLink)
class ShareLinkAdmin(admin.ModelAdmin):
    """Operators can see and revoke public links (an abuse report); the token itself is never stored."""

    list_display = ["id", "organization", "kind", "target_id", "hide_prompt", "expires_at", "revoked_at", "created_at"]
    list_filter = ["kind", "hide_prompt", "created_at"]
    search_fields = ["=id", "=target_id", "organization__slug"]
    list_select_related = ["organization"]
    readonly_fields = [field.name for field in ShareLink._meta.fields]
    actions = ["revoke"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Revoke the selected share links now")
    def revoke(self, request, queryset):
        for link in queryset:
            sharing.share_link_revoke(share_link=link)
        self.message_user(request, f"Revoked {queryset.count()} share link(s).", messages.SUCCESS)


from generations import provider_key_admin  # noqa: E402,F401  (registers ProviderKeyAdmin)
