"""Top-level routes: browser pages, auth, admin, the partner API and inbound webhooks."""

from django.conf import settings
from django.contrib import admin
from django.urls import include, path

from seedance_saas import health, metrics
from seedance_saas import views as site_views

# A database or cache outage met before a view (sessions, the active organization) answers 503, not 500.
handler500 = "seedance_saas.dependencies.server_error"

urlpatterns = [
    path("healthz", health.healthz, name="healthz"),
    path("readyz", health.ReadinessView.as_view(), name="readyz"),
    path("metrics", metrics.metrics_view, name="metrics"),
    path("admin/", admin.site.urls),
    path("accounts/", include("allauth.urls")),
    path("api/", include("seedance_saas.api_urls")),
    path("", site_views.landing, name="landing"),
    path("", include("accounts.urls")),
    path("", include("generations.urls")),
    path("", include("billing.urls")),
    path("", include("webhooks.urls")),
]

# The in-process provider simulator's output videos; never in production unless EACHLABS_ALLOW_SIMULATOR=1.
if settings.EACHLABS_SIMULATED and settings.EACHLABS_ALLOW_SIMULATOR:
    urlpatterns += [path("", include("provider_simulator.urls"))]
