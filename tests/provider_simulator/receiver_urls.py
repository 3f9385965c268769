"""A stand-in webhook receiver mounted at SITE_URL, to prove in-process delivery into this Django app."""

import json

from django.http import HttpResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

received: list[dict] = []


@csrf_exempt
def receiver(request, secret):
    received.append({"secret": secret, "body": json.loads(request.body), "content_type": request.content_type})
    return HttpResponse(status=204)


urlpatterns = [path("hooks/eachlabs/<str:secret>/", receiver)]
