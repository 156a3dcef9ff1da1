"""Creating, changing and deleting concurrency limits: what the CLI, the API and the dashboard call."""

from __future__ import annotations

from django.db import transaction

from runs.exceptions import ObjectNotFound
from runs_limits.models import ConcurrencyLimit


class LimitError(ValueError):
    """A limit that cannot be created as asked; the message says what to change."""


def clean_tag(tag: object) -> str:
    """The tag, stripped; an empty or non-text tag is a LimitError."""
    if not isinstance(tag, str) or not tag.strip():
        raise LimitError("The tag cannot be empty: give the tag whose task runs to limit.")
    tag = tag.strip()
    if "\x00" in tag:
        raise LimitError("The tag contains a NUL character, which cannot be stored; remove it.")
    if len(tag) > 200:
        raise LimitError(f"The tag is {len(tag)} characters long; the most is 200.")
    return tag


def clean_limit(value: object) -> int:
    """The limit as a whole number of 0 or more; anything else is a LimitError."""
    if isinstance(value, bool):
        raise LimitError(f"The limit must be a whole number of 0 or more; got {value!r}.")
    if isinstance(value, str):
        text = value.strip()
        if not text.lstrip("-").isdigit():
            raise LimitError(f"The limit must be a whole number of 0 or more; got {value!r}.")
        value = int(text)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if not isinstance(value, int):
        raise LimitError(f"The limit must be a whole number of 0 or more; got {value!r}.")
    if value < 0:
        raise LimitError(
            f"The limit cannot be negative; got {value}. Use 0 to abort every run "
            "with the tag, or a positive number."
        )
    if value > 2_147_483_647:
        raise LimitError(f"The limit {value} is too large.")
    return value


def _wake_waiters() -> None:
    from runs_limits.slots import notify_released

    transaction.on_commit(notify_released)


def create_limit(*, tag: str, concurrency_limit: object) -> tuple[ConcurrencyLimit, bool]:
    """Set the limit of ``tag`` (creating it, or updating the existing one); (limit, created)."""
    tag = clean_tag(tag)
    value = clean_limit(concurrency_limit)
    with transaction.atomic():
        limit, created = ConcurrencyLimit.objects.update_or_create(
            tag=tag, defaults={"concurrency_limit": value}
        )
        _wake_waiters()
    return limit, created


def update_limit(
    *, limit: ConcurrencyLimit, concurrency_limit: object = None, tag: str | None = None
) -> ConcurrencyLimit:
    """Change a limit's number (and optionally its tag); waiting runs see it at once."""
    with transaction.atomic():
        if tag is not None:
            tag = clean_tag(tag)
            if ConcurrencyLimit.objects.filter(tag=tag).exclude(id=limit.id).exists():
                raise LimitError(f"Tag {tag!r} already has a limit; edit that one instead.")
            limit.tag = tag
        if concurrency_limit is not None:
            limit.concurrency_limit = clean_limit(concurrency_limit)
        limit.save()
        _wake_waiters()
    return limit


def delete_limit(*, limit: ConcurrencyLimit) -> None:
    """Remove a limit: its tag becomes unlimited, waiting runs go on."""
    with transaction.atomic():
        # The limit's row before its slots and waiters: the order acquirers lock them in.
        list(ConcurrencyLimit.objects.select_for_update().filter(id=limit.id).values_list("id"))
        limit.delete()
        _wake_waiters()


def delete_limit_by_tag(*, tag: str) -> None:
    """Remove the limit of ``tag``; ObjectNotFound if there is none."""
    tag = clean_tag(tag)
    limit = ConcurrencyLimit.objects.filter(tag=tag).first()
    if limit is None:
        raise ObjectNotFound(f"No concurrency limit on tag {tag!r}.")
    delete_limit(limit=limit)
