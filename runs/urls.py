"""URLs of the dashboard."""

urlpatterns: list = []
