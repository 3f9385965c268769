"""Users, organizations (the tenant), memberships, API keys and the end-user mapping."""

from __future__ import annotations

from django.contrib.auth.models import AbstractUser, BaseUserManager
from django.db import models
from django.db.models.functions import Lower

from accounts.scopes import all_scopes, allows, is_read_only


class UserManager(BaseUserManager):
    use_in_migrations = True

    def _create_user(self, email: str, password: str | None, **extra):
        if not email:
            raise ValueError("An email address is required.")
        user = self.model(email=self.normalize_email(email).lower(), **extra)
        user.set_password(password)
        user.save(using=self._db)
        return user

    def create_user(self, email: str, password: str | None = None, **extra):
        extra.setdefault("is_staff", False)
        extra.setdefault("is_superuser", False)
        return self._create_user(email, password, **extra)

    def create_superuser(self, email: str, password: str | None = None, **extra):
        extra.update(is_staff=True, is_superuser=True)
        return self._create_user(email, password, **extra)


class User(AbstractUser):
    """A person who logs in with an email address."""

    username = None
    email = models.EmailField("email address", unique=True)
    notify_video_finished = models.BooleanField(
        "email me when my video is ready or failed",
        default=True,
        db_default=True,  # old code still running during a rolling deploy inserts users without this column
        help_text="Videos made in the browser only; the API's videos are reported to the partner by webhook.",
    )

    USERNAME_FIELD = "email"
    REQUIRED_FIELDS: list[str] = []

    objects = UserManager()

    class Meta:
        constraints = [models.UniqueConstraint(Lower("email"), name="user_email_ci_unique")]

    def __str__(self) -> str:
        return self.email


class Organization(models.Model):
    """The tenant: every tenant-owned row points at one."""

    name = models.CharField(max_length=120)
    slug = models.SlugField(max_length=60, unique=True)
    created_at = models.DateTimeField(auto_now_add=True)
    api_create_rate_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="API writes per minute per key; empty means the default (API_CREATE_RATE_PER_MINUTE).",
    )
    api_read_rate_per_minute = models.PositiveIntegerField(
        null=True,
        blank=True,
        help_text="API reads per minute per key; empty means the default (API_READ_RATE_PER_MINUTE).",
    )

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MEMBER = "member", "Member"


class Membership(models.Model):
    user = models.ForeignKey(User, on_delete=models.CASCADE, related_name="memberships")
    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "user"], name="membership_unique_pair")]
        ordering = ["organization__name"]

    def __str__(self) -> str:
        return f"{self.user} in {self.organization} ({self.role})"

    @property
    def can_manage(self) -> bool:
        """Owners and admins manage members, keys, limits and billing."""
        return self.role in (Role.OWNER, Role.ADMIN)


class ApiKey(models.Model):
    """A partner's server credential. Only a SHA-256 of the secret is stored."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=20, help_text="The visible start of the key, to tell keys apart.")
    secret_hash = models.CharField(max_length=64, unique=True)
    created_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    # A list of accounts.scopes.SCOPES; keys made before scopes existed got all of them (the default).
    scopes = models.JSONField(default=all_scopes, help_text="What this key may do (see accounts/scopes.py).")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    def has_scope(self, scope: str | None) -> bool:
        return allows(self.scopes, scope)

    @property
    def is_read_only(self) -> bool:
        return is_read_only(self.scopes)

    @property
    def has_all_scopes(self) -> bool:
        return set(self.scopes) >= set(all_scopes())

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class EndUser(models.Model):
    """Maps a person (a partner's end user, or one of our browser users) to a stable upstream id."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="end_users")
    external_id = models.CharField(max_length=160)
    upstream_id = models.CharField(max_length=64, unique=True, editable=False)
    monthly_spend_limit = models.DecimalField(
        max_digits=12,
        decimal_places=4,
        null=True,
        blank=True,
        help_text="USD per calendar month; empty means no limit.",
    )
    blocked = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    erased_at = models.DateTimeField(
        null=True, blank=True, help_text="Erased on request: the id is anonymous now; only the money is kept."
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "external_id"], name="end_user_unique_external_id")
        ]
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.external_id} @ {self.organization}"


class EndUserErasure(models.Model):
    """The audit record of one erasure: who asked, when, and what was removed; never the erased id itself.

    `subject_digest` is a keyed hash of the erased id, so the same id can be refused for a while without
    being kept; `anonymous_id` is the id the kept money rows (usage, authorizations) now carry.
    """

    class Origin(models.TextChoices):
        API = "api", "Partner API"
        ACCOUNT_DELETED = "account_deleted", "Browser user deleted their account"
        OPERATOR = "operator", "Operator"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    end_user = models.ForeignKey(EndUser, on_delete=models.CASCADE, related_name="erasures")
    # Who asked: an API key, a user, or (a deleted account) the person themselves, whose row is gone by then.
    origin = models.CharField(max_length=20, choices=Origin.choices, default=Origin.API)
    anonymous_id = models.CharField(max_length=64)
    subject_digest = models.CharField(max_length=64, db_index=True)
    refused_until = models.DateTimeField(help_text="New generations for the erased id are refused until then.")
    requested_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    requested_by_api_key = models.ForeignKey(ApiKey, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    generations_erased = models.PositiveIntegerField(default=0)
    files_pending = models.JSONField(default=list, help_text="Stored files still to delete (retried until empty).")
    files_deleted = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True, help_text="When the last file was deleted.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"erasure of {self.anonymous_id}"


class Invitation(models.Model):
    """An owner or admin invites someone by email; accepting creates the membership."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="invitations")
    email = models.EmailField()
    role = models.CharField(max_length=10, choices=Role.choices, default=Role.MEMBER)
    token_hash = models.CharField(max_length=64, unique=True)
    invited_by = models.ForeignKey(User, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.email} to {self.organization}"


class IdempotencyRecord(models.Model):
    """The first answer to a POST carrying an Idempotency-Key, replayed for repeats (kept >= 24 h)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="+")
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    response_status = models.PositiveSmallIntegerField(null=True, blank=True, help_text="Empty while in progress.")
    response_body = models.JSONField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["organization", "key"], name="idempotency_unique_key")]

    def __str__(self) -> str:
        return f"{self.key} ({self.organization_id})"
