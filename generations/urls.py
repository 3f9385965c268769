"""Browser and hook routes of generations."""

from django.urls import path, re_path

from generations import privacy_views, provider_key_views, share_views, views, views_continue

urlpatterns = [
    # Signed links only (generations.media_links); the path is the storage name so downloads keep it.
    path("media/<path:name>", views.media_file, name="media"),
    path("hooks/eachlabs/<str:secret>/", views.eachlabs_webhook, name="eachlabs_webhook"),
    path("app/settings/delete-account/", privacy_views.account_delete, name="account_delete"),
    path("app/videos/", views.generation_list, name="generation_list"),
    path("app/videos/new/", views.generation_create, name="generation_create"),
    path("app/videos/new/price/", views.generation_quote, name="generation_quote"),
    path("app/videos/variations/<uuid:group_id>/", views.variation_group, name="variation_group"),
    path("app/videos/<uuid:generation_id>/", views.generation_detail, name="generation_detail"),
    path("app/videos/<uuid:generation_id>/cancel/", views.generation_cancel, name="generation_cancel"),
    path("app/videos/<uuid:generation_id>/retry/", views.generation_retry, name="generation_retry"),
    path("app/videos/<uuid:generation_id>/share/", share_views.share_create, name="share_create"),
    path("app/share-links/<uuid:share_link_id>/revoke/", share_views.share_revoke, name="share_revoke"),
    # Public: the token is the only key (generations.sharing); every answer is noindex and uncached.
    path("s/<str:token>/", share_views.share_page, name="share_page"),
    re_path(r"^s/(?P<token>[^/]+)/(?P<what>video\.mp4|poster\.webp)$", share_views.share_media, name="share_media"),
    path("app/videos/<uuid:generation_id>/continue/", views_continue.generation_continue, name="generation_continue"),
    path("app/organization/provider-key/", provider_key_views.own_provider_key, name="own_provider_key"),
    path(
        "app/organization/provider-key/remove/",
        provider_key_views.own_provider_key_remove,
        name="own_provider_key_remove",
    ),
]
