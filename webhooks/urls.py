"""Browser routes of webhooks (Developers ▸ Webhooks)."""

from django.urls import path

from webhooks import views

urlpatterns = [
    path("app/developers/webhooks/", views.webhooks_page, name="webhooks"),
    path("app/developers/webhooks/endpoints/", views.endpoint_create, name="webhook_endpoint_create"),
    path(
        "app/developers/webhooks/endpoints/<uuid:endpoint_id>/<str:action>/",
        views.endpoint_action,
        name="webhook_endpoint_action",
    ),
    path("app/developers/webhooks/deliveries/<uuid:delivery_id>/", views.delivery_detail, name="webhook_delivery"),
    path(
        "app/developers/webhooks/deliveries/<uuid:delivery_id>/replay/",
        views.delivery_replay,
        name="webhook_delivery_replay",
    ),
]
