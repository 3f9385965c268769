"""Browser and hook routes of billing."""

urlpatterns: list = []
