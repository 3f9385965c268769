"""Partner API for generations: create (JSON or multipart), list, read, cancel, retry; thin over services."""

from __future__ import annotations

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    OpenApiRequest,
    PolymorphicProxySerializer,
    extend_schema,
)
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.response import Response

from accounts import scopes
from accounts import services as accounts_services
from accounts.api import TenantAPIView
from generations import catalog, continuation, queue_estimates, selectors, services, variations
from generations.media_links import api_link
from generations.representation import PAYLOAD_FIELDS, generation_payload
from generations.serializers import (
    GenerationContinueJsonSerializer,
    GenerationCreateJsonSerializer,
    GenerationCreateSerializer,
    GenerationFilterSerializer,
    GenerationSerializer,
)
from generations.variation_api import GROUP_EXAMPLE, VariationGroupSerializer, group_payload
from seedance_saas.api_docs import (
    IDEMPOTENCY_KEY_PARAMETER,
    PAGE_PARAMETERS,
    ApiCursorPagination,
    authed_errors,
    paginated,
)
from seedance_saas.errors import InvalidInput
from seedance_saas.idempotency import idempotent
from seedance_saas.uploads import LimitedMultiPartParser

TAG = ["Generations"]
GENERATION_EXAMPLE = OpenApiExample(
    "generation",
    value={
        "id": "0b6f7e2a-3c4d-4e5f-8a9b-1c2d3e4f5a6b",
        "status": "succeeded",
        "prompt": "The camera slowly pushes in as she turns and smiles",
        "image_url": "https://partner.example/frames/first.jpg",
        "end_image_url": None,
        "resolution": "720p",
        "duration": "5",
        "aspect_ratio": "16:9",
        "generate_audio": True,
        "seed": None,
        "end_user_id": "customer-42",
        "estimated_cost": "1.5120",
        "cost": "1.5120",
        "currency": "usd",
        "video_url": (
            "https://studio.example/media/generations/videos/0b6f7e2a.mp4?o=7&g=api_key%3A3&e=1795982621&s=Qm9Lx2"
        ),
        "poster_url": (
            "https://studio.example/media/generations/posters/7/0b6f7e2a.webp?o=7&g=api_key%3A3&e=1795982621&s=Zx81Qa"
        ),
        "duration_seconds": 5.0,
        "error": None,
        "retry_of": None,
        "variation_group": None,
        "continues": None,
        "created_at": "2026-11-24T20:00:00Z",
        "completed_at": "2026-11-24T20:03:41Z",
        "queue_position": None,
        "estimated_start_at": None,
        "estimated_finish_at": None,
        "media_expires_at": "2026-11-24T21:03:41Z",
    },
    response_only=True,
)
CREATE_EXAMPLE = OpenApiExample(
    "from an image URL",
    value={
        "prompt": "The camera slowly pushes in as she turns and smiles",
        "image_url": "https://partner.example/frames/first.jpg",
        "resolution": "720p",
        "duration": "5",
        "aspect_ratio": "16:9",
        "generate_audio": True,
        "end_user_id": "customer-42",
    },
    request_only=True,
)
CONTINUE_EXAMPLE = OpenApiExample(
    "continue a succeeded clip",
    value={
        "continue_from": "0b6f7e2a-3c4d-4e5f-8a9b-1c2d3e4f5a6b",
        "prompt": "She walks out of the frame to the left",
        "duration": "6",
        "end_user_id": "customer-42",
    },
    request_only=True,
)


VARIATIONS_CREATE_EXAMPLE = OpenApiExample(
    "three variations",
    value={
        "prompt": "The camera slowly pushes in as she turns and smiles",
        "image_url": "https://partner.example/frames/first.jpg",
        "resolution": "720p",
        "duration": "5",
        "seed": "42",
        "variations": 3,
    },
    request_only=True,
)


def _payload(request, generation, *, estimate=None) -> dict:
    """The generation with fresh media links issued to the calling key (they die with it), and its queue estimate."""
    estimate = estimate or queue_estimates.generation_estimate(generation=generation)
    return generation_payload(
        generation, link_for=lambda name: api_link(name=name, api_key=request.auth), estimate=estimate
    )


def _resolve_end_user(organization, end_user_id: str | None):
    if end_user_id in (None, ""):
        return accounts_services.end_user_default(organization=organization)
    return accounts_services.end_user_for_partner(organization=organization, external_id=end_user_id)


class GenerationListView(TenantAPIView):
    required_scopes = {"GET": scopes.GENERATIONS_READ, "POST": scopes.GENERATIONS_WRITE}
    parser_classes = [JSONParser, LimitedMultiPartParser, FormParser]

    @extend_schema(
        tags=TAG,
        summary="List generations",
        operation_id="generations_list",
        description="Your organization's generations, newest first, cursor-paginated (follow `next`).",
        parameters=[
            OpenApiParameter("status", str, enum=list(GenerationFilterSerializer().fields["status"].choices)),
            OpenApiParameter(
                "end_user_id",
                {"type": "string", "minLength": 1, "maxLength": 160},
                description="Only this end user's generations.",
            ),
            OpenApiParameter("created_after", OpenApiTypes.DATETIME, description="RFC 3339 date-time, inclusive."),
            OpenApiParameter("created_before", OpenApiTypes.DATETIME, description="RFC 3339 date-time, exclusive."),
            *PAGE_PARAMETERS,
        ],
        responses={200: paginated(GenerationSerializer), **authed_errors(400)},
    )
    def get(self, request):
        filters = GenerationFilterSerializer(data=request.query_params)
        filters.is_valid(raise_exception=True)
        generations = selectors.generation_list(
            organization=self.organization, only=PAYLOAD_FIELDS, **filters.validated_data
        )
        paginator = ApiCursorPagination()
        page = paginator.paginate_queryset(generations, request, view=self)
        estimates = queue_estimates.generation_estimates(generations=page)
        return paginator.get_paginated_response([_payload(request, g, estimate=estimates[g.pk]) for g in page])

    @extend_schema(
        tags=TAG,
        summary="Create a generation",
        description=(
            "Queues an image-to-video job and answers 201 with it (`status: queued`); poll "
            "`GET /generations/{id}/` or register a webhook. Send JSON with `image_url` (and optionally "
            "`end_image_url`), or `multipart/form-data` with `image` (and optionally `end_image`) files; or "
            "`continue_from` a succeeded generation of yours, whose last frame becomes the first frame. "
            "The price is held up front (`estimated_cost`); `cost` is set when it succeeds; failures cost "
            "nothing. 402 when the spend limit, the end user's limit or billing standing does not allow it. "
            "With `variations` (1-4) it makes that many generations with different seeds and answers 201 with a "
            "group object (`variation_group`, `count`, `estimated_cost` for all, `generations`); they are "
            "authorized together, all or none. An `Idempotency-Key` replays the whole answer, group included."
        ),
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request={
            "application/json": PolymorphicProxySerializer(
                component_name="GenerationCreateJsonBody",
                serializers=[GenerationCreateJsonSerializer, GenerationContinueJsonSerializer],
                resource_type_field_name=None,
            ),
            "multipart/form-data": OpenApiRequest(GenerationCreateSerializer),
        },
        responses={
            201: PolymorphicProxySerializer(
                component_name="GenerationOrVariationGroup",
                serializers=[GenerationSerializer, VariationGroupSerializer],
                resource_type_field_name=None,
            ),
            **authed_errors(400, 402, 404, 409, 413, 415),
        },
        examples=[CREATE_EXAMPLE, VARIATIONS_CREATE_EXAMPLE, CONTINUE_EXAMPLE, GENERATION_EXAMPLE, GROUP_EXAMPLE],
    )
    @idempotent
    def post(self, request):
        json_body = isinstance(request.data, dict) and not hasattr(request.data, "getlist")
        if not json_body:
            serializer = GenerationCreateSerializer
        elif "continue_from" in request.data:
            serializer = GenerationContinueJsonSerializer
        else:
            serializer = GenerationCreateJsonSerializer
        data = serializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        errors: dict = {}
        end_user_id = fields.get("end_user_id") or None
        if end_user_id and not accounts_services.PARTNER_EXTERNAL_ID_RE.match(end_user_id):
            errors["end_user_id"] = ["Use 1-128 characters: letters, digits, _ . @ + - (no spaces or colons)."]
        if fields.get("continue_from"):
            if fields.get("variations") is not None:
                errors["variations"] = [
                    "Variations cannot be combined with continue_from; continue one clip at a time."
                ]
                raise InvalidInput(
                    "Some fields are not valid: variations cannot be combined with continue_from.", fields=errors
                )
            return self._continue(request, fields, errors)
        try:
            inputs = catalog.validate_inputs(
                prompt=fields.get("prompt"),
                resolution=fields.get("resolution"),
                duration=fields.get("duration"),
                aspect_ratio=fields.get("aspect_ratio"),
                generate_audio=fields.get("generate_audio"),
                seed=fields.get("seed"),
                image_url=fields.get("image_url"),
                end_image_url=fields.get("end_image_url"),
                image=fields.get("image"),
                end_image=fields.get("end_image"),
            )
        except InvalidInput as error:
            errors = {**(error.fields or {}), **errors}
        if errors:
            message = "Some fields are not valid: " + "; ".join(f"{k}: {v[0]}" for k, v in errors.items())
            raise InvalidInput(message, fields=errors)
        count = fields.get("variations")
        created = variations.generation_create_many(
            count=count or 1,
            organization=self.organization,
            end_user=_resolve_end_user(self.organization, end_user_id),
            inputs=inputs,
            image=fields.get("image"),
            end_image=fields.get("end_image"),
            api_key=self.api_key,
        )
        if count is None:
            return Response(_payload(request, created[0]), status=status.HTTP_201_CREATED)
        link_for = lambda name: api_link(name=name, api_key=request.auth)  # noqa: E731
        return Response(group_payload(created, link_for=link_for), status=status.HTTP_201_CREATED)

    def _continue(self, request, fields: dict, errors: dict) -> Response:
        """`continue_from`: the source's last frame is the first frame, so no image may be sent."""
        source = selectors.generation_get(organization=self.organization, generation_id=fields["continue_from"])
        for name in ("image", "image_url"):
            if fields.get(name):
                errors[name] = ["Send no first frame with continue_from: the last frame of that video is used."]
        if errors:
            message = "Some fields are not valid: " + "; ".join(f"{k}: {v[0]}" for k, v in errors.items())
            raise InvalidInput(message, fields=errors)
        generation = continuation.generation_continue(
            organization=self.organization,
            end_user=_resolve_end_user(self.organization, fields.get("end_user_id") or None),
            source=source,
            prompt=fields.get("prompt"),
            duration=fields.get("duration"),
            resolution=fields.get("resolution"),
            aspect_ratio=fields.get("aspect_ratio"),
            generate_audio=fields.get("generate_audio"),
            seed=fields.get("seed"),
            end_image=fields.get("end_image"),
            end_image_url=fields.get("end_image_url"),
            api_key=self.api_key,
        )
        return Response(_payload(request, generation), status=status.HTTP_201_CREATED)


class GenerationObjectView(TenantAPIView):
    def get_generation(self, generation_id):
        return selectors.generation_get(organization=self.organization, generation_id=generation_id)


class GenerationDetailView(GenerationObjectView):
    required_scopes = {"GET": scopes.GENERATIONS_READ}

    @extend_schema(
        tags=TAG,
        summary="Get a generation",
        description=(
            "Status, inputs, cost and, once succeeded, `video_url` (our stored copy). Links to files we store "
            "are signed and expire at `media_expires_at`: read the generation again for fresh ones."
        ),
        responses={200: GenerationSerializer, **authed_errors(404)},
        examples=[GENERATION_EXAMPLE],
    )
    def get(self, request, generation_id):
        generation = selectors.generation_get(
            organization=self.organization, generation_id=generation_id, only=PAYLOAD_FIELDS
        )
        return Response(_payload(request, generation))


class GenerationCancelView(GenerationObjectView):
    required_scopes = {"POST": scopes.GENERATIONS_WRITE}

    @extend_schema(
        tags=TAG,
        summary="Cancel a generation",
        description=(
            "Cancels a queued generation (200, `status: canceled`, nothing is charged). Once it is at the "
            "provider it cannot be stopped: 409 `not_cancelable` says why."
        ),
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={200: GenerationSerializer, **authed_errors(400, 404, 409)},
        examples=[GENERATION_EXAMPLE],
    )
    @idempotent
    def post(self, request, generation_id):
        generation = services.generation_cancel(generation=self.get_generation(generation_id))
        generation = self.get_generation(generation.pk)
        return Response(_payload(request, generation))


class GenerationRetryView(GenerationObjectView):
    required_scopes = {"POST": scopes.GENERATIONS_WRITE}

    @extend_schema(
        tags=TAG,
        summary="Retry a generation",
        description=(
            "Runs a failed or canceled generation again with the same inputs, as a new generation "
            "(`retry_of` points back); 201. Anything else: 409 `not_retryable`."
        ),
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={201: GenerationSerializer, **authed_errors(400, 402, 404, 409)},
        examples=[GENERATION_EXAMPLE],
    )
    @idempotent
    def post(self, request, generation_id):
        generation = services.generation_retry(generation=self.get_generation(generation_id), api_key=self.api_key)
        return Response(_payload(request, generation), status=status.HTTP_201_CREATED)
