"""Partner API for share links: create (the URL is in this answer only), list, read, revoke."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import serializers, status
from rest_framework.parsers import JSONParser
from rest_framework.response import Response

from accounts import scopes
from accounts.api import TenantAPIView
from generations import sharing
from seedance_saas.api_docs import PAGE_PARAMETERS, authed_errors, paginate, paginated

TAG = ["Share links"]


class ShareLinkSerializer(serializers.Serializer):
    id = serializers.UUIDField()
    kind = serializers.CharField(help_text="What is shared: `generation` (more kinds may come).")
    generation_id = serializers.SerializerMethodField()
    hide_prompt = serializers.BooleanField()
    expires_at = serializers.DateTimeField(allow_null=True)
    revoked_at = serializers.DateTimeField(allow_null=True)
    active = serializers.SerializerMethodField()
    created_at = serializers.DateTimeField()

    def get_generation_id(self, link) -> str | None:
        return str(link.target_id) if link.kind == "generation" else None

    def get_active(self, link) -> bool:
        return link.is_active(timezone.now())


class ShareLinkCreatedSerializer(ShareLinkSerializer):
    url = serializers.URLField(help_text="The public link. Shown in this answer only: we keep only its SHA-256.")


class ShareLinkCreateSerializer(serializers.Serializer):
    generation_id = serializers.UUIDField()
    hide_prompt = serializers.BooleanField(default=False, help_text="Leave the prompt off the public page.")
    expires_at = serializers.DateTimeField(required=False, allow_null=True, help_text="ISO 8601; null: never.")


class ShareLinkFilterSerializer(serializers.Serializer):
    generation_id = serializers.UUIDField(required=False)


LINK_EXAMPLE = {
    "id": "5e1c8f0a-1b2c-4d3e-9f40-5a6b7c8d9e0f",
    "kind": "generation",
    "generation_id": "0b6f7e2a-3c4d-4e5f-8a9b-1c2d3e4f5a6b",
    "hide_prompt": True,
    "expires_at": "2026-12-01T20:00:00Z",
    "revoked_at": None,
    "active": True,
    "created_at": "2026-11-24T20:00:00Z",
}
CREATED_EXAMPLE = OpenApiExample(
    "created",
    value={**LINK_EXAMPLE, "url": "https://studio.example/s/q5Yk0c3rT2bq9vJXw1mZ4u8sLhNf6aPdGe7RiKoVtBc/"},
    response_only=True,
    status_codes=["201"],
)
LINK_OPENAPI_EXAMPLE = OpenApiExample("share link", value=LINK_EXAMPLE, response_only=True)


class ShareLinkListView(TenantAPIView):
    parser_classes = [JSONParser]
    required_scopes = {"GET": scopes.GENERATIONS_READ, "POST": scopes.GENERATIONS_WRITE}

    @extend_schema(
        tags=TAG,
        summary="List share links",
        operation_id="share_links_list",
        description="Your organization's share links, newest first, revoked and expired ones included.",
        parameters=[
            OpenApiParameter("generation_id", str, description="Only the links to this generation."),
            *PAGE_PARAMETERS,
        ],
        responses={200: paginated(ShareLinkSerializer), **authed_errors(400)},
    )
    def get(self, request):
        filters = ShareLinkFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        links = sharing.share_link_list(
            organization=self.organization, target_id=filters.validated_data.get("generation_id")
        )
        return paginate(self, links, ShareLinkSerializer)

    @extend_schema(
        tags=TAG,
        summary="Create a share link",
        description=(
            "A public link to a succeeded generation: a page with the player, the poster and Open Graph tags "
            "(`noindex`), showing nothing of your organization, its users or other videos; optionally without "
            "the prompt; optionally expiring. The token in `url` carries 256 random bits and is returned only "
            "here (we store its SHA-256), so this call takes no `Idempotency-Key`: a replay would have to keep "
            "the token. 404 for an unknown generation, 409 `not_shareable` when it has not succeeded."
        ),
        request=ShareLinkCreateSerializer,
        responses={201: ShareLinkCreatedSerializer, **authed_errors(400, 404, 409)},
        examples=[CREATED_EXAMPLE],
    )
    def post(self, request):
        data = ShareLinkCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        link, token = sharing.share_link_create(
            organization=self.organization,
            target_id=fields["generation_id"],
            hide_prompt=fields["hide_prompt"],
            expires_at=fields.get("expires_at"),
            api_key=self.api_key,
        )
        body = ShareLinkSerializer(link).data
        body["url"] = f"{settings.SITE_URL}{reverse('share_page', kwargs={'token': token})}"
        response = Response(body, status=status.HTTP_201_CREATED)
        response["Cache-Control"] = "no-store"
        return response


class ShareLinkDetailView(TenantAPIView):
    required_scopes = {"GET": scopes.GENERATIONS_READ}

    @extend_schema(
        tags=TAG,
        summary="Get a share link",
        description="The link's state (never its token or URL).",
        responses={200: ShareLinkSerializer, **authed_errors(404)},
        examples=[LINK_OPENAPI_EXAMPLE],
    )
    def get(self, request, share_link_id):
        link = sharing.share_link_get(organization=self.organization, share_link_id=share_link_id)
        return Response(ShareLinkSerializer(link).data)


class ShareLinkRevokeView(TenantAPIView):
    required_scopes = {"POST": scopes.GENERATIONS_WRITE}

    @extend_schema(
        tags=TAG,
        summary="Revoke a share link",
        description="The page and its media answer 404 from the next request on. Revoking again changes nothing.",
        request=None,
        responses={200: ShareLinkSerializer, **authed_errors(404)},
        examples=[LINK_OPENAPI_EXAMPLE],
    )
    def post(self, request, share_link_id):
        link = sharing.share_link_get(organization=self.organization, share_link_id=share_link_id)
        return Response(ShareLinkSerializer(sharing.share_link_revoke(share_link=link)).data)
