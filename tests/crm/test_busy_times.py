"""Busy times on the activity form: the organizer's and participants' busy blocks from one
Google freeBusy query (googlesim, the real client), asked with the viewer's token; slow or
failing Google never stops the form from loading."""
from datetime import date, datetime, timezone

import pytest

from portal.extensions import db
from portal.google.models import STATUS_CONNECTED, GoogleConnection

DAY = date(2031, 5, 6)
FREEBUSY = "POST /calendar/v3/freeBusy"


def freebusy_calls(sim):
    return sim.stats()["requests"].get(FREEBUSY, 0)


def busy_at(sim, email, start, end):
    sim.insert_event(email, email, {"summary": "Busy",
                                    "start": {"dateTime": f"{DAY}T{start}:00+02:00"},
                                    "end": {"dateTime": f"{DAY}T{end}:00+02:00"}})


@pytest.fixture
def team(connect_user, make_user, make_activity, sim):
    """Ann (the viewer) and Bob connected to googlesim, Carl connected to an account whose
    calendar Ann may not see, Dan not connected; a meeting of Ann's with all of them."""
    ann, _ = connect_user("ann@example.com", time_zone="Europe/Berlin")
    bob, _ = connect_user("bob@example.com", time_zone="Europe/Berlin")
    carl = make_user(email="carl@example.com", name="Carl")
    dan = make_user(email="dan@example.com", name="Dan")
    # Carl's Google account is outside the sandbox's domain: Google won't show it to Ann.
    db.session.add(GoogleConnection(user_id=carl.id, google_email="carl@elsewhere.example",
                                    status=STATUS_CONNECTED, refresh_token_encrypted="x"))
    db.session.commit()
    busy_at(sim, ann.email, "09:00", "10:00")
    busy_at(sim, bob.email, "14:00", "15:30")
    busy_at(sim, bob.email, "15:00", "16:00")
    meeting = make_activity(ann, start=datetime(2031, 5, 6, 8, 0, tzinfo=timezone.utc),
                            participants=[bob, carl, dan])
    return ann, bob, carl, dan, meeting


def people_of(page):
    return {li.split(":", 1)[0]: li.split(":", 1)[1].strip()
            for li in _items(page)}


def _items(page):
    import re

    box = page.split('data-testid="busy-times"', 1)[1].split("</ul>", 1)[0]
    return [re.sub(r"<[^>]+>", "", m).strip()
            for m in re.findall(r"<li[^>]*>(.*?)</li>", box, re.S)]


def test_the_form_shows_everyones_busy_blocks_from_one_freebusy_call(team, sim, login, app):
    ann, bob, carl, dan, meeting = team
    client = login(app.test_client(), ann)
    sim.stats_reset()
    page = client.get(f"/activities/{meeting.id}/edit")
    assert page.status_code == 200
    assert freebusy_calls(sim) == 1
    people = people_of(page.get_data(as_text=True))
    assert people[ann.name] == "09:00–10:00"
    assert people[bob.name] == "14:00–16:00"          # overlapping blocks: one
    assert people["Carl"] == "not shared"
    assert people["Dan"] == "not connected to Google"


def test_the_json_refresh_follows_the_chosen_people_and_day(team, sim, login, app, make_user):
    ann, bob, carl, dan, meeting = team
    gone = make_user(email="gone@example.com", name="Gone", active=False)
    client = login(app.test_client(), ann)
    sim.stats_reset()
    answer = client.get(f"/activities/busy-times?date={DAY}&user={bob.id}&user={dan.id}"
                        f"&user={gone.id}")
    assert answer.status_code == 200 and freebusy_calls(sim) == 1
    data = answer.get_json()
    assert data["date"] == DAY.isoformat() and data["zone"] == "Europe/Berlin"
    # a user the viewer cannot pick (deactivated) is left out, not reported
    assert [(p["name"], p["state"]) for p in data["people"]] == [
        (bob.name, "busy"), ("Dan", "not_connected")]
    assert data["people"][0]["busy"] == [{"start": "14:00", "end": "16:00"}]
    other_day = client.get(f"/activities/busy-times?date=2031-05-07&user={bob.id}").get_json()
    assert other_day["people"][0]["busy"] == []
    assert other_day["people"][0]["label"] == "free all day"


@pytest.mark.parametrize("query", ["", "date=31/12/2031", "date=2031-05-06&user=abc",
                                   "date=2031-05-06&user=-1"])
def test_bad_input_is_a_clear_400(team, login, app, query):
    client = login(app.test_client(), team[0])
    answer = client.get("/activities/busy-times?" + query)
    assert answer.status_code == 400 and answer.get_json()["error"]


def test_slow_google_leaves_the_form_usable_with_busy_times_unavailable(team, sim, login,
                                                                        app):
    ann, *_, meeting = team
    client = login(app.test_client(), ann)
    app.config["BUSY_TIMES_TIMEOUT"] = 0.2
    try:
        sim.fault(path="/calendar/v3/freeBusy", delay_ms=2000)
        page = client.get(f"/activities/{meeting.id}/edit")
    finally:
        app.config["BUSY_TIMES_TIMEOUT"] = 2
    assert page.status_code == 200
    assert "Busy times unavailable" in page.get_data(as_text=True)
    assert 'name="subject"' in page.get_data(as_text=True)


def test_google_failing_or_unreachable_is_said_never_a_500(team, sim, login, app):
    ann, bob, *_ = team
    client = login(app.test_client(), ann)
    sim.fault(path="/calendar/v3/freeBusy", status=500, reason="backendError")
    answer = client.get(f"/activities/busy-times?date={DAY}&user={bob.id}")
    assert answer.status_code == 200
    assert answer.get_json()["message"].startswith("Busy times unavailable")
    previous = app.config["GOOGLE_BASE_URL"]
    app.config["GOOGLE_BASE_URL"] = "http://127.0.0.1:9"  # nothing listens there
    try:
        page = client.get("/activities/new")
    finally:
        app.config["GOOGLE_BASE_URL"] = previous
    assert page.status_code == 200 and "Busy times unavailable" in page.get_data(as_text=True)


def test_a_viewer_without_google_is_asked_to_connect_and_google_is_not_called(
        team, sim, login, app):
    *_, dan, meeting = team
    client = login(app.test_client(), dan)
    sim.stats_reset()
    page = client.get(f"/activities/busy-times?date={DAY}&user={dan.id}")
    assert page.get_json()["message"].startswith("Connect your Google account")
    assert freebusy_calls(sim) == 0


def test_without_google_set_up_the_form_shows_no_busy_times(client, make_user, login,
                                                            activity_types):
    user = make_user()
    page = login(client, user).get("/activities/new")
    assert page.status_code == 200 and 'data-testid="busy-times"' not in page.get_data(
        as_text=True)
    answer = client.get(f"/activities/busy-times?date={DAY}").get_json()
    assert answer["message"].startswith("Google sync is not set up")
