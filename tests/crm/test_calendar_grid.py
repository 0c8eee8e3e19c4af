"""Calendar grid helpers: pure functions, no app needed."""
from datetime import date, datetime, timedelta, timezone
from types import SimpleNamespace

import pytest

from portal.crm import calendar_view as cal

UTC = timezone.utc


def utc(*parts):
    return datetime(*parts, tzinfo=UTC)


def timed(start, end, subject="Meeting", **extra):
    return SimpleNamespace(id=id(subject), subject=subject, all_day=False, start_at=start,
                           end_at=end, start_date=None, end_date=None, **extra)


def all_day(first, last, subject="Holiday"):
    return SimpleNamespace(id=id(subject), subject=subject, all_day=True, start_at=None,
                           end_at=None, start_date=first, end_date=last)


def test_month_grid_covers_whole_weeks_from_monday_to_sunday():
    weeks = cal.month_weeks(date(2026, 11, 15))
    assert weeks[0][0] == date(2026, 10, 26)  # Monday before 1 November (a Sunday)
    assert weeks[-1][-1] == date(2026, 12, 6)
    assert all(len(w) == 7 for w in weeks)
    assert all(w[0].weekday() == 0 for w in weeks)


def test_month_grid_for_a_month_starting_on_monday_has_no_leading_days():
    weeks = cal.month_weeks(date(2027, 2, 10))  # 1 Feb 2027 is a Monday, 28 Feb a Sunday
    assert weeks[0][0] == date(2027, 2, 1)
    assert weeks[-1][-1] == date(2027, 2, 28)
    assert len(weeks) == 4


def test_month_navigation_crosses_years_and_lands_on_the_first():
    assert cal.shift("month", date(2026, 12, 31), 1) == date(2027, 1, 1)
    assert cal.shift("month", date(2026, 1, 31), -1) == date(2025, 12, 1)
    assert cal.shift("week", date(2026, 11, 26), 1) == date(2026, 11, 30)
    assert cal.shift("day", date(2026, 2, 28), 1) == date(2026, 3, 1)


def test_month_bounds_handle_leap_years():
    assert cal.month_bounds(date(2028, 2, 10)) == (date(2028, 2, 1), date(2028, 2, 29))
    assert cal.month_bounds(date(2026, 12, 5)) == (date(2026, 12, 1), date(2026, 12, 31))


@pytest.mark.parametrize("value", [None, "", "garbage", "2026-13-01", "2026-02-30", "0001-01-01",
                                   "9999-12-31", "2026-11-24T10:00' OR 1=1"])
def test_parse_day_never_raises_and_falls_back_to_the_default(value):
    fallback = date(2026, 11, 22)
    result = cal.parse_day(value, fallback)
    assert isinstance(result, date)
    if value == "2026-11-24T10:00' OR 1=1":
        assert result == date(2026, 11, 24)
    else:
        assert result == fallback


def test_unknown_view_falls_back_to_week():
    assert cal.parse_view("year") == "week"
    assert cal.parse_view("month") == "month"


def test_week_with_spring_forward_is_167_hours_in_madrid():
    # Europe/Madrid moves from +01:00 to +02:00 on Sunday 29 March 2026.
    start, end = cal.utc_range(date(2026, 3, 23), date(2026, 3, 29), "Europe/Madrid")
    assert start == utc(2026, 3, 22, 23, 0)
    assert end == utc(2026, 3, 29, 22, 0)
    assert end - start == timedelta(hours=167)


def test_week_with_fall_back_is_169_hours_in_new_york():
    start, end = cal.utc_range(date(2026, 10, 26), date(2026, 11, 1), "America/New_York")
    assert end - start == timedelta(hours=169)


def test_activities_after_the_dst_change_keep_their_local_hour():
    days = cal.visible_days("week", date(2026, 3, 25))
    before = timed(utc(2026, 3, 27, 9, 0), utc(2026, 3, 27, 10, 0),
                   "Friday at ten")  # 10:00 CET
    after = timed(utc(2026, 3, 29, 8, 0), utc(2026, 3, 29, 9, 0),
                  "Sunday at ten")  # 10:00 CEST
    cells = {c.day: c for c in cal.build_cells([before, after], days, "Europe/Madrid")}
    assert [e.hour for e in cells[date(2026, 3, 27)].timed] == [10]
    assert [e.hour for e in cells[date(2026, 3, 29)].timed] == [10]
    assert cells[date(2026, 3, 29)].timed[0].time_label == "10:00–11:00"


def test_user_zone_decides_the_day_not_utc():
    # 23:30 UTC on Saturday is 00:30 on Sunday in Madrid and 18:30 on Saturday in New York.
    late = timed(utc(2026, 11, 28, 23, 30), utc(2026, 11, 29, 0, 0))
    days = cal.visible_days("week", date(2026, 11, 25))
    madrid = {c.day: c for c in cal.build_cells([late], days, "Europe/Madrid")}
    new_york = {c.day: c for c in cal.build_cells([late], days, "America/New_York")}
    assert [e.hour for e in madrid[date(2026, 11, 29)].timed] == [0]
    assert not madrid[date(2026, 11, 28)].timed
    assert [e.hour for e in new_york[date(2026, 11, 28)].timed] == [18]


def test_all_day_end_is_inclusive():
    trip = all_day(date(2026, 11, 24), date(2026, 11, 26))
    days = cal.visible_days("week", date(2026, 11, 24))
    by_day = cal.entries_by_day([trip], days, "UTC")
    assert [d.day for d in days if by_day[d]] == [24, 25, 26]
    assert all(e.in_all_day_row for d in days for e in by_day[d])


def test_one_day_all_day_activity_sits_on_its_day_in_every_zone():
    holiday = all_day(date(2026, 12, 25), date(2026, 12, 25))
    days = cal.visible_days("week", date(2026, 12, 25))
    for zone in ("Pacific/Kiritimati", "UTC", "Pacific/Pago_Pago"):
        by_day = cal.entries_by_day([holiday], days, zone)
        assert [d for d in days if by_day[d]] == [date(2026, 12, 25)]


def test_all_day_activity_across_a_month_boundary_shows_on_both_sides():
    stay = all_day(date(2026, 11, 29), date(2026, 12, 2))
    november = cal.build_page("month", date(2026, 11, 1), [stay], "UTC", today=None)
    shown = [c.day for c in november.cells if c.entries]
    # The November grid runs to Sunday 6 December, so the whole stay is visible.
    assert shown == [date(2026, 11, 29), date(2026, 11, 30), date(2026, 12, 1), date(2026, 12, 2)]
    december = cal.build_page("month", date(2026, 12, 1), [stay], "UTC", today=None)
    assert [c.day for c in december.cells if c.entries][0] == date(2026, 11, 30)
    assert not [c for c in december.cells if c.day == date(2026, 11, 30)][0].in_month


def test_timed_activity_spanning_days_appears_on_each_day():
    conference = timed(utc(2026, 11, 24, 15, 0), utc(2026, 11, 26, 11, 0))
    days = cal.visible_days("week", date(2026, 11, 24))
    cells = {c.day: c for c in cal.build_cells([conference], days, "UTC")}
    first, middle, last = (cells[date(2026, 11, d)] for d in (24, 25, 26))
    assert first.timed[0].hour == 15 and first.timed[0].time_label == "15:00 →"
    assert middle.all_day[0].time_label == "All day (continues)"
    assert last.all_day[0].time_label == "until 11:00"
    assert not cells[date(2026, 11, 27)].entries


def test_activity_ending_at_midnight_does_not_spill_into_the_next_day():
    evening = timed(utc(2026, 11, 24, 22, 0), utc(2026, 11, 25, 0, 0))
    days = cal.visible_days("week", date(2026, 11, 24))
    by_day = cal.entries_by_day([evening], days, "UTC")
    assert [d for d in days if by_day[d]] == [date(2026, 11, 24)]


def test_hour_rows_widen_to_early_and_late_starts():
    early = timed(utc(2026, 11, 24, 5, 0), utc(2026, 11, 24, 6, 0))
    late = timed(utc(2026, 11, 24, 22, 0), utc(2026, 11, 24, 23, 0))
    cells = cal.build_cells([early, late], [date(2026, 11, 24)], "UTC")
    assert cal.hour_rows(cells) == list(range(5, 23))
    assert cal.hour_rows(cal.build_cells([], [date(2026, 11, 24)], "UTC")) == list(range(7, 20))


def test_local_dates_of_a_utc_range():
    start, end = cal.utc_range(date(2026, 11, 23), date(2026, 11, 29), "Asia/Tokyo")
    assert cal.local_dates_of_range(start, end, "Asia/Tokyo") == (date(2026, 11, 23),
                                                                  date(2026, 11, 29))


def test_week_title_across_months_and_years():
    assert cal.title_for("week", date(2026, 11, 25)) == "23 – 29 Nov 2026"
    assert cal.title_for("week", date(2026, 12, 1)) == "30 Nov – 6 Dec 2026"
    assert cal.title_for("week", date(2026, 12, 30)) == "28 Dec 2026 – 3 Jan 2027"
