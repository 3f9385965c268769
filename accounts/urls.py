from django.urls import path

from accounts import views

urlpatterns = [
    path("", views.landing, name="landing"),
    path("app/", views.dashboard, name="dashboard"),
    path("app/organizations/switch/", views.organization_switch, name="organization_switch"),
]
