"""The API's exception handler: DRF's, plus a 400 for values the database cannot take.

PostgreSQL refuses some values Python accepts (text with a NUL character, numbers or times
out of its range). Whichever view passes one on, the caller gets a 400 saying so, not a 500.
"""

from __future__ import annotations

from django.db import DataError
from rest_framework import status
from rest_framework.response import Response
from rest_framework.views import exception_handler as drf_exception_handler


def exception_handler(exc, context):
    """REST_FRAMEWORK["EXCEPTION_HANDLER"]."""
    if isinstance(exc, DataError):
        return Response(
            {
                "detail": f"A value in this request cannot be stored or looked up: {exc}. "
                "Remove NUL characters and keep numbers and times in range."
            },
            status=status.HTTP_400_BAD_REQUEST,
        )
    return drf_exception_handler(exc, context)
