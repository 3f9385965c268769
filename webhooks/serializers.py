"""Shapes of webhook endpoints and deliveries in the partner API (input checks only; services decide)."""

from __future__ import annotations

import re

from django.conf import settings
from rest_framework import serializers

from seedance_saas.api_inputs import StrictJsonTypesMixin, StrictQueryMixin, https_url_field
from webhooks.models import EVENT_TYPES, DeliveryStatus, WebhookDelivery, WebhookEndpoint
from webhooks.rotation import DEFAULT_OVERLAP_HOURS, MAX_OVERLAP_HOURS


def _local_http(url: str) -> bool:
    """http://127.0.0.1 and localhost for development and tests (WEBHOOKS_ALLOW_HTTP_LOCALHOST); not in the schema."""
    return settings.WEBHOOKS_ALLOW_HTTP_LOCALHOST and re.match(r"^http://(127\.0\.0\.1|localhost)(:[0-9]+)?(/|$)", url)


class WebhookEndpointSerializer(serializers.ModelSerializer):
    class Meta:
        model = WebhookEndpoint
        fields = [
            "id",
            "url",
            "description",
            "event_types",
            "enabled",
            "disabled_at",
            "disabled_reason",
            "consecutive_failures",
            "secret_rotated_at",
            "previous_secret_expires_at",
            "created_at",
            "updated_at",
        ]
        read_only_fields = fields

    event_types = serializers.ListField(child=serializers.ChoiceField(choices=EVENT_TYPES))
    secret_rotated_at = serializers.DateTimeField(
        allow_null=True, help_text="When the secret was last rotated; null if never."
    )
    previous_secret_expires_at = serializers.DateTimeField(
        source="previous_secret_signs_until",
        allow_null=True,
        help_text="Until when the secret before the last rotation also signs deliveries; null when it does not.",
    )


class WebhookEndpointWithSecretSerializer(WebhookEndpointSerializer):
    class Meta(WebhookEndpointSerializer.Meta):
        fields = [*WebhookEndpointSerializer.Meta.fields, "secret"]
        read_only_fields = fields

    secret = serializers.CharField(help_text="whsec_<base64>: verify the webhook-signature header with it.")


class WebhookEndpointCreateSerializer(StrictJsonTypesMixin, serializers.Serializer):
    url = https_url_field(
        max_length=500, also_valid=_local_http, help_text="https:// URL of your receiver, on a public host."
    )
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES),
        required=False,
        allow_empty=False,
        help_text="Defaults to every event type.",
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True, default="")


class WebhookEndpointUpdateSerializer(StrictJsonTypesMixin, serializers.Serializer):
    url = https_url_field(max_length=500, required=False, also_valid=_local_http)
    event_types = serializers.ListField(
        child=serializers.ChoiceField(choices=EVENT_TYPES), required=False, allow_empty=False
    )
    description = serializers.CharField(max_length=200, required=False, allow_blank=True)
    enabled = serializers.BooleanField(required=False, help_text="true re-enables a disabled endpoint.")


class WebhookEndpointRotateSerializer(serializers.Serializer):
    overlap_hours = serializers.IntegerField(
        min_value=0,
        max_value=MAX_OVERLAP_HOURS,
        default=DEFAULT_OVERLAP_HOURS,
        help_text=(
            "Hours the old secret keeps signing beside the new one (two `v1,` signatures in `webhook-signature`); "
            "0 revokes it at once."
        ),
    )


class AttemptSerializer(serializers.Serializer):
    at = serializers.DateTimeField()
    status_code = serializers.IntegerField(allow_null=True)
    latency_ms = serializers.IntegerField()
    response_excerpt = serializers.CharField(allow_blank=True)
    error = serializers.CharField(allow_blank=True)


class WebhookDeliverySerializer(serializers.ModelSerializer):
    endpoint_id = serializers.UUIDField(read_only=True)
    replay_of = serializers.UUIDField(source="replay_of_id", read_only=True, allow_null=True)
    attempt_log = AttemptSerializer(many=True, read_only=True)
    payload = serializers.JSONField(read_only=True, help_text="The exact JSON body sent.")

    class Meta:
        model = WebhookDelivery
        fields = [
            "id",
            "endpoint_id",
            "event_id",
            "event_type",
            "status",
            "attempts",
            "next_attempt_at",
            "last_attempt_at",
            "last_status_code",
            "last_latency_ms",
            "last_response_excerpt",
            "last_error",
            "delivered_at",
            "created_at",
            "replay_of",
            "payload",
            "attempt_log",
        ]
        read_only_fields = fields


class WebhookDeliveryFilterSerializer(StrictQueryMixin, serializers.Serializer):
    endpoint_id = serializers.UUIDField(required=False)
    status = serializers.ChoiceField(choices=DeliveryStatus.values, required=False)
    event_type = serializers.ChoiceField(choices=EVENT_TYPES, required=False)
