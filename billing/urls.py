"""Browser and hook routes of billing."""

from django.urls import path

from billing import views

urlpatterns = [
    path("hooks/stripe/", views.stripe_webhook, name="stripe_webhook"),
    path("hooks/stripe/thin/", views.stripe_thin_webhook, name="stripe_thin_webhook"),
    path("app/billing/", views.billing_page, name="billing"),
    path("app/billing/usage.csv", views.usage_export_csv, name="billing_usage_export"),
    path("billing/checkout/", views.checkout, name="billing_checkout"),
    path("billing/portal/", views.portal, name="billing_portal"),
]
