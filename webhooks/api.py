"""Partner API for webhook endpoints and deliveries: thin views over selectors and services."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from accounts import scopes
from accounts.api import TenantAPIView
from seedance_saas.api_docs import IDEMPOTENCY_KEY_PARAMETER, PAGE_PARAMETERS, authed_errors, paginate, paginated
from seedance_saas.idempotency import idempotent
from webhooks import selectors, services
from webhooks.models import EVENT_TYPES
from webhooks.serializers import (
    WebhookDeliveryFilterSerializer,
    WebhookDeliverySerializer,
    WebhookEndpointCreateSerializer,
    WebhookEndpointRotateSerializer,
    WebhookEndpointSerializer,
    WebhookEndpointUpdateSerializer,
    WebhookEndpointWithSecretSerializer,
)

TAG = ["Webhooks"]
ENDPOINT_EXAMPLE = OpenApiExample(
    "endpoint",
    value={
        "id": "5b0c1f4e-8d7a-4c1e-9a55-2f5d2c8e9b10",
        "url": "https://partner.example/hooks/seedance",
        "description": "production receiver",
        "event_types": ["generation.failed", "generation.succeeded"],
        "enabled": True,
        "disabled_at": None,
        "disabled_reason": "",
        "consecutive_failures": 0,
        "secret_rotated_at": None,
        "previous_secret_expires_at": None,
        "created_at": "2026-11-24T20:00:00Z",
        "updated_at": "2026-11-24T20:00:00Z",
        "secret": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    },
    response_only=True,
)


class WebhookEndpointListView(TenantAPIView):
    required_scopes = {"GET": scopes.WEBHOOKS_READ, "POST": scopes.WEBHOOKS}

    @extend_schema(
        tags=TAG,
        summary="List webhook endpoints",
        operation_id="webhook_endpoints_list",
        description="Your organization's endpoints, newest first (secrets are shown on the detail endpoint).",
        responses={200: paginated(WebhookEndpointSerializer), **authed_errors(400)},
    )
    def get(self, request):
        endpoints = selectors.webhook_endpoint_list(organization=self.organization)
        return paginate(self, endpoints, WebhookEndpointSerializer)

    @extend_schema(
        tags=TAG,
        summary="Register a webhook endpoint",
        description=(
            "Registers an HTTPS URL that receives `generation.succeeded`, `generation.failed` and "
            "`generation.canceled` events, signed per Standard Webhooks with the returned `secret` (`whsec_...`)."
        ),
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=WebhookEndpointCreateSerializer,
        responses={201: WebhookEndpointWithSecretSerializer, **authed_errors(400, 409, 415)},
        examples=[
            OpenApiExample(
                "create",
                value={"url": "https://partner.example/hooks/seedance", "event_types": ["generation.succeeded"]},
                request_only=True,
            ),
            ENDPOINT_EXAMPLE,
        ],
    )
    @idempotent
    def post(self, request):
        data = WebhookEndpointCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_create(organization=self.organization, **data.validated_data)
        return Response(WebhookEndpointWithSecretSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class WebhookEndpointDetailView(TenantAPIView):
    # The detail shows the signing secret: a credential, so only the full `webhooks` scope reads it.
    required_scopes = {"GET": scopes.WEBHOOKS, "PATCH": scopes.WEBHOOKS, "DELETE": scopes.WEBHOOKS}

    def get_endpoint(self, endpoint_id):
        return selectors.webhook_endpoint_get(organization=self.organization, endpoint_id=endpoint_id)

    @extend_schema(
        tags=TAG,
        summary="Get a webhook endpoint",
        description="The endpoint with its signing secret.",
        responses={200: WebhookEndpointWithSecretSerializer, **authed_errors(404)},
        examples=[ENDPOINT_EXAMPLE],
    )
    def get(self, request, endpoint_id):
        return Response(WebhookEndpointWithSecretSerializer(self.get_endpoint(endpoint_id)).data)

    @extend_schema(
        tags=TAG,
        summary="Update a webhook endpoint",
        description="Change the URL, event types or description; `enabled: true` re-enables a disabled endpoint.",
        request=WebhookEndpointUpdateSerializer,
        responses={200: WebhookEndpointWithSecretSerializer, **authed_errors(400, 404, 415)},
        examples=[OpenApiExample("re-enable", value={"enabled": True}, request_only=True), ENDPOINT_EXAMPLE],
    )
    def patch(self, request, endpoint_id):
        endpoint = self.get_endpoint(endpoint_id)
        data = WebhookEndpointUpdateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_update(endpoint=endpoint, **data.validated_data)
        return Response(WebhookEndpointWithSecretSerializer(endpoint).data)

    @extend_schema(
        tags=TAG,
        summary="Delete a webhook endpoint",
        description="Deletes the endpoint and its delivery history.",
        responses={204: None, **authed_errors(404)},
    )
    def delete(self, request, endpoint_id):
        services.webhook_endpoint_delete(endpoint=self.get_endpoint(endpoint_id))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookEndpointRotateSecretView(TenantAPIView):
    required_scopes = {"POST": scopes.WEBHOOKS}

    @extend_schema(
        tags=TAG,
        summary="Rotate the signing secret",
        description=(
            "Makes a new secret and returns it. For `overlap_hours` (default 24, 0-168) every delivery is signed "
            "with both the new and the old secret: `webhook-signature` carries two space-separated `v1,<sig>` "
            "values, so a receiver still holding the old secret keeps verifying while you deploy the new one; "
            "then the old secret is dropped. `overlap_hours: 0` revokes the old secret at once. Rotating again "
            "during an overlap drops the oldest secret at once (at most two ever sign). Retries of earlier "
            "deliveries are signed with the secrets live when they are sent."
        ),
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request=WebhookEndpointRotateSerializer,
        responses={200: WebhookEndpointWithSecretSerializer, **authed_errors(400, 404, 409, 415)},
        examples=[
            OpenApiExample("rotate with a day of overlap", value={"overlap_hours": 24}, request_only=True),
            OpenApiExample("revoke the old secret now", value={"overlap_hours": 0}, request_only=True),
            OpenApiExample(
                "rotated",
                value={
                    **ENDPOINT_EXAMPLE.value,
                    "secret": "whsec_3q2+7w8Q1bJp0Zz8m1kYv5nE6cX9aR4tU2oL7iH0sD8=",
                    "secret_rotated_at": "2026-12-02T18:00:00Z",
                    "previous_secret_expires_at": "2026-12-03T18:00:00Z",
                },
                response_only=True,
            ),
        ],
    )
    @idempotent
    def post(self, request, endpoint_id):
        endpoint = selectors.webhook_endpoint_get(organization=self.organization, endpoint_id=endpoint_id)
        data = WebhookEndpointRotateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        endpoint = services.webhook_endpoint_rotate_secret(
            endpoint=endpoint, overlap_hours=data.validated_data["overlap_hours"]
        )
        return Response(WebhookEndpointWithSecretSerializer(endpoint).data)


DELIVERY_EXAMPLE = OpenApiExample(
    "delivery",
    value={
        "id": "9f1d3a8e-1b5c-4d4a-8a77-0c2b7e5f6a11",
        "endpoint_id": "5b0c1f4e-8d7a-4c1e-9a55-2f5d2c8e9b10",
        "event_id": "msg_2b7Jt0mQ8xR3kP1vYzA4cD5e",
        "event_type": "generation.succeeded",
        "status": "succeeded",
        "attempts": 1,
        "next_attempt_at": None,
        "last_attempt_at": "2026-11-24T20:03:41Z",
        "last_status_code": 200,
        "last_latency_ms": 84,
        "last_response_excerpt": "ok",
        "last_error": "",
        "delivered_at": "2026-11-24T20:03:41Z",
        "created_at": "2026-11-24T20:03:41Z",
        "replay_of": None,
        "payload": {
            "id": "msg_2b7Jt0mQ8xR3kP1vYzA4cD5e",
            "type": "generation.succeeded",
            "timestamp": "2026-11-24T20:03:41Z",
            "data": {"id": "8d2f...", "status": "succeeded"},
        },
        "attempt_log": [
            {
                "at": "2026-11-24T20:03:41Z",
                "status_code": 200,
                "latency_ms": 84,
                "response_excerpt": "ok",
                "error": "",
            }
        ],
    },
    response_only=True,
)


class WebhookDeliveryListView(TenantAPIView):
    required_scopes = {"GET": scopes.WEBHOOKS_READ}

    @extend_schema(
        tags=TAG,
        summary="List webhook deliveries",
        operation_id="webhook_deliveries_list",
        description="Every delivery with its attempts (status code, latency, response excerpt), newest first.",
        parameters=[
            OpenApiParameter("endpoint_id", OpenApiTypes.UUID, description="Only this endpoint's deliveries."),
            OpenApiParameter("status", str, enum=["pending", "succeeded", "failed"]),
            OpenApiParameter("event_type", str, enum=list(EVENT_TYPES)),
            *PAGE_PARAMETERS,
        ],
        responses={200: paginated(WebhookDeliverySerializer), **authed_errors(400)},
    )
    def get(self, request):
        filters = WebhookDeliveryFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        deliveries = selectors.webhook_delivery_list(organization=self.organization, **filters.validated_data)
        return paginate(self, deliveries, WebhookDeliverySerializer)


class WebhookDeliveryDetailView(TenantAPIView):
    required_scopes = {"GET": scopes.WEBHOOKS_READ}

    @extend_schema(
        tags=TAG,
        summary="Get a webhook delivery",
        responses={200: WebhookDeliverySerializer, **authed_errors(404)},
        examples=[DELIVERY_EXAMPLE],
    )
    def get(self, request, delivery_id):
        delivery = selectors.webhook_delivery_get(organization=self.organization, delivery_id=delivery_id)
        return Response(WebhookDeliverySerializer(delivery).data)


class WebhookDeliveryReplayView(TenantAPIView):
    required_scopes = {"POST": scopes.WEBHOOKS}

    @extend_schema(
        tags=TAG,
        summary="Replay a webhook delivery",
        description=(
            "Sends the same event again (same `webhook-id` and body, a fresh signature) as a new delivery, "
            "in the background. 409 `endpoint_disabled` when the endpoint is disabled."
        ),
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={202: WebhookDeliverySerializer, **authed_errors(400, 404, 409)},
        examples=[DELIVERY_EXAMPLE],
    )
    @idempotent
    def post(self, request, delivery_id):
        delivery = selectors.webhook_delivery_get(organization=self.organization, delivery_id=delivery_id)
        replay = services.delivery_replay(delivery=delivery)
        return Response(WebhookDeliverySerializer(replay).data, status=status.HTTP_202_ACCEPTED)
