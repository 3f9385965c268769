"""Browser and hook routes of generations."""

from django.urls import path

from generations import privacy_views, views

urlpatterns = [
    # Signed links only (generations.media_links); the path is the storage name so downloads keep it.
    path("media/<path:name>", views.media_file, name="media"),
    path("hooks/eachlabs/<str:secret>/", views.eachlabs_webhook, name="eachlabs_webhook"),
    path("app/settings/delete-account/", privacy_views.account_delete, name="account_delete"),
    path("app/videos/", views.generation_list, name="generation_list"),
    path("app/videos/new/", views.generation_create, name="generation_create"),
    path("app/videos/new/price/", views.generation_quote, name="generation_quote"),
    path("app/videos/<uuid:generation_id>/", views.generation_detail, name="generation_detail"),
    path("app/videos/<uuid:generation_id>/cancel/", views.generation_cancel, name="generation_cancel"),
    path("app/videos/<uuid:generation_id>/retry/", views.generation_retry, name="generation_retry"),
]
