"""Shapes of prices, usage and end users' usage in the partner API."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import serializers

from accounts.serializers import EndUserSerializer
from billing.selectors import GROUP_BY
from seedance_saas.api_inputs import StrictQueryMixin

MAX_USAGE_RANGE_DAYS = 400


class EndUserUsageSerializer(serializers.Serializer):
    period_start = serializers.DateField(help_text="First day of the current calendar month (UTC).")
    seconds = serializers.IntegerField(help_text="Seconds of video billed this month.")
    cost = serializers.DecimalField(max_digits=14, decimal_places=4, help_text="USD billed this month.")
    count = serializers.IntegerField(help_text="Generations billed this month.")


class EndUserWithUsageSerializer(EndUserSerializer):
    usage_this_month = serializers.SerializerMethodField()

    class Meta(EndUserSerializer.Meta):
        fields = [*EndUserSerializer.Meta.fields, "usage_this_month"]
        read_only_fields = fields

    def get_usage_this_month(self, end_user) -> EndUserUsageSerializer:
        usage = self.context["usage"]
        row = usage["by_end_user"].get(end_user.external_id, {})
        return EndUserUsageSerializer(
            {
                "period_start": usage["period_start"],
                "seconds": row.get("seconds") or 0,
                "cost": row.get("amount") or 0,
                "count": row.get("count") or 0,
            }
        ).data


class PriceSerializer(serializers.Serializer):
    resolution = serializers.CharField()
    price_per_second = serializers.DecimalField(max_digits=10, decimal_places=4, help_text="USD per second of video.")
    available = serializers.BooleanField(help_text="Whether this resolution can be requested now.")


class PricingSerializer(serializers.Serializer):
    currency = serializers.CharField()
    prices = PriceSerializer(many=True)


class UsageQuerySerializer(StrictQueryMixin, serializers.Serializer):
    from_ = serializers.DateField(required=False, help_text="First day (UTC), inclusive; default: this month's first.")
    to = serializers.DateField(required=False, help_text="Last day (UTC), inclusive; default: today.")
    group_by = serializers.ChoiceField(choices=GROUP_BY, required=False, default="resolution")

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")  # `from` is a Python keyword
        return {"from": fields.pop("from"), **fields}

    def validate(self, attrs):
        today = timezone.now().date()
        start = attrs.get("from") or today.replace(day=1)
        end = attrs.get("to") or today
        if end < start:
            raise serializers.ValidationError({"to": ["Must be on or after `from`."]})
        if (end - start).days > MAX_USAGE_RANGE_DAYS:
            raise serializers.ValidationError({"to": [f"Ask for at most {MAX_USAGE_RANGE_DAYS} days at once."]})
        return {"start": start, "end": end, "group_by": attrs.get("group_by")}


class UsageExportQuerySerializer(UsageQuerySerializer):
    group_by = None  # the export has one row per ledger record, never groups


class UsageGroupSerializer(serializers.Serializer):
    key = serializers.CharField(help_text="The resolution, your end_user_id, or the day (YYYY-MM-DD).")
    seconds = serializers.IntegerField()
    cost = serializers.DecimalField(max_digits=14, decimal_places=4)
    count = serializers.IntegerField(help_text="Generations billed.")


class UsageSerializer(serializers.Serializer):
    from_ = serializers.DateField()
    to = serializers.DateField()
    group_by = serializers.ChoiceField(choices=GROUP_BY)
    currency = serializers.CharField()
    total_seconds = serializers.IntegerField()
    total_cost = serializers.DecimalField(max_digits=14, decimal_places=4)
    count = serializers.IntegerField()
    groups = UsageGroupSerializer(many=True)

    def get_fields(self):
        fields = super().get_fields()
        fields["from"] = fields.pop("from_")  # `from` is a Python keyword
        return {"from": fields.pop("from"), **fields}
