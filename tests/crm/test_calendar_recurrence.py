"""Recurring activities: every occurrence in the calendar views (in the activity's zone,
EXDATEs respected, capped), with a repeat icon; the list shows the series once with its rule
in words."""
import re
from datetime import date, datetime, timezone
from types import SimpleNamespace

import pytest

from portal.crm import calendar_view as cal

UTC = timezone.utc
# Mondays and Wednesdays 10:00 Berlin from 19 Oct 2026; Berlin leaves summer time on
# Sunday 25 Oct, so 10:00 local is 08:00 UTC before and 09:00 UTC after.
WEEKLY = "RRULE:FREQ=WEEKLY;BYDAY=MO,WE\nEXDATE;TZID=Europe/Berlin:20261028T100000"


def cell(html, day, hour=None):
    attr = f'data-date="{day}"' + (f' data-hour="{hour}"' if hour is not None else "")
    match = re.search(r'<td[^>]*' + re.escape(attr) + r'[^>]*>(.*?)</td>', html, re.S)
    assert match, f"no cell {attr}"
    return match.group(1)


@pytest.fixture
def berliner(make_user, login, client):
    user = make_user(time_zone="Europe/Berlin", name="Bea Berlin")
    login(client, user)
    return user


@pytest.fixture
def weekly(berliner, make_activity):
    return make_activity(berliner, subject="Team sync", time_zone="Europe/Berlin",
                         start=datetime(2026, 10, 19, 8, 0, tzinfo=UTC), recurrence=WEEKLY)


def test_weekly_series_keeps_local_time_across_dst_and_skips_exdate(client, weekly):
    html = client.get("/?view=week&date=2026-10-28").get_data(as_text=True)
    # After the change 10:00 Berlin is 09:00 UTC: still shown at 10:00 for a Berlin viewer.
    assert "Team sync" in cell(html, "2026-10-26", 10)
    assert "10:00–11:00" in cell(html, "2026-10-26", 10)
    assert "Team sync" not in cell(html, "2026-10-28", 10)  # the EXDATE
    assert "Team sync" not in cell(html, "2026-10-26", 9)
    before = client.get("/?view=week&date=2026-10-21").get_data(as_text=True)
    assert "Team sync" in cell(before, "2026-10-19", 10) and "Team sync" in cell(
        before, "2026-10-21", 10)
    later = client.get("/?view=week&date=2026-11-04").get_data(as_text=True)
    assert "Team sync" in cell(later, "2026-11-02", 10) and "Team sync" in cell(
        later, "2026-11-04", 10)


def test_occurrences_carry_a_repeat_icon_and_link_to_the_series(client, weekly):
    html = client.get("/?view=month&date=2026-11-01").get_data(as_text=True)
    monday = cell(html, "2026-11-09")
    assert "Team sync" in monday and 'data-testid="repeat-mark"' in monday
    assert f"/activities/{weekly.id}?" in monday
    # every Monday and Wednesday of the grid from 19 Oct on, minus the EXDATE
    shown = re.findall(r'data-activity-id="%d"' % weekly.id, html)
    grid_days = [d for d in cal.visible_days("month", date(2026, 11, 1))
                 if d >= date(2026, 10, 19) and d.weekday() in (0, 2)
                 and d != date(2026, 10, 28)]
    assert len(shown) == len(grid_days)


def test_a_viewer_in_another_zone_sees_the_series_at_its_moving_utc_time(
        app, make_user, login, berliner, make_activity):
    viewer = make_user(time_zone="UTC", email="utc@example.com")
    make_activity(berliner, subject="Team sync", time_zone="Europe/Berlin",
                  start=datetime(2026, 10, 19, 8, 0, tzinfo=UTC), recurrence=WEEKLY,
                  participants=[viewer])
    other = login(app.test_client(), viewer)
    html = other.get("/?view=week&date=2026-10-21").get_data(as_text=True)
    assert "Team sync" in cell(html, "2026-10-19", 8)
    html = other.get("/?view=week&date=2026-10-28").get_data(as_text=True)
    assert "Team sync" in cell(html, "2026-10-26", 9)
    assert "Team sync" not in cell(html, "2026-10-26", 8)


def test_list_shows_the_series_once_with_its_rule(client, berliner, make_activity, weekly):
    make_activity(berliner, subject="Daily check", time_zone="Europe/Berlin",
                  start=datetime(2026, 10, 19, 7, 0, tzinfo=UTC),
                  recurrence="RRULE:FREQ=DAILY;COUNT=10")
    html = client.get("/activities").get_data(as_text=True)
    assert html.count(f'data-activity-id="{weekly.id}"') == 1
    assert "Weekly on Mon, Wed (except 1 date)" in html
    assert "Daily, 10 times" in html
    # A date filter after the series began still lists it (it repeats in the range).
    html = client.get("/activities?date_from=2026-12-01&date_to=2026-12-31").get_data(
        as_text=True)
    assert "Team sync" in html


def test_detail_page_summarises_the_rule(client, weekly):
    html = client.get(f"/activities/{weekly.id}").get_data(as_text=True)
    assert re.search(r'data-testid="repeats">.*Weekly on Mon, Wed', html, re.S)


@pytest.mark.parametrize("text, summary", [
    ("RRULE:FREQ=WEEKLY;BYDAY=MO,WE", "Weekly on Mon, Wed"),
    ("RRULE:FREQ=DAILY;COUNT=10", "Daily, 10 times"),
    ("RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=FR;UNTIL=20261231T225959Z",
     "Every 2 weeks on Fri, until 31 Dec 2026"),
    ("RRULE:FREQ=MONTHLY;BYDAY=-1FR", "Monthly on the last Fri"),
    ("RRULE:FREQ=MONTHLY;BYMONTHDAY=15", "Monthly on day 15"),
    ("RRULE:FREQ=YEARLY;COUNT=1", "Yearly, 1 time"),
    ("", ""),
])
def test_rule_summaries(text, summary):
    assert cal.summarize_recurrence(text) == summary


def test_summary_gives_the_last_day_in_the_series_own_zone():
    # 23:59:59 on 4 Dec in New York is already 5 Dec in UTC
    text = "RRULE:FREQ=WEEKLY;BYDAY=FR;UNTIL=20261205T045959Z"
    assert cal.summarize_recurrence(text, "America/New_York").endswith("until 4 Dec 2026")


def series(**values):
    base = dict(id=1, subject="s", all_day=False, time_zone="UTC", start_at=None, end_at=None,
                start_date=None, end_date=None, recurrence="")
    base.update(values)
    return SimpleNamespace(**base)


def test_all_day_series_and_until_end_the_expansion():
    birthday = series(all_day=True, start_date=date(2020, 3, 1), end_date=date(2020, 3, 1),
                      recurrence="RRULE:FREQ=YEARLY;UNTIL=20300301")
    found = cal.expand_recurring([birthday], datetime(2026, 1, 1, tzinfo=UTC),
                                 datetime(2027, 1, 1, tzinfo=UTC), "UTC")
    assert [(o.start_date, o.end_date) for o in found] == [(date(2026, 3, 1), date(2026, 3, 1))]
    assert cal.expand_recurring([birthday], datetime(2031, 1, 1, tzinfo=UTC),
                                datetime(2032, 1, 1, tzinfo=UTC), "UTC") == []


def test_expansion_is_capped_and_ignores_broken_rules():
    every_minute = series(start_at=datetime(2026, 1, 1, tzinfo=UTC),
                          end_at=datetime(2026, 1, 1, 0, 1, tzinfo=UTC),
                          recurrence="RRULE:FREQ=MINUTELY")
    found = cal.expand_recurring([every_minute], datetime(2026, 1, 1, tzinfo=UTC),
                                 datetime(2026, 2, 1, tzinfo=UTC), "UTC")
    assert len(found) == cal.MAX_OCCURRENCES
    broken = series(start_at=datetime(2026, 1, 1, tzinfo=UTC),
                    end_at=datetime(2026, 1, 1, 1, tzinfo=UTC), recurrence="RRULE:FREQ=NEVER")
    assert cal.expand_recurring([broken], datetime(2026, 1, 1, tzinfo=UTC),
                                datetime(2026, 2, 1, tzinfo=UTC), "UTC") == [broken]
