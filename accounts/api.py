"""The tenant-scoped base view every partner API view builds on, and the end-user endpoints."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db.models import Model, QuerySet
from django.http import Http404
from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework.response import Response
from rest_framework.views import APIView

from accounts import scopes, selectors, services
from accounts.serializers import EndUserSerializer, EndUserUpdateSerializer
from seedance_saas import ratelimit_fields
from seedance_saas.api_docs import PAGE_PARAMETERS, ScopedAutoSchema, authed_errors, paginate, paginated
from seedance_saas.errors import ServiceError

HANDLER_METHODS = ("get", "post", "put", "patch", "delete")


class InsufficientScope(ServiceError):
    code = "insufficient_scope"
    status_code = 403

    def __init__(self, required_scope: str):
        self.required_scope = required_scope
        super().__init__(
            f"This API key lacks the scope `{required_scope}`, which this call needs. Use a key that has it, or "
            "create one on the Developers page."
        )

    def as_dict(self) -> dict:
        return {**super().as_dict(), "required_scope": self.required_scope}


class TenantAPIView(APIView):
    """Base for every partner API view: authenticated by key, scoped to the key's organization.

    Subclasses read `self.organization` and pass it to selectors first; they cannot
    turn authentication off by accident (a subclass that wants a public endpoint
    must say `public = True`), nor forget which scope each method needs:
    `required_scopes = {"GET": "generations:read", "POST": "generations:write"}`
    (`scopes.PUBLIC` for none) must name every handler, or the class is refused.
    Every answer carries the rate-limit fields (seedance_saas/ratelimit_fields.py).
    """

    public = False
    required_scopes: dict[str, str | None] = {}
    schema = ScopedAutoSchema()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if not cls.public and (not cls.permission_classes or not cls.authentication_classes):
            raise TypeError(f"{cls.__name__} must keep API-key authentication or declare public = True.")
        for method in HANDLER_METHODS:
            if hasattr(cls, method) and method.upper() not in cls.required_scopes:
                raise TypeError(f"{cls.__name__}.{method} needs a scope: add {method.upper()!r} to required_scopes.")
        unknown = {s for s in cls.required_scopes.values() if s is not scopes.PUBLIC and s not in scopes.SCOPES}
        if unknown:
            raise TypeError(f"{cls.__name__} names unknown scope(s) {sorted(unknown)}; see accounts/scopes.py.")

    def initial(self, request, *args, **kwargs):
        # After authentication, permissions and throttles: a refused call still counts and carries the fields.
        super().initial(request, *args, **kwargs)
        method = "GET" if request.method == "HEAD" else request.method
        # No entry means no handler (class creation checks that): the dispatch answers 405 next.
        if request.auth is None or method not in self.required_scopes:
            return
        needed = self.required_scopes[method]
        if not request.auth.has_scope(needed):
            raise InsufficientScope(needed)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        budgets = getattr(request, "rate_limit", None)
        if budgets is not None:  # the throttle ran: the caller is known (a key, or an IP without one)
            if request.auth is not None:
                budgets = [*budgets, *ratelimit_fields.concurrency_budgets(request.auth.organization)]
            for name, value in ratelimit_fields.header_fields(budgets).items():
                response[name] = value
        return response

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


# --- End users -------------------------------------------------------------------
# Billing extends these views with each end user's usage (accounts does not import billing).


class EndUserListView(TenantAPIView):
    required_scopes = {"GET": scopes.END_USERS_READ}
    serializer_class = EndUserSerializer

    def get_serializer_context(self) -> dict:
        return {}

    @extend_schema(
        tags=["End users"],
        summary="List end users",
        operation_id="end_users_list",
        description=(
            "The people you generate for, by your own `end_user_id` (created on first use; `:default` is the "
            "organization's default end user), newest first."
        ),
        parameters=[
            *PAGE_PARAMETERS,
        ],
        responses={200: paginated(EndUserSerializer), **authed_errors(400)},
    )
    def get(self, request):
        end_users = selectors.end_user_list(organization=self.organization)
        return paginate(self, end_users, self.serializer_class, context=self.get_serializer_context())


class EndUserDetailView(TenantAPIView):
    required_scopes = {"GET": scopes.END_USERS_READ, "PATCH": scopes.END_USERS}
    serializer_class = EndUserSerializer

    def get_serializer_context(self) -> dict:
        return {}

    def get_end_user(self, end_user_id: str):
        return selectors.end_user_get(organization=self.organization, external_id=end_user_id)

    def respond(self, end_user) -> Response:
        return Response(self.serializer_class(end_user, context=self.get_serializer_context()).data)

    @extend_schema(
        tags=["End users"],
        summary="Get an end user",
        description="Spend limit and blocked flag of one end user.",
        responses={200: EndUserSerializer, **authed_errors(404)},
    )
    def get(self, request, end_user_id):
        return self.respond(self.get_end_user(end_user_id))

    @extend_schema(
        tags=["End users"],
        summary="Set an end user's spend limit or block them",
        description=(
            "`monthly_spend_limit` (USD per calendar month, decimal string, null for none) and `blocked`. "
            "Creating a generation over the limit, or for a blocked end user, answers 402."
        ),
        request=EndUserUpdateSerializer,
        responses={200: EndUserSerializer, **authed_errors(400, 404, 415)},
        examples=[OpenApiExample("limit", value={"monthly_spend_limit": "25.00", "blocked": False}, request_only=True)],
    )
    def patch(self, request, end_user_id):
        end_user = self.get_end_user(end_user_id)
        data = EndUserUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        end_user = services.end_user_update(end_user=end_user, **data.validated_data)
        return self.respond(end_user)
