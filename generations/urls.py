"""Browser and hook routes of generations."""

from django.urls import path

from generations import views

urlpatterns = [
    path("hooks/eachlabs/<str:secret>/", views.eachlabs_webhook, name="eachlabs_webhook"),
]
