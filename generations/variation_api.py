"""Partner API shape of a group of variations (`variations` on create) and its read endpoint."""

from __future__ import annotations

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from accounts import scopes
from accounts.api import TenantAPIView
from generations import variations
from generations.media_links import api_link
from generations.representation import CURRENCY, generation_payload
from generations.serializers import GenerationSerializer
from seedance_saas.api_docs import authed_errors


class VariationGroupSerializer(serializers.Serializer):
    variation_group = serializers.UUIDField(help_text="The group's id; each generation carries it too.")
    count = serializers.IntegerField(help_text="How many variations (1-4).")
    estimated_cost = serializers.DecimalField(
        max_digits=12, decimal_places=4, help_text="USD held for the whole group: count x one generation."
    )
    cost = serializers.DecimalField(
        max_digits=12, decimal_places=4, help_text="USD billed so far: only succeeded variations are charged."
    )
    currency = serializers.CharField()
    generations = GenerationSerializer(many=True, help_text="Each variation, with its own seed and status.")


def _sample(index: int, seed: str) -> dict:
    return {
        "id": f"0b6f7e2a-3c4d-4e5f-8a9b-1c2d3e4f5a6{index}",
        "status": "queued",
        "prompt": "The camera slowly pushes in as she turns and smiles",
        "image_url": "https://partner.example/frames/first.jpg",
        "end_image_url": None,
        "resolution": "720p",
        "duration": "5",
        "aspect_ratio": "16:9",
        "generate_audio": True,
        "seed": seed,
        "end_user_id": "customer-42",
        "estimated_cost": "1.5120",
        "cost": None,
        "currency": "usd",
        "video_url": None,
        "poster_url": None,
        "duration_seconds": None,
        "error": None,
        "retry_of": None,
        "variation_group": "7d1f2e3a-4b5c-4d6e-8f90-a1b2c3d4e5f6",
        "created_at": "2026-11-24T20:00:00Z",
        "completed_at": None,
        "media_expires_at": None,
    }


GROUP_EXAMPLE = OpenApiExample(
    "variations (201)",
    value={
        "variation_group": "7d1f2e3a-4b5c-4d6e-8f90-a1b2c3d4e5f6",
        "count": 2,
        "estimated_cost": "3.0240",
        "cost": "0.0000",
        "currency": "usd",
        "generations": [_sample(1, "42"), _sample(2, "1638201977")],
    },
    response_only=True,
)


def group_payload(generations, *, link_for) -> dict:
    return {
        "variation_group": str(generations[0].variation_group) if generations[0].variation_group else None,
        "count": len(generations),
        "estimated_cost": f"{sum(g.estimated_cost for g in generations):.4f}",
        "cost": f"{sum(g.cost or 0 for g in generations):.4f}",
        "currency": CURRENCY,
        "generations": [generation_payload(g, link_for=link_for) for g in generations],
    }


class VariationGroupDetailView(TenantAPIView):
    required_scopes = {"GET": scopes.GENERATIONS_READ}

    @extend_schema(
        tags=["Generations"],
        summary="Get a group of variations",
        description="The variations made together by one create with `variations`, in the order they were made.",
        responses={200: VariationGroupSerializer, **authed_errors(404)},
        examples=[GROUP_EXAMPLE],
    )
    def get(self, request, group_id):
        generations = list(variations.variation_group_list(organization=self.organization, group_id=group_id))
        return Response(group_payload(generations, link_for=lambda name: api_link(name=name, api_key=request.auth)))
