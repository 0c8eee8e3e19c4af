"""The activity list: filters by type, status and dates (in the user's zone), sort, pages."""
import re
from datetime import date, datetime, timedelta, timezone

import pytest

UTC = timezone.utc


def listed(client, query=""):
    html = client.get(f"/activities{query}").get_data(as_text=True)
    return re.findall(r'class="fw-semibold text-decoration-none" href="[^"]*">([^<]+)</a>', html)


@pytest.fixture
def seeded(make_user, make_activity, login, client):
    user = make_user(time_zone="Europe/Madrid")
    make_activity(user, subject="Call Monday", type_name="Call",
                  start=datetime(2026, 11, 23, 9, tzinfo=UTC))
    make_activity(user, subject="Meeting Tuesday", type_name="Meeting",
                  start=datetime(2026, 11, 24, 9, tzinfo=UTC), status="Held")
    make_activity(user, subject="Task Wednesday", type_name="Task", all_day=True,
                  start_date=date(2026, 11, 25), end_date=date(2026, 11, 25))
    # 23:30 UTC on Wednesday is 00:30 on Thursday in Madrid.
    make_activity(user, subject="Late call", type_name="Call",
                  start=datetime(2026, 11, 25, 23, 30, tzinfo=UTC), minutes=30)
    login(client, user)
    return user


def test_list_is_sorted_by_start_both_ways(client, seeded):
    assert listed(client) == ["Call Monday", "Meeting Tuesday", "Task Wednesday", "Late call"]
    assert listed(client, "?sort=-start") == ["Late call", "Task Wednesday", "Meeting Tuesday",
                                              "Call Monday"]


def test_filter_by_type_and_status(client, seeded, activity_types):
    assert listed(client, f"?type={activity_types['Call'].id}") == ["Call Monday", "Late call"]
    assert listed(client, "?status=Held") == ["Meeting Tuesday"]
    assert listed(client, f"?type={activity_types['Call'].id}&status=Held") == []


def test_date_range_is_in_the_users_zone(client, seeded):
    assert listed(client, "?date_from=2026-11-25&date_to=2026-11-25") == ["Task Wednesday"]
    assert listed(client, "?date_from=2026-11-26") == ["Late call"]
    assert listed(client, "?date_to=2026-11-23") == ["Call Monday"]


def test_bad_filters_show_errors_and_never_crash(client, seeded):
    response = client.get("/activities?date_from=yesterday&type=abc&status=Maybe&sort=x&page=zz")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Enter a date like 2026-11-24." in html
    assert 'value="yesterday"' in html
    response = client.get("/activities?date_from=2026-11-25&date_to=2026-11-20")
    assert "The end of the range is before its start." in response.get_data(as_text=True)


def test_pagination(client, make_user, make_activity, login):
    user = make_user()
    start = datetime(2026, 11, 1, 9, tzinfo=UTC)
    for n in range(30):
        make_activity(user, subject=f"Item {n:02d}", start=start + timedelta(hours=n))
    login(client, user)
    first = listed(client)
    assert len(first) == 25 and first[0] == "Item 00"
    second = listed(client, "?page=2")
    assert second == [f"Item {n}" for n in range(25, 30)]
    html = client.get("/activities?page=2").get_data(as_text=True)
    assert "30 activities" in html
    assert listed(client, "?page=99") == []
    assert client.get("/activities?page=99999999999999999999").status_code == 200


def test_pagination_keeps_the_filters(client, make_user, make_activity, login, activity_types):
    user = make_user()
    for n in range(26):
        make_activity(user, subject=f"Call {n}", type_name="Call",
                      start=datetime(2026, 11, 1, 9, tzinfo=UTC) + timedelta(hours=n))
    login(client, user)
    html = client.get(f"/activities?type={activity_types['Call'].id}").get_data(as_text=True)
    next_page = re.search(r'href="([^"]*page=2[^"]*)"', html).group(1)
    assert f"type={activity_types['Call'].id}" in next_page


def test_hidden_from_calendar_still_listed(client, make_user, make_activity, login):
    user = make_user()
    make_activity(user, subject="Backoffice note", show_in_calendar=False)
    login(client, user)
    assert listed(client) == ["Backoffice note"]
