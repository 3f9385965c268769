"""Browser routes of storyboards."""

from django.urls import path

from storyboards import views

urlpatterns = [
    path("app/storyboards/", views.storyboard_list, name="storyboard_list"),
    path("app/storyboards/new/", views.storyboard_create, name="storyboard_create"),
    path("app/storyboards/new/price/", views.storyboard_quote, name="storyboard_quote"),
    path("app/storyboards/<uuid:storyboard_id>/", views.storyboard_detail, name="storyboard_detail"),
    path(
        "app/storyboards/<uuid:storyboard_id>/shots/<int:position>/retry/",
        views.storyboard_shot_retry,
        name="storyboard_shot_retry",
    ),
]
