"""The provider's webhook receiver: verify, record, enqueue, return."""

from django.http import HttpRequest, JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from generations import services


@csrf_exempt
@require_POST
def eachlabs_webhook(request: HttpRequest, secret: str) -> JsonResponse:
    # The body is never trusted: the refresh asks the provider for the real status.
    generation = services.generation_for_webhook(secret=secret)
    if generation is None:
        return JsonResponse({"error": {"code": "not_found", "message": "Unknown webhook."}}, status=404)
    services.webhook_received(generation=generation)
    return JsonResponse({"ok": True})
