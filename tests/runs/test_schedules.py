"""Schedules: what is accepted, the error for each field, and the times each kind gives."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from runs.schedules import ScheduleError, ScheduleSpec, describe, next_times, parse_schedule

UTC = dt.UTC
PARIS = ZoneInfo("Europe/Paris")


def _times(spec, after, count=5, until=None):
    return next_times(spec, after=after, until=until, limit=count)


def _utc(*args):
    return dt.datetime(*args, tzinfo=UTC)


# ---- parsing ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("90", "90"),
        ("1.5", "1.5"),
        (" 300 ", "300"),
        ("1h30m", "5400"),
        ("2d", "172800"),
        ("45s", "45"),
        ("PT1H30M", "5400"),
        ("P1D", "86400"),
        ("01:30:00", "5400"),
        ("00:05", "300"),
    ],
)
def test_an_interval_is_stored_as_seconds(text, seconds):
    assert parse_schedule("interval", text).value == seconds


@pytest.mark.parametrize("text", ["0", "-5", "abc", "", "nan", "inf", "PT", "5 parsecs"])
def test_a_bad_interval_names_the_interval_field(text):
    with pytest.raises(ScheduleError) as caught:
        parse_schedule("interval", text)
    assert caught.value.field == "interval"
    assert "interval" in str(caught.value).lower()


@pytest.mark.parametrize("text", ["61 * * * *", "* * *", "", "every day", "* * 32 * *"])
def test_a_bad_cron_names_the_cron_field_and_shows_an_example(text):
    with pytest.raises(ScheduleError) as caught:
        parse_schedule("cron", text)
    assert caught.value.field == "cron"
    assert "*/5 * * * *" in str(caught.value)


@pytest.mark.parametrize("text", ["FREQ=NOPE", "", "BYHOUR=9", "FREQ=DAILY;BYHOUR=99"])
def test_a_bad_rrule_names_the_rrule_field(text):
    with pytest.raises(ScheduleError) as caught:
        parse_schedule("rrule", text)
    assert caught.value.field == "rrule"


def test_an_unknown_time_zone_names_the_timezone_field():
    with pytest.raises(ScheduleError) as caught:
        parse_schedule("cron", "0 9 * * *", timezone="Mars/Olympus")
    assert caught.value.field == "timezone"
    assert "Mars/Olympus" in str(caught.value)
    assert "Europe/Paris" in str(caught.value)  # an example of a good one


def test_an_unknown_kind_names_the_kind_field():
    with pytest.raises(ScheduleError) as caught:
        parse_schedule("weekly", "1")
    assert caught.value.field == "kind"


def test_an_anchor_that_is_not_a_datetime_names_the_anchor_field():
    with pytest.raises(ScheduleError) as caught:
        parse_schedule("interval", "60", anchor=20260101)
    assert caught.value.field == "anchor"


def test_an_anchor_may_be_iso_text():
    spec = parse_schedule("interval", "60", timezone="Europe/Paris", anchor="2026-07-01T09:00:00")
    assert spec.anchor == dt.datetime(2026, 7, 1, 7, tzinfo=UTC)
    assert parse_schedule("interval", "60", anchor="2026-07-01T09:00:00Z").anchor == _utc(
        2026, 7, 1, 9
    )
    with pytest.raises(ScheduleError) as caught:
        parse_schedule("interval", "60", anchor="next tuesday")
    assert caught.value.field == "anchor" and "ISO 8601" in str(caught.value)


def test_a_naive_anchor_is_read_in_the_schedules_time_zone():
    spec = parse_schedule(
        "interval", "3600", timezone="Europe/Paris", anchor=dt.datetime(2026, 1, 1, 9)
    )
    assert spec.anchor == dt.datetime(2026, 1, 1, 8, tzinfo=UTC)


def test_a_schedule_error_is_a_value_error():
    assert issubclass(ScheduleError, ValueError)


# ---- times --------------------------------------------------------------------------------------


def test_times_are_strictly_after_and_at_most_until_and_limit():
    spec = parse_schedule("cron", "*/5 * * * *")
    start = _utc(2026, 1, 1, 10, 0)
    times = next_times(spec, after=start, until=_utc(2026, 1, 1, 10, 20), limit=10)
    assert times == [_utc(2026, 1, 1, 10, m) for m in (5, 10, 15, 20)]
    assert _times(spec, start, count=2) == [_utc(2026, 1, 1, 10, 5), _utc(2026, 1, 1, 10, 10)]
    assert next_times(spec, after=start, until=start, limit=10) == []
    assert next_times(spec, after=start, until=None, limit=0) == []


def test_times_are_aware_utc():
    for spec in (
        parse_schedule("cron", "0 9 * * *", timezone="Europe/Paris"),
        parse_schedule("interval", "60", timezone="Asia/Tokyo"),
        parse_schedule("rrule", "FREQ=HOURLY", timezone="America/New_York"),
    ):
        for time in _times(spec, _utc(2026, 6, 1)):
            assert time.utcoffset() == dt.timedelta(0)


def test_naive_times_are_refused():
    spec = parse_schedule("interval", "60")
    with pytest.raises(ValueError):
        next_times(spec, after=dt.datetime(2026, 1, 1), until=None, limit=1)


def test_a_cron_on_weekdays_skips_the_weekend():
    spec = parse_schedule("cron", "0 9 * * 1-5")
    friday = _utc(2026, 1, 2, 10)  # a Friday, after 09:00
    assert _times(spec, friday, count=2) == [_utc(2026, 1, 5, 9), _utc(2026, 1, 6, 9)]


def test_a_cron_with_both_day_fields_matches_either_as_cron_does():
    spec = parse_schedule("cron", "0 0 13 * 5")  # the 13th, and every Friday
    times = _times(spec, _utc(2026, 2, 1), count=4)
    assert [t.day for t in times] == [6, 13, 20, 27]


def test_cron_special_forms_go_through_croniter():
    spec = parse_schedule("cron", "0 0 L * *")  # the last day of the month
    assert _times(spec, _utc(2026, 1, 15), count=2) == [_utc(2026, 1, 31), _utc(2026, 2, 28)]
    assert _times(parse_schedule("cron", "@hourly"), _utc(2026, 1, 1, 0, 30), count=1) == [
        _utc(2026, 1, 1, 1)
    ]


def test_a_cron_keeps_its_wall_clock_time_across_daylight_saving_changes():
    spec = parse_schedule("cron", "0 9 * * *", timezone="Europe/Paris")
    times = _times(spec, _utc(2026, 3, 27), count=3)  # Paris moves to summer time on 29 March
    assert [t.astimezone(PARIS).hour for t in times] == [9, 9, 9]
    assert [t.hour for t in times] == [8, 8, 7]  # 27 and 28 March in winter time, then summer


def test_an_hourly_cron_runs_once_per_wall_clock_hour_when_clocks_go_back():
    spec = parse_schedule("cron", "30 * * * *", timezone="Europe/Paris")
    # 25 October 2026: 03:00 summer time becomes 02:00 winter time; 02:30 happens twice
    times = _times(spec, _utc(2026, 10, 24, 22), count=5)
    assert len(set(times)) == 5 and times == sorted(times)
    local = [t.astimezone(PARIS).strftime("%H:%M") for t in times]
    assert local.count("02:30") == 1


def test_a_cron_time_skipped_by_the_clocks_going_forward_still_runs_once():
    spec = parse_schedule("cron", "30 2 * * *", timezone="Europe/Paris")  # 02:30 never happens
    times = _times(spec, _utc(2026, 3, 27), count=3)  # on 29 March
    assert [t.astimezone(PARIS).strftime("%d %H:%M") for t in times] == [
        "27 02:30",
        "28 02:30",
        "29 03:30",
    ]


def test_an_interval_counts_from_its_anchor():
    spec = parse_schedule("interval", "600", anchor=_utc(2026, 1, 1, 0, 3))
    assert _times(spec, _utc(2026, 1, 1, 1, 0), count=2) == [
        _utc(2026, 1, 1, 1, 3),
        _utc(2026, 1, 1, 1, 13),
    ]


def test_an_interval_before_its_anchor_starts_at_the_anchor():
    spec = parse_schedule("interval", "60", anchor=_utc(2027, 1, 1))
    assert _times(spec, _utc(2026, 1, 1), count=1) == [_utc(2027, 1, 1)]


def test_an_interval_without_anchor_is_aligned_on_the_default_anchor():
    spec = parse_schedule("interval", "3600")
    assert _times(spec, _utc(2026, 5, 5, 10, 20), count=1) == [_utc(2026, 5, 5, 11)]


def test_a_fractional_interval():
    spec = parse_schedule("interval", "0.5", anchor=_utc(2026, 1, 1))
    assert _times(spec, _utc(2026, 1, 1), count=3) == [
        _utc(2026, 1, 1, 0, 0, 0, 500000),
        _utc(2026, 1, 1, 0, 0, 1),
        _utc(2026, 1, 1, 0, 0, 1, 500000),
    ]


def test_a_daily_interval_keeps_the_anchors_wall_clock_time_across_dst():
    spec = parse_schedule(
        "interval", "1d", timezone="Europe/Paris", anchor=dt.datetime(2026, 3, 1, 9)
    )
    times = _times(spec, _utc(2026, 3, 27), count=4)
    assert [t.astimezone(PARIS).hour for t in times] == [9, 9, 9, 9]


def test_an_hourly_interval_is_a_fixed_number_of_seconds_across_dst():
    spec = parse_schedule("interval", "3600", timezone="Europe/Paris")
    times = _times(spec, _utc(2026, 3, 28, 23), count=4)
    assert all(b - a == dt.timedelta(hours=1) for a, b in zip(times, times[1:], strict=False))


def test_an_rrule_is_read_in_the_schedules_time_zone():
    spec = parse_schedule(
        "rrule", "FREQ=WEEKLY;BYDAY=MO,WE;BYHOUR=9;BYMINUTE=0;BYSECOND=0", timezone="Europe/Paris"
    )
    times = _times(spec, _utc(2026, 3, 26), count=3)  # Thursday, before the DST change
    assert [t.astimezone(PARIS).strftime("%a %H:%M") for t in times] == [
        "Mon 09:00",
        "Wed 09:00",
        "Mon 09:00",
    ]
    assert times[0] == _utc(2026, 3, 30, 7)  # summer time


def test_an_rrule_with_its_own_dtstart_and_count_ends():
    spec = parse_schedule("rrule", "DTSTART:20260101T120000Z\nRRULE:FREQ=DAILY;COUNT=3")
    assert _times(spec, _utc(2025, 1, 1), count=10) == [
        _utc(2026, 1, 1, 12),
        _utc(2026, 1, 2, 12),
        _utc(2026, 1, 3, 12),
    ]
    assert _times(spec, _utc(2027, 1, 1)) == []


def test_an_rrule_starts_at_the_anchor_when_it_has_no_dtstart():
    spec = parse_schedule("rrule", "FREQ=DAILY;INTERVAL=2", anchor=_utc(2026, 1, 1, 6))
    assert _times(spec, _utc(2026, 1, 4), count=2) == [_utc(2026, 1, 5, 6), _utc(2026, 1, 7, 6)]


# ---- describe ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "value", "zone", "text"),
    [
        ("interval", "300", "UTC", "every 5 minutes"),
        ("interval", "60", "UTC", "every minute"),
        ("interval", "5400", "UTC", "every 1 hour 30 minutes"),
        ("interval", "1.5", "UTC", "every 1.5 seconds"),
        ("interval", "86400", "Europe/Paris", "every day (Europe/Paris)"),
        ("cron", "0 9 * * 1-5", "Europe/Paris", "cron '0 9 * * 1-5' (Europe/Paris)"),
        ("rrule", "FREQ=DAILY", "UTC", "rrule 'FREQ=DAILY' (UTC)"),
    ],
)
def test_describe_says_it_in_words(kind, value, zone, text):
    assert describe(parse_schedule(kind, value, timezone=zone)) == text


def test_a_spec_is_a_frozen_value():
    spec = parse_schedule("cron", "* * * * *")
    assert spec == ScheduleSpec("cron", "* * * * *", "UTC", None)
    with pytest.raises(AttributeError):
        spec.value = "x"  # type: ignore[misc]


@pytest.mark.parametrize(
    "text",
    [
        "FREQ=MINUTELY;INTERVAL=7",
        "FREQ=HOURLY;INTERVAL=5;BYMINUTE=15",
        "FREQ=DAILY;INTERVAL=3;BYHOUR=9,17",
        "FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,FR;BYHOUR=8",
        "FREQ=SECONDLY;INTERVAL=97",
    ],
)
def test_an_rrule_from_long_ago_gives_the_times_dateutil_gives_without_walking_them(text):
    from dateutil.rrule import rrulestr

    anchor = dt.datetime(2026, 2, 1, 0, 0, 7)  # wall-clock, Europe/Paris
    spec = parse_schedule("rrule", text, timezone="Europe/Paris", anchor=anchor)
    after = _utc(2026, 3, 28, 22, 3)  # across the change to summer time
    expected = [
        t.replace(tzinfo=PARIS).astimezone(UTC)
        for t in rrulestr(text, dtstart=anchor).xafter(
            after.astimezone(PARIS).replace(tzinfo=None), count=6, inc=False
        )
    ]
    assert _times(spec, after, count=6) == expected


def test_a_minutely_rrule_without_anchor_is_quick():
    import time

    spec = parse_schedule("rrule", "FREQ=MINUTELY")  # from the default anchor, 2020
    started = time.perf_counter()
    assert len(_times(spec, _utc(2030, 1, 1), count=100)) == 100
    assert time.perf_counter() - started < 0.5
