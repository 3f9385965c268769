"""Operator console for users, organizations, memberships, keys and end users."""

from django.contrib import admin, messages
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin

from accounts import services
from accounts.models import ApiKey, EndUser, EndUserErasure, Membership, Organization, User


@admin.register(User)
class UserAdmin(BaseUserAdmin):
    ordering = ["email"]
    list_display = ["email", "first_name", "last_name", "is_staff", "is_active", "date_joined"]
    list_filter = ["is_staff", "is_superuser", "is_active"]
    search_fields = ["email", "first_name", "last_name"]
    fieldsets = [
        (None, {"fields": ["email", "password"]}),
        ("Personal info", {"fields": ["first_name", "last_name"]}),
        ("Permissions", {"fields": ["is_active", "is_staff", "is_superuser", "groups", "user_permissions"]}),
        ("Dates", {"fields": ["last_login", "date_joined"]}),
    ]
    add_fieldsets = [(None, {"classes": ["wide"], "fields": ["email", "password1", "password2"]})]


class MembershipInline(admin.TabularInline):
    model = Membership
    extra = 0
    autocomplete_fields = ["user"]


class EndUserInline(admin.TabularInline):
    model = EndUser
    extra = 0
    fields = ["external_id", "upstream_id", "monthly_spend_limit", "blocked", "created_at"]
    readonly_fields = ["external_id", "upstream_id", "created_at"]
    show_change_link = True
    max_num = 0  # end users are created by use, not by hand

    def get_queryset(self, request):
        return super().get_queryset(request).order_by("-created_at")


@admin.register(Organization)
class OrganizationAdmin(admin.ModelAdmin):
    list_display = ["name", "slug", "member_count", "created_at"]
    search_fields = ["name", "slug", "memberships__user__email"]
    readonly_fields = ["created_at"]
    date_hierarchy = "created_at"
    inlines = [MembershipInline, EndUserInline]

    @admin.display(description="members")
    def member_count(self, obj):
        return obj.memberships.count()


@admin.register(Membership)
class MembershipAdmin(admin.ModelAdmin):
    list_display = ["user", "organization", "role", "created_at"]
    list_filter = ["role"]
    search_fields = ["user__email", "organization__name", "organization__slug"]
    autocomplete_fields = ["user", "organization"]


@admin.register(ApiKey)
class ApiKeyAdmin(admin.ModelAdmin):
    list_display = ["name", "prefix", "organization", "scope_list", "created_at", "last_used_at", "revoked_at"]
    list_filter = [("revoked_at", admin.EmptyFieldListFilter), "created_at"]
    search_fields = ["name", "prefix", "organization__name", "organization__slug"]
    # Scopes are shown, not edited: widening a key's access is for its owner, by creating a new key.
    readonly_fields = ["prefix", "secret_hash", "scope_list", "created_by", "created_at", "last_used_at", "revoked_at"]
    fields = ["organization", "name", *readonly_fields]
    actions = ["revoke"]

    @admin.display(description="scopes")
    def scope_list(self, obj) -> str:
        return ("read-only: " if obj.is_read_only else "") + ", ".join(obj.scopes)

    def has_add_permission(self, request):
        return False  # the secret must be shown once; create keys with create_api_key or the developer page

    @admin.action(description="Revoke selected keys")
    def revoke(self, request, queryset):
        for key in queryset.filter(revoked_at=None):
            services.api_key_revoke(api_key=key)
        messages.success(request, "Revoked.")


@admin.register(EndUser)
class EndUserAdmin(admin.ModelAdmin):
    list_display = ["external_id", "organization", "upstream_id", "monthly_spend_limit", "blocked", "created_at"]
    list_filter = ["blocked"]
    search_fields = ["external_id", "upstream_id", "organization__name", "organization__slug"]
    readonly_fields = ["organization", "external_id", "upstream_id", "created_at"]


@admin.register(EndUserErasure)
class EndUserErasureAdmin(admin.ModelAdmin):
    """The erasure audit: read only (an erasure is made through the API, a user's account deletion, or a service)."""

    list_display = ["anonymous_id", "organization", "origin", "generations_erased", "created_at", "completed_at"]
    list_filter = ["origin"]
    search_fields = ["anonymous_id", "organization__name", "organization__slug"]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
