"""The REST API: serializers, views and URLs under /api/."""
