"""Partner API for prices, usage and end users' usage: thin views over billing's selectors."""

from __future__ import annotations

from datetime import timedelta

from django.conf import settings
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework.negotiation import BaseContentNegotiation
from rest_framework.parsers import JSONParser
from rest_framework.permissions import AllowAny
from rest_framework.response import Response

from accounts import scopes
from accounts.api import EndUserDetailView, EndUserListView, TenantAPIView
from accounts.serializers import EndUserUpdateSerializer
from billing import prices, selectors, services, usage_export
from billing.serializers import (
    MAX_USAGE_RANGE_DAYS,
    EndUserWithUsageSerializer,
    PricingSerializer,
    UsageExportQuerySerializer,
    UsageQuerySerializer,
    UsageSerializer,
)
from seedance_saas.api_docs import PAGE_PARAMETERS, authed_errors, error_responses, paginated

# 1080p is priced but only accepted when SEEDANCE_ENABLE_1080P is on.
GATED_RESOLUTIONS = {"1080p": "SEEDANCE_ENABLE_1080P"}


def _usage_context(organization) -> dict:
    """This month's billed usage per end user, in one query."""
    start = services.period_start()
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)
    summary = selectors.usage_summary(organization=organization, start=start, end=end, group_by="end_user")
    return {"period_start": start, "by_end_user": {group["key"]: group for group in summary.groups}}


END_USER_EXAMPLE = OpenApiExample(
    "end user",
    value={
        "end_user_id": "customer-42",
        "monthly_spend_limit": "25.0000",
        "blocked": False,
        "created_at": "2026-11-24T20:00:00Z",
        "usage_this_month": {"period_start": "2026-11-01", "seconds": 40, "cost": "12.0960", "count": 5},
    },
    response_only=True,
)


class EndUserWithUsageListView(EndUserListView):
    serializer_class = EndUserWithUsageSerializer

    def get_serializer_context(self) -> dict:
        return {"usage": _usage_context(self.organization)}

    @extend_schema(
        tags=["End users"],
        summary="List end users",
        operation_id="end_users_list",
        description=(
            "The people you generate for, by your own `end_user_id` (created on first use; `:default` is the "
            "organization's default end user), newest first, with this month's billed usage."
        ),
        parameters=[
            *PAGE_PARAMETERS,
        ],
        responses={200: paginated(EndUserWithUsageSerializer), **authed_errors(400)},
    )
    def get(self, request):
        return super().get(request)


class EndUserWithUsageDetailView(EndUserDetailView):
    serializer_class = EndUserWithUsageSerializer
    # JSON only: a form cannot say null (no limit), so a form body would mean something the schema does not state.
    parser_classes = [JSONParser]

    def get_serializer_context(self) -> dict:
        return {"usage": _usage_context(self.organization)}

    @extend_schema(
        tags=["End users"],
        summary="Get an end user",
        description="Spend limit, blocked flag and this month's billed usage of one end user.",
        responses={200: EndUserWithUsageSerializer, **authed_errors(404)},
        examples=[END_USER_EXAMPLE],
    )
    def get(self, request, end_user_id):
        return super().get(request, end_user_id)

    @extend_schema(
        tags=["End users"],
        summary="Set an end user's spend limit or block them",
        description=(
            "`monthly_spend_limit` (USD per calendar month, decimal string, null for none) and `blocked`. "
            "Creating a generation over the limit, or for a blocked end user, answers 402."
        ),
        request=EndUserUpdateSerializer,
        responses={200: EndUserWithUsageSerializer, **authed_errors(400, 404, 415)},
        examples=[
            OpenApiExample("limit", value={"monthly_spend_limit": "25.00", "blocked": False}, request_only=True),
            END_USER_EXAMPLE,
        ],
    )
    def patch(self, request, end_user_id):
        return super().patch(request, end_user_id)


class PricingView(TenantAPIView):
    public = True
    required_scopes = {"GET": scopes.PUBLIC}
    permission_classes = [AllowAny]

    @extend_schema(
        tags=["Billing"],
        summary="Prices per second of video",
        description=(
            "With an API key: your organization's price per second for each resolution. Without one: the public "
            "default. Money is a decimal string in USD."
        ),
        auth=[{"ApiKey": []}, {}],
        responses={200: PricingSerializer, **error_responses(401, 406, 429)},
        examples=[
            OpenApiExample(
                "prices",
                value={
                    "currency": "usd",
                    "prices": [
                        {"resolution": "480p", "price_per_second": "0.1412", "available": True},
                        {"resolution": "720p", "price_per_second": "0.3024", "available": True},
                        {"resolution": "1080p", "price_per_second": "0.6850", "available": False},
                    ],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        price_list = selectors.price_list(organization=self.organization)
        rows = [
            {
                "resolution": resolution,
                "price_per_second": price,
                "available": getattr(settings, GATED_RESOLUTIONS.get(resolution, ""), True),
            }
            for resolution, price in price_list.items()
        ]
        return Response(PricingSerializer({"currency": prices.CURRENCY, "prices": rows}).data)


class UsageView(TenantAPIView):
    required_scopes = {"GET": scopes.USAGE}

    @extend_schema(
        tags=["Billing"],
        summary="Usage and cost over a period",
        description=(
            "Billed seconds and cost between `from` and `to` (UTC days, both inclusive), grouped by "
            "`resolution`, `end_user` or `day`. `total_cost` equals the sum of the generations' `cost` "
            "(refunds net out)."
        ),
        parameters=[
            OpenApiParameter(
                "from", OpenApiTypes.DATE, description="YYYY-MM-DD, inclusive; default: first day of this month."
            ),
            OpenApiParameter(
                "to",
                OpenApiTypes.DATE,
                description=(
                    "YYYY-MM-DD, inclusive; default: today. Must be on or after `from`, and the period at most "
                    f"{MAX_USAGE_RANGE_DAYS} days (400 otherwise)."
                ),
            ),
            OpenApiParameter("group_by", str, enum=list(selectors.GROUP_BY), description="Default `resolution`."),
        ],
        responses={200: UsageSerializer, **authed_errors(400)},
        examples=[
            OpenApiExample(
                "by resolution",
                value={
                    "from": "2026-11-01",
                    "to": "2026-11-24",
                    "group_by": "resolution",
                    "currency": "usd",
                    "total_seconds": 50,
                    "total_cost": "13.5200",
                    "count": 6,
                    "groups": [
                        {"key": "480p", "seconds": 10, "cost": "1.4120", "count": 1},
                        {"key": "720p", "seconds": 40, "cost": "12.0960", "count": 5},
                    ],
                },
                response_only=True,
            )
        ],
    )
    def get(self, request):
        query = UsageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, end, group_by = (
            query.validated_data["start"],
            query.validated_data["end"],
            query.validated_data["group_by"],
        )
        summary = selectors.usage_summary(
            organization=self.organization, start=start, end=end + timedelta(days=1), group_by=group_by
        )
        body = {
            "from": start,
            "to": end,
            "group_by": group_by,
            "currency": summary.currency,
            "total_seconds": summary.seconds,
            "total_cost": summary.amount,
            "count": summary.count,
            "groups": [
                {
                    "key": "" if g["key"] is None else str(g["key"]),
                    "seconds": g["seconds"],
                    "cost": g["amount"],
                    "count": g["count"],
                }
                for g in summary.groups
            ],
        }
        return Response(UsageSerializer(body).data)


class _ErrorsAsJSON(BaseContentNegotiation):
    """The CSV answer ignores `Accept`; so do its errors, which are always our JSON error shape (never a 406)."""

    def select_parser(self, request, parsers):
        return parsers[0] if parsers else None

    def select_renderer(self, request, renderers, format_suffix=None):
        return renderers[0], renderers[0].media_type


CSV_EXAMPLE = (
    "time,generation_id,end_user_id,resolution,seconds,unit_price,cost,kind\r\n"
    "2026-11-03T09:12:44Z,8d2f6c1e-5b1a-4f0e-9c3d-2a7b9e4f1c55,customer-42,720p,5,0.3024,1.5120,usage\r\n"
    "2026-11-03T10:01:02Z,1c9e7a44-0d3b-4a8e-b2f1-6e5d4c3b2a19,'=cmd,480p,7,0.1412,0.9884,usage\r\n"
    "2026-11-20T16:30:00Z,8d2f6c1e-5b1a-4f0e-9c3d-2a7b9e4f1c55,customer-42,720p,-5,0.3024,-1.5120,refund\r\n"
)


class UsageExportView(TenantAPIView):
    content_negotiation_class = _ErrorsAsJSON
    required_scopes = {"GET": scopes.USAGE}

    @extend_schema(
        tags=["Billing"],
        summary="Usage as CSV",
        operation_id="usage_export_csv",
        description=(
            "Every ledger row between `from` and `to` (UTC days, both inclusive), oldest first, as CSV "
            "(RFC 4180, UTF-8, CRLF): `time` (ISO 8601 UTC), `generation_id`, `end_user_id`, `resolution`, "
            "`seconds`, `unit_price` and `cost` (USD, 4 decimals), `kind` (`usage`, or `refund`: a negative row "
            "naming the refunded generation, counted on the day it was issued). The `cost` column adds up to "
            "`total_cost` of `GET /usage/` for the same dates, exactly. Streamed: any size, constant memory. "
            "Text cells that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, tab or "
            "carriage return) are prefixed with `'`. Default range: this month so far; at most 400 days; "
            "`from` after `to` answers 400."
        ),
        parameters=[
            OpenApiParameter(
                "from", OpenApiTypes.DATE, description="YYYY-MM-DD (UTC), inclusive; default: first day of this month."
            ),
            OpenApiParameter("to", OpenApiTypes.DATE, description="YYYY-MM-DD (UTC), inclusive; default: today."),
        ],
        responses={
            (200, "text/csv"): OpenApiResponse(
                OpenApiTypes.STR,
                description="The CSV file (`Content-Disposition: attachment`).",
                examples=[OpenApiExample("csv", value=CSV_EXAMPLE, media_type="text/csv", response_only=True)],
            ),
            **authed_errors(400),
        },
    )
    def get(self, request):
        query = UsageExportQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        start, end = query.validated_data["start"], query.validated_data["end"]
        return usage_export.usage_csv_response(organization=self.organization, start=start, end=end)
