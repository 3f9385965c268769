"""Routes of the partner API under /api/v1/, and its schema and docs."""

from csp.decorators import csp_update
from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from billing import api as billing_api
from generations import api as generations_api
from generations import privacy_api, share_api, variation_api
from seedance_saas.errors import api_not_found
from storyboards import api as storyboards_api
from webhooks import api as webhooks_api

v1 = [
    path("generations/", generations_api.GenerationListView.as_view(), name="generation-list"),
    path("generations/<uuid:generation_id>/", generations_api.GenerationDetailView.as_view(), name="generation-detail"),
    path(
        "generations/<uuid:generation_id>/cancel/",
        generations_api.GenerationCancelView.as_view(),
        name="generation-cancel",
    ),
    path(
        "generations/<uuid:generation_id>/retry/",
        generations_api.GenerationRetryView.as_view(),
        name="generation-retry",
    ),
    path(
        "variation-groups/<uuid:group_id>/",
        variation_api.VariationGroupDetailView.as_view(),
        name="variation-group-detail",
    ),
    path("share-links/", share_api.ShareLinkListView.as_view(), name="share-link-list"),
    path("share-links/<uuid:share_link_id>/", share_api.ShareLinkDetailView.as_view(), name="share-link-detail"),
    path("share-links/<uuid:share_link_id>/revoke/", share_api.ShareLinkRevokeView.as_view(), name="share-link-revoke"),
    path("storyboards/", storyboards_api.StoryboardListView.as_view(), name="storyboard-list"),
    path(
        "storyboards/<uuid:storyboard_id>/",
        storyboards_api.StoryboardDetailView.as_view(),
        name="storyboard-detail",
    ),
    path(
        "storyboards/<uuid:storyboard_id>/shots/<int:position>/retry/",
        storyboards_api.StoryboardShotRetryView.as_view(),
        name="storyboard-shot-retry",
    ),
    path("end-users/", billing_api.EndUserWithUsageListView.as_view(), name="end-user-list"),
    # generations' view adds DELETE (the erasure) to billing's end-user detail.
    path("end-users/<str:end_user_id>/", privacy_api.EndUserPrivacyDetailView.as_view(), name="end-user-detail"),
    path("end-users/<str:end_user_id>/export/", privacy_api.EndUserExportView.as_view(), name="end-user-export"),
    path("usage/", billing_api.UsageView.as_view(), name="usage"),
    path("usage/export.csv", billing_api.UsageExportView.as_view(), name="usage-export"),
    path("pricing/", billing_api.PricingView.as_view(), name="pricing"),
    path("webhook-endpoints/", webhooks_api.WebhookEndpointListView.as_view(), name="webhook-endpoint-list"),
    path(
        "webhook-endpoints/<uuid:endpoint_id>/",
        webhooks_api.WebhookEndpointDetailView.as_view(),
        name="webhook-endpoint-detail",
    ),
    path(
        "webhook-endpoints/<uuid:endpoint_id>/rotate-secret/",
        webhooks_api.WebhookEndpointRotateSecretView.as_view(),
        name="webhook-endpoint-rotate-secret",
    ),
    path("webhook-deliveries/", webhooks_api.WebhookDeliveryListView.as_view(), name="webhook-delivery-list"),
    path(
        "webhook-deliveries/<uuid:delivery_id>/",
        webhooks_api.WebhookDeliveryDetailView.as_view(),
        name="webhook-delivery-detail",
    ),
    path(
        "webhook-deliveries/<uuid:delivery_id>/replay/",
        webhooks_api.WebhookDeliveryReplayView.as_view(),
        name="webhook-delivery-replay",
    ),
]

urlpatterns = [
    *[path(f"v1/{p.pattern}", p.callback, name=p.name) for p in v1],
    path("schema/", SpectacularAPIView.as_view(), name="api-schema"),
    # The split view loads its start-up code as a script file (no inline <script>); Swagger UI's stylesheet draws
    # its icons from data: URIs, so this one page also allows data: images.
    path(
        "docs/",
        csp_update({"img-src": ["data:"]})(SpectacularSwaggerSplitView.as_view(url_name="api-schema")),
        name="api-docs",
    ),
    re_path(r"^[\s\S]*$", api_not_found, name="api-not-found"),  # [\s\S]: paths with a newline too,
]
