"""URLs of the REST API."""

urlpatterns: list = []
