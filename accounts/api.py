"""The tenant-scoped base view every partner API view builds on, and the end-user endpoints."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404
from rest_framework.views import APIView


class TenantAPIView(APIView):
    """Base for every partner API view: authenticated by key, scoped to the key's organization.

    Subclasses read `self.organization` and pass it to selectors first; they cannot
    turn authentication off by accident (a subclass that wants a public endpoint
    must say `public = True`).
    """

    public = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.public and (not cls.permission_classes or not cls.authentication_classes):
            raise TypeError(f"{cls.__name__} must keep API-key authentication or declare public = True.")

    @property
    def organization(self):
        if self.request.auth is None:
            return None
        return self.request.auth.organization

    @property
    def api_key(self):
        return self.request.auth

    def get_tenant_object(self, queryset: QuerySet | type[Model], **lookup) -> Model:
        """One object of the caller's organization; any other organization's answers 404, never 403."""
        if isinstance(queryset, type):
            queryset = queryset._default_manager.all()
        try:
            return queryset.get(organization=self.organization, **lookup)
        except (queryset.model.DoesNotExist, ValidationError, ValueError, TypeError) as exc:
            raise Http404 from exc
