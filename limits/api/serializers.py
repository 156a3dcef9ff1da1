"""JSON shapes of concurrency limits: ``id``, ``tag``, ``concurrency_limit``, ``active_slots``."""

from __future__ import annotations

from drf_spectacular.utils import extend_schema_field
from rest_framework import serializers

from runs_limits import selectors
from runs_limits.models import ConcurrencyLimit
from runs_limits.services import LimitError, clean_limit, clean_tag


class ConcurrencyLimitOutputSerializer(serializers.ModelSerializer):
    """A limit as the API returns it; ``active_slots`` are the ids of the task runs holding it."""

    active_slots = serializers.SerializerMethodField()

    class Meta:
        model = ConcurrencyLimit
        fields = ["id", "tag", "concurrency_limit", "active_slots"]
        read_only_fields = fields

    def get_active_slots(self, limit: ConcurrencyLimit) -> list[str]:  # noqa: D102
        return [str(run_id) for run_id in selectors.active_slots(limit)]


def _validated(cleaner, value):
    try:
        return cleaner(value)
    except LimitError as error:
        raise serializers.ValidationError(str(error)) from error


@extend_schema_field({"type": "integer", "minimum": 0, "maximum": 2_147_483_647})
class _LimitField(serializers.Field):
    """A whole number of 0 or more; strings of digits are accepted, booleans are not."""

    def to_internal_value(self, data) -> int:  # noqa: D102
        return _validated(clean_limit, data)

    def to_representation(self, value) -> int:  # noqa: D102
        return int(value)


@extend_schema_field({"type": "string", "minLength": 1, "maxLength": 200, "pattern": r"\S"})
class _TagField(serializers.CharField):
    """Non-empty text; surrounding spaces are dropped."""

    default_error_messages = {
        "blank": "The tag cannot be empty: give the tag whose task runs to limit.",
        "required": "Give the tag whose task runs to limit.",
    }

    def to_internal_value(self, data) -> str:  # noqa: D102
        if not isinstance(data, str):
            raise serializers.ValidationError("The tag must be text.")
        return _validated(clean_tag, data)


class ConcurrencyLimitCreateSerializer(serializers.Serializer):
    """``POST`` body: the tag and its limit (an existing tag's limit is updated)."""

    tag = _TagField(max_length=200)
    concurrency_limit = _LimitField()


class ConcurrencyLimitUpdateSerializer(serializers.Serializer):
    """``PATCH`` body: a new limit and/or a new tag."""

    tag = _TagField(max_length=200, required=False)
    concurrency_limit = _LimitField(required=False)
