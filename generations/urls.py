"""Browser and hook routes of generations."""

urlpatterns: list = []
