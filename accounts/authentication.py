"""API-key authentication for the partner API (kept apart from views: DRF imports it at settings load)."""

from __future__ import annotations

from drf_spectacular.extensions import OpenApiAuthenticationExtension
from rest_framework import authentication, exceptions, permissions

from accounts import services
from seedance_saas.observability.request_id import bind_organization


class ApiKeyAuthentication(authentication.BaseAuthentication):
    """`Authorization: Bearer sk_live_...`; the key decides the organization."""

    keyword = "Bearer"

    def authenticate(self, request):
        header = authentication.get_authorization_header(request).decode("latin-1")
        if not header:
            return None
        scheme, _, secret = header.partition(" ")
        if scheme.lower() != "bearer" or not secret.strip():
            raise exceptions.AuthenticationFailed("Send the API key as 'Authorization: Bearer <key>'.")
        api_key = services.api_key_authenticate(secret=secret.strip())
        if api_key is None:
            raise exceptions.AuthenticationFailed("This API key is unknown or has been revoked.")
        request._request.organization = api_key.organization
        bind_organization(api_key.organization_id)
        return (None, api_key)

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class ApiKeyAuthenticationScheme(OpenApiAuthenticationExtension):
    target_class = "accounts.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {"type": "http", "scheme": "bearer", "description": "An API key from the developer page: sk_live_..."}


class HasOrganization(permissions.BasePermission):
    message = "Send an API key: 'Authorization: Bearer <key>'."

    def has_permission(self, request, view) -> bool:
        return request.auth is not None
