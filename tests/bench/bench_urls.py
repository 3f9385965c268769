"""The product's routes plus a bare Django view returning a fixed JSON body (the benchmark's baseline)."""

from django.http import JsonResponse
from django.urls import include, path

BODY = {"id": "0b6f7e2a-3c4d-4e5f-8a9b-1c2d3e4f5a6b", "status": "succeeded", "cost": "1.5120"}


def bare(request):
    return JsonResponse(BODY)


urlpatterns = [path("bench/bare/", bare), path("", include("seedance_saas.urls"))]
