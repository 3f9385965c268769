"""Partner API for storyboards: create (JSON or multipart), list, read, retry a shot; thin over services."""

from __future__ import annotations

import json

from drf_spectacular.utils import OpenApiExample, OpenApiRequest, extend_schema
from rest_framework import status
from rest_framework.parsers import FormParser, JSONParser
from rest_framework.response import Response

from accounts import scopes
from accounts import services as accounts_services
from accounts.api import TenantAPIView
from generations.media_links import api_link
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
from storyboards import selectors, services
from storyboards.models import MAX_SHOTS
from storyboards.representation import storyboard_payload
from storyboards.serializers import StoryboardCreateSerializer, StoryboardSerializer

TAG = ["Storyboards"]
CREATE_EXAMPLE = OpenApiExample(
    "three shots, the last two chained",
    value={
        "title": "Harbour at dawn",
        "resolution": "720p",
        "aspect_ratio": "16:9",
        "end_user_id": "customer-42",
        "shots": [
            {
                "prompt": "Boats rock gently as the sun rises",
                "duration": "5",
                "image_url": "https://partner.example/1.jpg",
            },
            {"prompt": "The camera pans to the lighthouse", "duration": "4", "continue_previous": True},
            {"prompt": "Gulls take off from the pier", "duration": "6", "continue_previous": True},
        ],
    },
    request_only=True,
)
STORYBOARD_EXAMPLE = OpenApiExample(
    "storyboard",
    value={
        "id": "5d1c2b3a-4e5f-4a6b-8c7d-9e0f1a2b3c4d",
        "status": "succeeded",
        "title": "Harbour at dawn",
        "resolution": "720p",
        "aspect_ratio": "16:9",
        "generate_audio": True,
        "end_user_id": "customer-42",
        "estimated_cost": "4.5360",
        "cost": "4.5360",
        "currency": "usd",
        "film_url": "https://studio.example/media/storyboards/films/7/ab12/film.mp4?o=7&g=api_key%3A3&e=1795982621&s=Qm",
        "poster_url": "https://studio.example/media/storyboards/films/7/ab12/poster.jpg?o=7&g=api_key%3A3&e=17959&s=Qx",
        "duration_seconds": 15.0,
        "error": None,
        "shots": [
            {
                "position": 1,
                "status": "succeeded",
                "prompt": "Boats rock gently as the sun rises",
                "duration": "5",
                "continue_previous": False,
                "image_url": "https://partner.example/1.jpg",
                "generation_id": "0b6f7e2a-3c4d-4e5f-8a9b-1c2d3e4f5a6b",
                "video_url": "https://studio.example/media/generations/videos/7/0b6f.mp4?o=7&e=1795982621&s=Qm",
                "duration_seconds": 5.0,
                "cost": "1.5120",
                "attempts": 0,
                "error": None,
            }
        ],
        "created_at": "2026-11-24T20:00:00Z",
        "completed_at": "2026-11-24T20:12:41Z",
        "media_expires_at": "2026-11-24T21:12:41Z",
    },
    response_only=True,
)


def _payload(request, storyboard) -> dict:
    shots = selectors.storyboard_shots(storyboard=storyboard)
    return storyboard_payload(storyboard, shots=shots, link_for=lambda name: api_link(name=name, api_key=request.auth))


def _shots_from(request, raw) -> list[services.ShotInput]:
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise InvalidInput("shots is not valid JSON.", fields={"shots": ["Send a JSON list of shots."]}) from None
    if not isinstance(raw, list) or not all(isinstance(item, dict) for item in raw):
        raise InvalidInput("shots must be a list of objects.", fields={"shots": ["Send a list of shot objects."]})
    if len(raw) > MAX_SHOTS:
        raise InvalidInput(
            f"A storyboard has at most {MAX_SHOTS} shots.", fields={"shots": [f"At most {MAX_SHOTS} shots."]}
        )
    shots, errors = [], {}
    allowed = {"prompt", "duration", "image_url", "continue_previous"}
    for number, item in enumerate(raw, start=1):
        unknown = set(item) - allowed
        if unknown:
            errors[f"shots[{number}]"] = [f"Unknown field(s): {', '.join(sorted(unknown))}."]
        chained = item.get("continue_previous", False)
        if not isinstance(chained, bool):
            errors[f"shots[{number}].continue_previous"] = ["Use true or false."]
            chained = False
        texts = {k: item.get(k) for k in ("prompt", "duration", "image_url")}
        for key, value in texts.items():
            if value is not None and (isinstance(value, bool) or not isinstance(value, str | int)):
                errors[f"shots[{number}].{key}"] = ["Use a string."]
        shots.append(
            services.ShotInput(
                prompt=str(texts["prompt"] or ""),
                duration=None if texts["duration"] in (None, "") else str(texts["duration"]),
                continue_previous=chained,
                image=request.FILES.get(f"shot_{number}_image") if hasattr(request, "FILES") else None,
                image_url=str(texts["image_url"] or ""),
            )
        )
    if errors:
        raise InvalidInput(
            "Some shots are not valid: " + "; ".join(f"{k}: {v[0]}" for k, v in errors.items()), fields=errors
        )
    return shots


class StoryboardListView(TenantAPIView):
    required_scopes = {"GET": scopes.GENERATIONS_READ, "POST": scopes.GENERATIONS_WRITE}
    parser_classes = [JSONParser, LimitedMultiPartParser, FormParser]

    @extend_schema(
        tags=TAG,
        summary="List storyboards",
        operation_id="storyboards_list",
        description="Your organization's storyboards, newest first, cursor-paginated (follow `next`).",
        parameters=[
            *PAGE_PARAMETERS,
        ],
        responses={200: paginated(StoryboardSerializer), **authed_errors(400)},
    )
    def get(self, request):
        paginator = ApiCursorPagination()
        page = paginator.paginate_queryset(selectors.storyboard_list(organization=self.organization), request, self)
        return paginator.get_paginated_response([_payload(request, s) for s in page])

    @extend_schema(
        tags=TAG,
        summary="Create a storyboard",
        description=(
            "2 to 8 shots made into one film. Every shot has one resolution and aspect ratio; each has a prompt, a "
            "duration and either its own first frame (`image_url`, or the multipart file `shot_<n>_image`) or "
            "`continue_previous: true` (its first frame is the last frame of the shot before). All shots are "
            "authorized against the spend limits at once: 402 refuses the whole storyboard. Shots with their own "
            "frame run in parallel; a chained shot starts when the one before succeeds. When all have succeeded "
            "they are stitched into one MP4 (`film_url`, free). Only succeeded shots are charged; a failed shot "
            "stops the shots that continue it (their holds are released) until you retry it."
        ),
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        request={
            "application/json": StoryboardCreateSerializer,
            "multipart/form-data": OpenApiRequest(StoryboardCreateSerializer),
        },
        responses={201: StoryboardSerializer, **authed_errors(400, 402, 409, 413, 415)},
        examples=[CREATE_EXAMPLE, STORYBOARD_EXAMPLE],
    )
    @idempotent
    def post(self, request):
        data = StoryboardCreateSerializer(data=request.data)
        data.is_valid(raise_exception=True)
        fields = data.validated_data
        end_user_id = fields.get("end_user_id") or None
        if end_user_id and not accounts_services.PARTNER_EXTERNAL_ID_RE.match(end_user_id):
            raise InvalidInput(
                "end_user_id is not valid.", fields={"end_user_id": ["Use 1-128 letters, digits, _ . @ + -."]}
            )
        end_user = (
            accounts_services.end_user_for_partner(organization=self.organization, external_id=end_user_id)
            if end_user_id
            else accounts_services.end_user_default(organization=self.organization)
        )
        storyboard = services.storyboard_create(
            organization=self.organization,
            end_user=end_user,
            shots=_shots_from(request, fields["shots"]),
            resolution=fields.get("resolution") or None,
            aspect_ratio=fields.get("aspect_ratio") or None,
            generate_audio=fields.get("generate_audio"),
            title=fields.get("title") or "",
            api_key=self.api_key,
        )
        return Response(_payload(request, storyboard), status=status.HTTP_201_CREATED)


class StoryboardDetailView(TenantAPIView):
    required_scopes = {"GET": scopes.GENERATIONS_READ}

    @extend_schema(
        tags=TAG,
        summary="Get a storyboard",
        description="Its status, each shot's state (and which failed and why), cost so far and, once done, the film.",
        responses={200: StoryboardSerializer, **authed_errors(404)},
        examples=[STORYBOARD_EXAMPLE],
    )
    def get(self, request, storyboard_id):
        storyboard = selectors.storyboard_get(organization=self.organization, storyboard_id=storyboard_id)
        return Response(_payload(request, storyboard))


class StoryboardShotRetryView(TenantAPIView):
    required_scopes = {"POST": scopes.GENERATIONS_WRITE}

    @extend_schema(
        tags=TAG,
        summary="Retry a failed shot",
        description=(
            "Runs failed shot `n` (1-based) again and resumes the shots stopped behind it; their holds are authorized "
            "anew together (402 if the limit no longer allows). 409 `not_retryable` unless the shot failed."
        ),
        request=None,
        parameters=[IDEMPOTENCY_KEY_PARAMETER],
        responses={200: StoryboardSerializer, **authed_errors(400, 402, 404, 409)},
        examples=[STORYBOARD_EXAMPLE],
    )
    @idempotent
    def post(self, request, storyboard_id, position):
        storyboard = selectors.storyboard_get(organization=self.organization, storyboard_id=storyboard_id)
        storyboard = services.storyboard_shot_retry(storyboard=storyboard, position=position)
        return Response(_payload(request, storyboard))
