"""Partner API for end users' privacy: erase one (`DELETE /end-users/{id}/`) and export what we hold about them."""

from __future__ import annotations

from django.conf import settings
from django.http import FileResponse
from drf_spectacular.utils import OpenApiExample, OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers
from rest_framework.response import Response

from accounts import scopes
from accounts import selectors as accounts_selectors
from accounts.api import TenantAPIView
from accounts.serializers import EndUserUpdateSerializer
from billing.api import END_USER_EXAMPLE, EndUserWithUsageDetailView
from billing.serializers import EndUserWithUsageSerializer
from generations import privacy, privacy_export
from generations.models import ExportStatus
from seedance_saas.api_docs import ErrorSerializer, authed_errors


def _iso(value) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


ErasureSerializer = inline_serializer(
    "EndUserErasure",
    {
        "object": serializers.CharField(default="end_user_erasure"),
        "erased_at": serializers.DateTimeField(),
        "generations_erased": serializers.IntegerField(help_text="Generations whose inputs and outputs were erased."),
        "files_pending": serializers.IntegerField(
            help_text="Stored files not yet deleted; deleted within a minute or two, retried until gone."
        ),
        "refused_until": serializers.DateTimeField(
            help_text="Until then, a new generation for the same `end_user_id` answers 409 `end_user_erased`."
        ),
    },
)
ExportBuildingSerializer = inline_serializer(
    "EndUserExportBuilding",
    {
        "object": serializers.CharField(default="end_user_export"),
        "status": serializers.ChoiceField(choices=["building"]),
        "export_id": serializers.UUIDField(),
        "created_at": serializers.DateTimeField(),
        "retry_after_s": serializers.IntegerField(),
    },
)
ExportSerializer = inline_serializer(
    "EndUserExport",
    {
        "object": serializers.CharField(default="end_user_export"),
        "exported_at": serializers.DateTimeField(),
        "end_user": serializers.JSONField(help_text="end_user_id, monthly_spend_limit, blocked, created_at."),
        "generations_count": serializers.IntegerField(),
        "generations": serializers.ListField(
            child=serializers.JSONField(),
            help_text="Each generation as `GET /generations/{id}/` shows it, plus `provider_output_url`.",
        ),
        "usage": serializers.ListField(
            child=serializers.JSONField(),
            help_text="Ledger rows: id, kind (`usage` or `refund`), generation_id, resolution, seconds, "
            "unit_price, amount, currency, reason, completed_at.",
        ),
    },
)

ERASED_EXAMPLE = {
    "error": {
        "code": "end_user_erased",
        "message": "This end user was erased on 2026-12-02; their id cannot be used again until 2027-01-01.",
    }
}


def _conflict(*codes_and_messages: tuple[str, str]) -> OpenApiResponse:
    return OpenApiResponse(
        ErrorSerializer,
        description="Conflicts with the end user's state.",
        examples=[
            OpenApiExample(code, value={"error": {"code": code, "message": message}}, status_codes=["409"])
            for code, message in codes_and_messages
        ],
    )


class EndUserPrivacyDetailView(EndUserWithUsageDetailView):
    """Billing's end-user detail (GET, PATCH) plus the erasure, which needs generations."""

    required_scopes = {**EndUserWithUsageDetailView.required_scopes, "DELETE": scopes.END_USERS}

    @extend_schema(
        tags=["End users"],
        summary="Set an end user's spend limit or block them",
        description=(
            "`monthly_spend_limit` (USD per calendar month, decimal string, null for none) and `blocked`. "
            "Creating a generation over the limit, or for a blocked end user, answers 402. An erased end user "
            "(named by its anonymous id) cannot be changed: 409 `end_user_erased`."
        ),
        request=EndUserUpdateSerializer,
        responses={
            200: EndUserWithUsageSerializer,
            409: _conflict(("end_user_erased", "This end user was erased; it cannot be changed.")),
            **authed_errors(400, 404, 415),
        },
        examples=[
            OpenApiExample("limit", value={"monthly_spend_limit": "25.00", "blocked": False}, request_only=True),
            END_USER_EXAMPLE,
        ],
    )
    def patch(self, request, end_user_id):
        return super().patch(request, end_user_id)

    @extend_schema(
        tags=["End users"],
        summary="Erase an end user (right to erasure)",
        operation_id="end_users_erase",
        description=(
            "Erases what we hold about this end user: every generation's prompt, frames (uploaded copies and "
            "your URLs), videos, provider URLs and error messages, in the database and in media storage; their "
            'partner webhook deliveries keep only `{"id", "erased": true}` as `data` (pending ones stop); '
            "stored `Idempotency-Key` answers that name them are dropped. Their queued generations are canceled "
            "first (nothing charged). Kept: the money (usage and refunds, spend holds), under an anonymous id, "
            "so invoices and `GET /usage/` still add up. Stored files are deleted within a minute or two after "
            "the answer (`files_pending` counts them). Until `refused_until` (30 days by default), a new "
            "generation for the same `end_user_id` answers 409 `end_user_erased`; the erased end user answers "
            "404 from then on. While one of their generations is at the provider (`submitting` or "
            "`processing`, typically under 5 minutes), this answers 409 `end_user_busy`: retry later."
        ),
        responses={
            200: ErasureSerializer,
            409: _conflict(("end_user_busy", privacy.EndUserBusy.default_message)),
            **authed_errors(404),
        },
        examples=[
            OpenApiExample(
                "erased",
                value={
                    "object": "end_user_erasure",
                    "erased_at": "2026-12-02T18:40:00Z",
                    "generations_erased": 12,
                    "files_pending": 20,
                    "refused_until": "2027-01-01T18:40:00Z",
                },
                response_only=True,
            )
        ],
    )
    def delete(self, request, end_user_id):
        end_user = self.get_end_user(end_user_id)
        erasure = privacy.end_user_erase(end_user=end_user, api_key=self.api_key)
        return Response(
            {
                "object": "end_user_erasure",
                "erased_at": _iso(erasure.end_user.erased_at),
                "generations_erased": erasure.generations_erased,
                "files_pending": len(erasure.files_pending),
                "refused_until": _iso(erasure.refused_until),
            }
        )


class EndUserExportView(TenantAPIView):
    required_scopes = {"GET": scopes.END_USERS}

    @extend_schema(
        tags=["End users"],
        summary="Export everything held about an end user (right of access)",
        operation_id="end_users_export",
        description=(
            "One JSON document: the end user, each of their generations (inputs: prompt, settings, frames' URLs "
            "-- fresh signed links to our stored copies, or your own URL; outputs' URLs; status, error, cost) and "
            "their ledger rows (usage and refunds). Up to `END_USER_EXPORT_INLINE_MAX` generations (200 by "
            "default) it answers 200 at once. A larger one is built in the background: 202 with `Retry-After` "
            "and `status: building` until it is ready, then 200 with the document (the same GET; an export "
            "asked for in the last hour by the same key is reused; its file is deleted after 24 h). Signed links "
            "in it work while your key is not revoked."
        ),
        parameters=[
            OpenApiParameter(
                "Retry-After",
                int,
                location=OpenApiParameter.HEADER,
                response=[202],
                description="Seconds to wait before asking again (on 202).",
            )
        ],
        responses={
            200: ExportSerializer,
            202: OpenApiResponse(
                ExportBuildingSerializer,
                description="Being built; call again after `Retry-After` seconds.",
                examples=[
                    OpenApiExample(
                        "building",
                        value={
                            "object": "end_user_export",
                            "status": "building",
                            "export_id": "5b0c9d8e-2f4a-4c1b-9e7d-3a6f8b2c1d0e",
                            "created_at": "2026-12-02T18:40:00Z",
                            "retry_after_s": 5,
                        },
                        status_codes=["202"],
                        response_only=True,
                    )
                ],
            ),
            **authed_errors(404),
        },
        examples=[
            OpenApiExample(
                "export",
                value={
                    "object": "end_user_export",
                    "exported_at": "2026-12-02T18:40:00Z",
                    "end_user": {
                        "end_user_id": "customer-42",
                        "monthly_spend_limit": None,
                        "blocked": False,
                        "created_at": "2026-11-24T20:00:00Z",
                    },
                    "generations_count": 1,
                    "generations": [
                        {
                            "id": "8d2f6c1e-5b1a-4f0e-9c3d-2a7b9e4f1c55",
                            "status": "succeeded",
                            "prompt": "The camera pans slowly over a misty lake at dawn",
                            "image_url": "https://api.example.com/media/generations/frames/7/ab12.png?g=...",
                            "video_url": "https://api.example.com/media/generations/videos/8d2f.mp4?g=...",
                            "cost": "1.5120",
                            "provider_output_url": None,
                        }
                    ],
                    "usage": [
                        {
                            "id": "0b7e3c4d-9a1f-4e2b-8c6d-5f4a3b2c1d0e",
                            "kind": "usage",
                            "generation_id": "8d2f6c1e-5b1a-4f0e-9c3d-2a7b9e4f1c55",
                            "resolution": "720p",
                            "seconds": 5,
                            "unit_price": "0.3024",
                            "amount": "1.5120",
                            "currency": "usd",
                            "reason": "",
                            "completed_at": "2026-12-01T10:00:00Z",
                        }
                    ],
                },
                response_only=True,
                status_codes=["200"],
            )
        ],
    )
    def get(self, request, end_user_id):
        end_user = accounts_selectors.end_user_get(organization=self.organization, external_id=end_user_id)
        if privacy_export.generation_count(end_user=end_user) <= settings.END_USER_EXPORT_INLINE_MAX:
            return Response(privacy_export.end_user_export_inline(end_user=end_user, api_key=self.api_key))
        export = privacy_export.end_user_export_request(end_user=end_user, api_key=self.api_key)
        if export.status == ExportStatus.READY:
            stored = privacy_export.end_user_export_open(export=export)
            if stored is None:  # its file is gone (storage lost it): a new build was started
                export = privacy_export.end_user_export_request(end_user=end_user, api_key=self.api_key)
            else:
                response = FileResponse(stored, content_type="application/json")
                response["Cache-Control"] = "no-store"
                return response
        body = {
            "object": "end_user_export",
            "status": "building",
            "export_id": str(export.pk),
            "created_at": _iso(export.created_at),
            "retry_after_s": privacy_export.RETRY_AFTER_S,
        }
        return Response(body, status=202, headers={"Retry-After": str(privacy_export.RETRY_AFTER_S)})
