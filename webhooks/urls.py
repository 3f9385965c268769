"""Browser and hook routes of webhooks."""

urlpatterns: list = []
