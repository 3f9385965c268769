"""The tenant-scoped base view every partner API view builds on."""

from __future__ import annotations

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
