"""The calendar pages: month, week and day views in the viewer's zone, navigation, slots."""
import re
from datetime import date, datetime, timezone

import pytest

UTC = timezone.utc


def cell(html, day, hour=None):
    """The HTML of one grid cell (a day in month view, a day and hour in week/day views)."""
    attr = f'data-date="{day}"' + (f' data-hour="{hour}"' if hour is not None else "")
    match = re.search(r'<td[^>]*' + re.escape(attr) + r'[^>]*>(.*?)</td>', html, re.S)
    assert match, f"no cell {attr}"
    return match.group(1)


@pytest.fixture
def madrid_user(make_user, login, client):
    user = make_user(time_zone="Europe/Madrid", name="Mara Madrid")
    login(client, user)
    return user


@pytest.mark.parametrize("query", [
    "", "?view=month", "?view=day", "?view=year", "?start=garbage", "?date=2026-02-30",
    "?date=0001-01-01&view=month", "?date=9999-12-31&view=week", "?user=abc",
    "?view=month&date=2026-11-24%27%3B--", "?date[]=x", "?user=99999999999999999999",
    "?user=-1",
])
def test_calendar_never_fails_on_odd_parameters(client, madrid_user, query):
    assert client.get("/" + query).status_code == 200


def test_week_view_places_activities_by_local_day_and_hour(client, madrid_user, make_activity):
    # 23:30 UTC on Tuesday is 00:30 on Wednesday in Madrid.
    make_activity(madrid_user, subject="Night owl",
                  start=datetime(2026, 11, 24, 23, 30, tzinfo=UTC))
    make_activity(madrid_user, subject="Standup", start=datetime(2026, 11, 26, 8, 0, tzinfo=UTC))
    html = client.get("/?view=week&date=2026-11-25").get_data(as_text=True)
    assert "Night owl" in cell(html, "2026-11-25", 0)
    tuesday = re.findall(r'<td[^>]*data-date="2026-11-24"[^>]*>(.*?)</td>', html, re.S)
    assert tuesday and not any("Night owl" in c for c in tuesday)
    assert "09:00–10:00" in cell(html, "2026-11-26", 9) and "Standup" in cell(html, "2026-11-26", 9)
    assert "23 – 29 Nov 2026" in html


def test_all_day_items_have_their_own_row_and_span_inclusive_days(client, madrid_user,
                                                                  make_activity):
    make_activity(madrid_user, subject="Trade fair", all_day=True, start_date=date(2026, 11, 24),
                  end_date=date(2026, 11, 26))
    html = client.get("/?view=week&date=2026-11-24").get_data(as_text=True)
    rows = re.findall(r'data-date="(2026-11-2\d)" data-slot="all-day">(.*?)</td>', html, re.S)
    days_with_fair = [day for day, content in rows if "Trade fair" in content]
    assert days_with_fair == ["2026-11-24", "2026-11-25", "2026-11-26"]


def test_month_view_shows_items_and_other_month_days(client, madrid_user, make_activity):
    make_activity(madrid_user, subject="Month end", start=datetime(2026, 11, 30, 15, 0, tzinfo=UTC))
    html = client.get("/?view=month&date=2026-11-10").get_data(as_text=True)
    assert "November 2026" in html
    assert "Month end" in cell(html, "2026-11-30")
    assert re.search(r'<td class="other-month[^"]*" data-date="2026-12-06"', html)
    assert 'data-date="2026-10-26"' in html


def test_day_view_and_navigation_links(client, madrid_user):
    html = client.get("/?view=day&date=2026-11-24").get_data(as_text=True)
    assert "Tuesday 24 November 2026" in html
    assert "date=2026-11-23" in html and "date=2026-11-25" in html  # previous / next
    month = client.get("/?view=month&date=2026-12-15").get_data(as_text=True)
    assert "date=2026-11-01" in month and "date=2027-01-01" in month


def test_empty_slots_link_to_a_prefilled_new_activity(client, madrid_user):
    html = client.get("/?view=week&date=2026-11-24").get_data(as_text=True)
    slot = cell(html, "2026-11-25", 14)
    link = re.search(r'href="([^"]+)"', slot).group(1).replace("&amp;", "&")
    assert "date=2026-11-25" in link and "time=14:00" in link
    assert "New activity on Wednesday 25 November 2026 at 14:00" in slot
    form = client.get(link).get_data(as_text=True)
    assert 'value="2026-11-25"' in form and 'value="14:00"' in form and 'value="15:00"' in form


def test_held_activities_look_done(client, madrid_user, make_activity):
    make_activity(madrid_user, subject="Done deal", status="Held",
                  start=datetime(2026, 11, 24, 9, tzinfo=UTC))
    html = client.get("/?view=week&date=2026-11-24").get_data(as_text=True)
    item = re.search(r'<a class="cal-item[^"]*"[^>]*>(?:(?!</a>).)*Done deal', html, re.S).group(0)
    assert " held" in item and "Held: " in item


def test_hidden_activities_are_not_in_the_calendar(client, madrid_user, make_activity):
    make_activity(madrid_user, subject="Not on calendar", show_in_calendar=False,
                  start=datetime(2026, 11, 24, 9, tzinfo=UTC))
    html = client.get("/?view=week&date=2026-11-24").get_data(as_text=True)
    assert "Not on calendar" not in html


def test_user_selector_lists_only_allowed_calendars(client, madrid_user, make_user, make_activity):
    boss, stranger = make_user(name="Bea Boss"), make_user(name="Sid Stranger")
    make_activity(boss, subject="Team sync", participants=[madrid_user],
                  start=datetime(2026, 11, 24, 9, tzinfo=UTC))
    html = client.get("/?view=week&date=2026-11-24").get_data(as_text=True)
    selector = re.search(r'<select id="cal-owner".*?</select>', html, re.S).group(0)
    assert "Bea Boss" in selector and "Mara Madrid (me)" in selector
    assert "Sid Stranger" not in selector
    assert client.get(f"/?user={stranger.id}").status_code == 404


def test_viewing_another_calendar_prefills_new_activities_only_for_admins(
        client, make_user, login, make_activity):
    admin = make_user(role="admin", name="Ada Admin")
    other = make_user(name="Otto")
    login(client, admin)
    html = client.get(f"/?view=week&date=2026-11-24&user={other.id}").get_data(as_text=True)
    assert "Showing the calendar of" in html and "Otto" in html
    link = re.search(r'href="(/activities/new[^"]*time=10:00[^"]*)"', html).group(1)
    form = client.get(link.replace("&amp;", "&")).get_data(as_text=True)
    organizer = re.search(r'<select[^>]*id="organizer_id".*?</select>', form, re.S).group(0)
    assert re.search(rf'<option selected value="{other.id}">'
                     rf'|<option value="{other.id}" selected', organizer)


def test_dst_week_keeps_local_hours(client, madrid_user, make_activity):
    # Madrid springs forward on Sunday 29 March 2026: 10:00 is 09:00 UTC before, 08:00 after.
    make_activity(madrid_user, subject="Before", start=datetime(2026, 3, 27, 9, tzinfo=UTC))
    make_activity(madrid_user, subject="After", start=datetime(2026, 3, 29, 8, tzinfo=UTC))
    html = client.get("/?view=week&date=2026-03-26").get_data(as_text=True)
    assert "Before" in cell(html, "2026-03-27", 10)
    assert "After" in cell(html, "2026-03-29", 10)


def test_activity_badges_macro_renders_nothing_yet(app):
    from flask import render_template_string

    with app.test_request_context():
        html = render_template_string(
            "{% from 'crm/_macros.html' import activity_badges %}[{{ activity_badges(a) }}]",
            a=object())
    assert html == "[]"


def test_a_full_month_cell_draws_three_in_order_and_links_the_rest(client, madrid_user,
                                                                    make_activity):
    # Five on Thursday 26 November (Madrid is UTC+1), made out of order; a two-day trip
    # starting the day before sits in the all-day row, so it comes first.
    for hour, subject in [(15, "Fifth"), (9, "Second"), (13, "Fourth"), (11, "Third"),
                          (8, "First")]:
        make_activity(madrid_user, subject=subject,
                      start=datetime(2026, 11, 26, hour - 1, tzinfo=UTC))
    make_activity(madrid_user, subject="Trip", start=datetime(2026, 11, 25, 17, tzinfo=UTC),
                  minutes=24 * 60)
    html = client.get("/?view=month&date=2026-11-15").get_data(as_text=True)
    thursday = cell(html, "2026-11-26")
    drawn = re.findall(r'<span class="cal-subject">([^<]+)</span>', thursday)
    assert drawn == ["Trip", "First", "Second"]
    assert "+3 more" in thursday and "26 November 2026, 6 activities" in thursday
    more = re.search(r'href="([^"]+)">\+3 more', thursday).group(1)
    assert more == "/?view=day&amp;date=2026-11-26"
    day = client.get(more.replace("&amp;", "&")).get_data(as_text=True)
    assert all(s in day for s in ("First", "Second", "Third", "Fourth", "Fifth", "Trip"))


def test_a_calendar_holds_what_its_owner_organizes_or_joins_and_nothing_else(
        client, madrid_user, make_user, make_activity):
    boss, other = make_user(name="Bea Boss"), make_user(name="Olga Other")
    at = datetime(2026, 11, 24, 9, tzinfo=UTC)
    make_activity(madrid_user, subject="Mine alone", start=at)
    make_activity(boss, subject="Boss invited me", participants=[madrid_user], start=at)
    make_activity(madrid_user, subject="I invited Olga", participants=[other, boss], start=at)
    make_activity(madrid_user, subject="On my own list", participants=[madrid_user], start=at)
    make_activity(boss, subject="Boss and Olga only", participants=[other], start=at)
    make_activity(other, subject="Olga alone", start=at)
    for view in ("week", "day"):
        html = client.get(f"/?view={view}&date=2026-11-24").get_data(as_text=True)
        assert "Mine alone" in html and "Boss invited me" in html and "I invited Olga" in html
        assert "Boss and Olga only" not in html and "Olga alone" not in html
        # Once per layout drawn (the week has a small-screen list too), not per person on it.
        once = html.count('title="10:00–11:00 · Mine alone"')
        assert html.count('title="10:00–11:00 · I invited Olga"') == once
        assert html.count('title="10:00–11:00 · On my own list"') == once
    # The month draws three a day and counts them all: four, each once.
    html = client.get("/?view=month&date=2026-11-24").get_data(as_text=True)
    assert "Tuesday 24 November 2026, 4 activities" in html
    assert "Boss and Olga only" not in html and "Olga alone" not in html


def test_calendar_items_escape_what_users_typed(client, madrid_user, make_activity):
    make_activity(madrid_user, subject='<img src=x onerror="alert(1)"> & co', status="Held",
                  location='Room "A" <b>', start=datetime(2026, 11, 24, 9, tzinfo=UTC),
                  conference_url="https://meet.google.com/abc-defg-hij",
                  conference_name="Meet <i>")
    for view in ("month", "week", "day"):
        html = client.get(f"/?view={view}&date=2026-11-24").get_data(as_text=True)
        item = re.search(r'<a class="cal-item[^"]*".*?</a>', html, re.S).group(0)
        assert "<img" not in item and "<b>" not in item and "<i>" not in item
        assert ('title="10:00–11:00 · &lt;img src=x onerror=&#34;alert(1)&#34;&gt; &amp; co'
                ' · Room &#34;A&#34; &lt;b&gt; · Meet &lt;i&gt;: '
                'https://meet.google.com/abc-defg-hij"') in item
        assert ('<span class="cal-subject">&lt;img src=x onerror=&#34;alert(1)&#34;&gt; '
                '&amp; co</span>') in item
        assert 'Held: </span>' in item and 'data-testid="conference-mark"' in item


@pytest.mark.parametrize("view", ["month", "week", "day"])
def test_a_calendar_page_costs_the_same_queries_for_2_or_40_activities(
        client, madrid_user, make_user, make_activity, view):
    from sqlalchemy import event as sa_event

    from portal.extensions import db

    guest = make_user(name="Gus Guest")

    def statements():
        seen = []

        def count(*_):
            seen.append(1)

        sa_event.listen(db.engine, "before_cursor_execute", count)
        try:
            assert client.get(f"/?view={view}&date=2026-11-24").status_code == 200
        finally:
            sa_event.remove(db.engine, "before_cursor_execute", count)
        return len(seen)

    def add(n):
        for i in range(n):
            make_activity(madrid_user, subject=f"Item {i}", participants=[guest],
                          start=datetime(2026, 11, 24, 8 + i % 10, tzinfo=UTC),
                          status="Held" if i % 3 == 0 else "Planned",
                          recurrence="RRULE:FREQ=DAILY;COUNT=2" if i % 5 == 0 else "")

    add(2)
    few = statements()
    add(38)
    assert statements() == few
