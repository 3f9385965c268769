"""Operators see storyboards and their shots (read-only: every change goes through the services)."""

from django.contrib import admin

from storyboards.models import Shot, Storyboard


class ShotInline(admin.TabularInline):
    model = Shot
    extra = 0
    can_delete = False
    fields = ["position", "status", "duration", "continue_previous", "generation", "attempts", "error_message"]
    readonly_fields = fields


@admin.register(Storyboard)
class StoryboardAdmin(admin.ModelAdmin):
    list_display = ["id", "organization", "status", "resolution", "estimated_cost", "created_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["id", "organization__name", "title"]
    inlines = [ShotInline]
    readonly_fields = [f.name for f in Storyboard._meta.fields]

    def has_add_permission(self, request) -> bool:
        return False

    def has_delete_permission(self, request, obj=None) -> bool:
        return False
