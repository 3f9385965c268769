"""Shapes of end users in the partner API (input checks only; services decide)."""

from __future__ import annotations

from rest_framework import serializers

from accounts.models import EndUser


class EndUserSerializer(serializers.ModelSerializer):
    end_user_id = serializers.CharField(source="external_id", help_text="Your own id for the person.")
    monthly_spend_limit = serializers.DecimalField(
        max_digits=12, decimal_places=4, allow_null=True, help_text="USD per calendar month; null means no limit."
    )

    class Meta:
        model = EndUser
        fields = ["end_user_id", "monthly_spend_limit", "blocked", "created_at"]
        read_only_fields = fields


class EndUserUpdateSerializer(serializers.Serializer):
    monthly_spend_limit = serializers.DecimalField(
        max_digits=12, decimal_places=4, min_value=0, allow_null=True, required=False
    )
    blocked = serializers.BooleanField(required=False)
