"""When a deployment runs by itself: cron, interval and RRule schedules, checked and iterated.

Pure Python (croniter, dateutil, zoneinfo). A cron's and an RRule's times are wall-clock times
in the schedule's time zone, so "0 9 * * *" in Europe/Paris stays at 09:00 across daylight
saving changes (a time the clocks skip, 02:30 when they go from 02:00 to 03:00, comes at 03:30;
a time they repeat comes once, the first time); an interval is a fixed number of seconds from
its anchor (a whole number of days keeps the anchor's wall-clock time instead). Every time
handed out is an aware UTC datetime.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

UTC = dt.UTC
KINDS = ("cron", "interval", "rrule")
#: An interval's or an RRule's first time when none is given (Prefect 2's default anchor).
DEFAULT_ANCHOR = dt.datetime(2020, 1, 1)
_DAY = 86400


class ScheduleError(ValueError):
    """A schedule that cannot be used; ``field`` names the part at fault."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class ScheduleSpec:
    """A checked schedule: ``value`` is the cron expression, the interval in seconds (text) or
    the RRule text; ``anchor`` an aware datetime or None."""

    kind: str
    value: str
    timezone: str = "UTC"
    anchor: dt.datetime | None = None


def parse_schedule(
    kind: str, value: str, *, timezone: str = "UTC", anchor: dt.datetime | str | None = None
) -> ScheduleSpec:
    """Check a schedule and return it in its stored form.

    An interval may be given as seconds ("90", "1.5"), units ("1h30m", "2d", "45s"), ISO 8601
    ("PT1H30M") or a clock ("01:30:00"); it is stored as seconds. The anchor may be a datetime
    or ISO 8601 text; a naive one is read in the schedule's time zone. Raises ScheduleError
    naming the field at fault.
    """
    kind = (kind or "").strip().lower()
    if kind not in KINDS:
        raise ScheduleError(
            "kind", f"Schedule kind {kind!r} is not known: use one of cron, interval or rrule."
        )
    timezone = (timezone or "UTC").strip() or "UTC"
    zone = _zone(timezone)
    if isinstance(anchor, str):
        anchor = _parse_anchor(anchor)
    if anchor is not None:
        if not isinstance(anchor, dt.datetime):
            raise ScheduleError(
                "anchor", "The anchor must be a date and time, such as 2026-01-01T09:00:00."
            )
        if anchor.tzinfo is None or anchor.utcoffset() is None:
            anchor = anchor.replace(tzinfo=zone)
    text = (value if isinstance(value, str) else str(value if value is not None else "")).strip()
    if kind == "cron":
        _check_cron(text)
    elif kind == "interval":
        text = _format_seconds(parse_interval(text))
    else:
        text = _check_rrule(text, zone, anchor)
    return ScheduleSpec(kind=kind, value=text, timezone=timezone, anchor=anchor)


def next_times(
    spec: ScheduleSpec, *, after: dt.datetime, until: dt.datetime | None, limit: int
) -> list[dt.datetime]:
    """The schedule's times strictly after ``after`` and at or before ``until`` (None: no end),
    at most ``limit`` of them, in order, as aware UTC datetimes."""
    if after.tzinfo is None or (until is not None and until.tzinfo is None):
        raise ValueError("next_times needs aware datetimes (with a time zone)")
    if limit <= 0 or (until is not None and until <= after):
        return []
    after = after.astimezone(UTC)
    times: list[dt.datetime] = []
    for time in _iterate(spec, after):
        if until is not None and time > until:
            break
        if time <= after or (times and time <= times[-1]):
            continue  # a wall-clock time repeated or skipped by a DST change
        times.append(time)
        if len(times) >= limit:
            break
    return times


def describe(spec: ScheduleSpec) -> str:
    """A short sentence for people: "every 5 minutes", "cron '0 9 * * 1-5' (Europe/Paris)"."""
    if spec.kind == "interval":
        text = "every " + _describe_seconds(float(spec.value))
        if spec.anchor is not None:
            text += f" from {spec.anchor.isoformat()}"
        if spec.timezone != "UTC":
            text += f" ({spec.timezone})"
        return text
    return f"{spec.kind} {spec.value!r} ({spec.timezone})"


def _parse_anchor(text: str) -> dt.datetime | None:
    """An ISO 8601 date and time ("" for none); ScheduleError otherwise."""
    if not text.strip():
        return None
    try:
        return dt.datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ScheduleError(
            "anchor",
            f"Anchor {text!r} is not a date and time: give ISO 8601, such as "
            "2026-01-01T09:00:00 (read in the schedule's time zone) or 2026-01-01T09:00:00+00:00.",
        ) from None


# ---- intervals ------------------------------------------------------------------------------

_UNITS = {"w": 7 * _DAY, "d": _DAY, "h": 3600, "m": 60, "s": 1}
_UNIT_RE = re.compile(r"(\d+(?:\.\d+)?)\s*(w|d|h|m|s)", re.IGNORECASE)
_ISO_RE = re.compile(
    r"^P(?:(\d+(?:\.\d+)?)W)?(?:(\d+(?:\.\d+)?)D)?"
    r"(?:T(?:(\d+(?:\.\d+)?)H)?(?:(\d+(?:\.\d+)?)M)?(?:(\d+(?:\.\d+)?)S)?)?$",
    re.IGNORECASE,
)
_CLOCK_RE = re.compile(r"^(\d+):(\d{1,2})(?::(\d{1,2}(?:\.\d+)?))?$")


def parse_interval(text: str) -> float:
    """Seconds from "90", "1.5", "1h30m", "PT1H30M" or "01:30:00"; ScheduleError otherwise."""
    stripped = text.strip()
    seconds: float | None = None
    try:
        seconds = float(stripped)
    except ValueError:
        pass
    if (
        seconds is None
        and (match := _ISO_RE.match(stripped))
        and stripped.upper()
        not in (
            "P",
            "PT",
        )
    ):
        w, d, h, m, s = (float(g) if g else 0.0 for g in match.groups())
        seconds = w * 7 * _DAY + d * _DAY + h * 3600 + m * 60 + s
    if seconds is None and (match := _CLOCK_RE.match(stripped)):
        h, m, s = match.groups()
        seconds = int(h) * 3600 + int(m) * 60 + float(s or 0)
    if seconds is None and stripped and not _UNIT_RE.sub("", stripped).strip():
        seconds = sum(float(n) * _UNITS[u.lower()] for n, u in _UNIT_RE.findall(stripped))
    if seconds is None or not math.isfinite(seconds):
        raise ScheduleError(
            "interval",
            f"Interval {text!r} is not a length of time: give seconds (90), units (1h30m), "
            "ISO 8601 (PT1H30M) or a clock (01:30:00).",
        )
    if seconds <= 0:
        raise ScheduleError("interval", f"Interval {text!r} must be more than 0 seconds.")
    return seconds


def _format_seconds(seconds: float) -> str:
    return str(int(seconds)) if float(seconds).is_integer() else repr(float(seconds))


def _describe_seconds(seconds: float) -> str:
    if not seconds.is_integer():
        return f"{_format_seconds(seconds)} seconds"
    rest, parts = int(seconds), []
    for name, size in (("day", _DAY), ("hour", 3600), ("minute", 60), ("second", 1)):
        count, rest = divmod(rest, size)
        if count:
            parts.append(f"{count} {name}{'' if count == 1 else 's'}")
    if len(parts) == 1 and parts[0].startswith("1 "):
        return parts[0][2:]  # "every minute", "every day"
    return " ".join(parts)


def _interval_times(spec: ScheduleSpec, after: dt.datetime) -> Iterator[dt.datetime]:
    zone = _zone(spec.timezone)
    seconds = float(spec.value)
    anchor = spec.anchor or DEFAULT_ANCHOR.replace(tzinfo=zone)
    if seconds.is_integer() and seconds % _DAY == 0:
        # whole days: the anchor's wall-clock time in its zone, whatever the DST offset
        local = anchor.astimezone(zone).replace(tzinfo=None)
        step = dt.timedelta(seconds=seconds)
        k = max(0, math.floor((after - anchor).total_seconds() / seconds) - 1)
        while True:
            yield (local + k * step).replace(tzinfo=zone).astimezone(UTC)
            k += 1
    anchor_utc = anchor.astimezone(UTC)
    k = max(0, math.floor((after - anchor_utc).total_seconds() / seconds))
    while True:
        yield anchor_utc + dt.timedelta(seconds=k * seconds)
        k += 1


# ---- cron -----------------------------------------------------------------------------------


def _check_cron(text: str) -> None:
    from croniter import croniter

    if not text or not croniter.is_valid(text):
        raise ScheduleError(
            "cron",
            f"Cron expression {text!r} is not valid: give 5 fields, minute hour day-of-month "
            "month day-of-week (for example '*/5 * * * *' or '0 9 * * 1-5'), or @hourly, "
            "@daily, @weekly, @monthly.",
        )


def _cron_times(spec: ScheduleSpec, after: dt.datetime) -> Iterator[dt.datetime]:
    from croniter import croniter

    zone = _zone(spec.timezone)
    start = after.astimezone(zone)
    fast = _cron_fields(spec.value)
    if fast is not None:
        yield from _fast_cron(fast, start.replace(tzinfo=None), zone)
        return
    iterator = croniter(spec.value, start)
    while True:
        yield iterator.get_next(dt.datetime).astimezone(UTC)


@lru_cache(maxsize=1024)
def _cron_fields(expression: str):
    """The sets of minutes, hours, days, months and weekdays of a plain 5-field cron (ranges,
    lists and steps), or None for one that needs croniter (L, W, #, seconds, years)."""
    from croniter import croniter

    iterator = croniter(expression)
    expanded = iterator.expanded
    if len(expanded) != 5 or getattr(iterator, "nth_weekday_of_month", None):
        return None
    sets = []
    for field in expanded:
        if any(not isinstance(v, int) and v != "*" for v in field):
            return None
        sets.append(None if field == ["*"] else frozenset(int(v) for v in field))
    minutes, hours, days, months, weekdays = sets
    if weekdays is not None:
        weekdays = frozenset(w % 7 for w in weekdays)  # 7 is Sunday too
    return (
        sorted(minutes) if minutes is not None else list(range(60)),
        sorted(hours) if hours is not None else list(range(24)),
        days,
        months,
        weekdays,
    )


def _fast_cron(fields, start: dt.datetime, zone: ZoneInfo) -> Iterator[dt.datetime]:
    """Wall-clock times after ``start`` (naive, in ``zone``), day by day, as UTC."""
    minutes, hours, days, months, weekdays = fields
    day = start.date()
    first = True
    for _ in range(366 * 30):  # a cron that never matches (30 February) ends here
        if _day_matches(day, days, months, weekdays):
            for hour in hours:
                if first and hour < start.hour:
                    continue
                for minute in minutes:
                    local = dt.datetime(day.year, day.month, day.day, hour, minute)
                    if first and local <= start:
                        continue
                    yield local.replace(tzinfo=zone).astimezone(UTC)
        first = False
        day += dt.timedelta(days=1)


def _day_matches(day: dt.date, days, months, weekdays) -> bool:
    if months is not None and day.month not in months:
        return False
    weekday = (day.weekday() + 1) % 7  # cron: 0 is Sunday
    if days is not None and weekdays is not None:  # both given: either one (cron's rule)
        return day.day in days or weekday in weekdays
    if days is not None:
        return day.day in days
    if weekdays is not None:
        return weekday in weekdays
    return True


# ---- rrule ----------------------------------------------------------------------------------


def _check_rrule(text: str, zone: ZoneInfo, anchor: dt.datetime | None) -> str:
    if not text:
        raise ScheduleError("rrule", "The RRule is empty: give one such as 'FREQ=DAILY;BYHOUR=9'.")
    try:
        rule = _rule(text, zone, anchor)
        next(iter(rule), None)
    except (ValueError, TypeError, KeyError, OverflowError) as exc:
        raise ScheduleError(
            "rrule",
            f"RRule {text!r} is not valid ({exc}): give an RFC 5545 rule such as "
            "'FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0'.",
        ) from None
    return text


def _rule(text: str, zone: ZoneInfo, anchor: dt.datetime | None):
    """The parsed rule; without a DTSTART in the text it starts at the anchor (or the default
    anchor), as wall-clock times in ``zone``."""
    from dateutil.rrule import rrulestr

    start = (anchor.astimezone(zone) if anchor else DEFAULT_ANCHOR.replace(tzinfo=zone)).replace(
        tzinfo=None
    )
    return rrulestr(text, dtstart=start, forceset=True)


def _fast_forward(rule_set, after: dt.datetime) -> None:
    """Move the start of each rule of ``rule_set`` that repeats by a fixed length (weekly down to
    secondly) and has no COUNT to a whole number of its periods before ``after``, so its times
    after ``after`` are the same but dateutil does not walk every one since its start (a
    minutely rule from 2020 is millions of steps)."""
    from dateutil.rrule import DAILY, HOURLY, MINUTELY, SECONDLY, WEEKLY

    lengths = {
        WEEKLY: dt.timedelta(weeks=1),
        DAILY: dt.timedelta(days=1),
        HOURLY: dt.timedelta(hours=1),
        MINUTELY: dt.timedelta(minutes=1),
        SECONDLY: dt.timedelta(seconds=1),
    }
    rules = getattr(rule_set, "_rrule", None)
    if not isinstance(rules, list):
        return
    for index, rule in enumerate(rules):
        try:
            if rule._count is not None or rule._freq not in lengths:
                continue
            start = rule._dtstart
            # wall-clock arithmetic, as dateutil steps
            target = after.astimezone(start.tzinfo) if start.tzinfo else after
            gap = target.replace(tzinfo=None) - start.replace(tzinfo=None)
            period = lengths[rule._freq] * rule._interval
            steps = gap // period - 2
            if steps > 0:
                rules[index] = rule.replace(dtstart=start + steps * period)
        except (AttributeError, TypeError, ValueError, OverflowError):
            continue


def _rrule_times(spec: ScheduleSpec, after: dt.datetime) -> Iterator[dt.datetime]:
    zone = _zone(spec.timezone)
    rule = _rule(spec.value, zone, spec.anchor)
    local_after = after.astimezone(zone).replace(tzinfo=None)
    first = next(iter(rule), None)
    if first is not None:
        _fast_forward(rule, local_after if first.tzinfo is None else after)
    if first is None:
        return
    if first.tzinfo is None:  # wall-clock times in the schedule's zone
        for time in rule.xafter(local_after, inc=False):
            yield time.replace(tzinfo=zone).astimezone(UTC)
    else:
        for time in rule.xafter(after, inc=False):
            yield time.astimezone(UTC)


# ---- shared ---------------------------------------------------------------------------------


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, TypeError):
        raise ScheduleError(
            "timezone",
            f"Time zone {name!r} is not known: give an IANA name such as UTC, Europe/Paris or "
            "America/New_York.",
        ) from None


def _iterate(spec: ScheduleSpec, after: dt.datetime) -> Iterator[dt.datetime]:
    if spec.kind == "interval":
        return _interval_times(spec, after)
    if spec.kind == "cron":
        return _cron_times(spec, after)
    if spec.kind == "rrule":
        return _rrule_times(spec, after)
    raise ScheduleError("kind", f"Schedule kind {spec.kind!r} is not known.")
