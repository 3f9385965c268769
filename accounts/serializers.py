"""Shapes of end users in the partner API (input checks only; services decide)."""

from __future__ import annotations

import re

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from accounts.models import EndUser
from seedance_saas.api_inputs import StrictJsonTypesMixin

# USD as a decimal string: up to 8 whole digits and 4 decimals, never negative (what EndUser.monthly_spend_limit holds).
USD_AMOUNT_PATTERN = r"^[0-9]{1,8}(\.[0-9]{1,4})?$"


@extend_schema_field({"type": "string", "format": "decimal", "pattern": USD_AMOUNT_PATTERN, "example": "25.00"})
class UsdAmountField(serializers.DecimalField):
    """A decimal string exactly as the OpenAPI states it: a JSON number or `-1` or `1e3` is refused, not coerced."""

    def __init__(self, **kwargs):
        super().__init__(max_digits=12, decimal_places=4, **kwargs)

    def to_internal_value(self, data):
        if not isinstance(data, str) or not re.fullmatch(USD_AMOUNT_PATTERN, data):
            raise serializers.ValidationError(
                'Send a decimal string of US dollars, e.g. "25.00": up to 8 digits, at most 4 decimals.'
            )
        return super().to_internal_value(data)


class EndUserSerializer(serializers.ModelSerializer):
    end_user_id = serializers.CharField(source="external_id", help_text="Your own id for the person.")
    monthly_spend_limit = serializers.DecimalField(
        max_digits=12, decimal_places=4, allow_null=True, help_text="USD per calendar month; null means no limit."
    )

    class Meta:
        model = EndUser
        fields = ["end_user_id", "monthly_spend_limit", "blocked", "created_at"]
        read_only_fields = fields


class EndUserUpdateSerializer(StrictJsonTypesMixin, serializers.Serializer):
    monthly_spend_limit = UsdAmountField(
        allow_null=True, required=False, help_text="USD per calendar month as a decimal string; null for no limit."
    )
    blocked = serializers.BooleanField(required=False)
