"""*Add into CRM*: with Import off, the calendar can show the mapped Google calendar's events
(fetched live for the visible range) and turn one into a CRM-owned, linked activity.
Through googlesim with the real client; exports run on a real RQ worker."""
import re
from datetime import datetime, timedelta, timezone

import pytest

from portal.crm.models import Activity
from portal.extensions import db
from portal.sync.calendar.models import OWNER_CRM, EventLink

UTC = timezone.utc
START = datetime(2031, 3, 11, 9, tzinfo=UTC)  # Tuesday of the week of 10 March 2031
WEEK = "/?view=week&date=2031-03-11"


def gevent(summary, start=START, **extra):
    body = {"summary": summary, "location": "Room 4",
            "start": {"dateTime": start.isoformat(), "timeZone": "Europe/Berlin"},
            "end": {"dateTime": (start + timedelta(hours=1)).isoformat(),
                    "timeZone": "Europe/Berlin"}}
    body.update(extra)
    return body


def google_items(html):
    """{event_id: item html} of the Google events offered on a calendar page."""
    return {m.group(1): m.group(0) for m in re.finditer(
        r'<div class="cal-item google-event[^"]*" data-testid="google-event" '
        r'data-event-id="([^"]+)".*?</form>\s*</div>', html, re.S)}


def live_events(sim, email):
    return [e for e in sim.events(email, email) if e.get("status") != "cancelled"]


@pytest.fixture
def ann(connect_user, client, login):
    user, mapping = connect_user(import_enabled=False)
    login(client, user)
    return user, mapping


def add(client, mapping, event_id, page=WEEK + "&google=1"):
    return client.post_form("/sync/add-into-crm", {"mapping_id": mapping.id,
                                                   "event_id": event_id, "next": page},
                            page=page)


def test_google_events_show_only_when_asked(client, ann, sim):
    user, mapping = ann
    event = sim.insert_event(user.email, user.email, gevent("Lunch with Lea"))
    html = client.get(WEEK).get_data(as_text=True)
    assert 'data-testid="google-toggle"' in html and "Show Google events" in html
    assert google_items(html) == {}
    html = client.get(WEEK + "&google=1").get_data(as_text=True)
    items = google_items(html)
    assert list(items) == [event["id"]]
    assert "Lunch with Lea" in items[event["id"]] and "Add into CRM" in items[event["id"]]
    # Berlin user: 09:00 UTC is 10:00 local, in the Tuesday 10:00 slot; navigation keeps
    # the toggle on.
    assert re.search(r'data-date="2031-03-11" data-hour="10">\s*<div class="cal-item google-event',
                     html)
    next_week = re.search(r'href="([^"]+)"[^>]*data-testid="cal-next"', html).group(1)
    assert "google=1" in next_week
    # The day and the month offer it too (the month in its day's cell).
    for view in ("day", "month"):
        html = client.get(f"/?view={view}&date=2031-03-11&google=1").get_data(as_text=True)
        assert list(google_items(html)) == [event["id"]], view
    cell = re.search(r'<td[^>]*data-date="2031-03-11"[^>]*>(.*?)</td>', html, re.S).group(1)
    assert "Lunch with Lea" in cell and "Add into CRM" in cell


def test_no_toggle_when_every_calendar_is_imported(client, connect_user, login, sim):
    user, _ = connect_user(import_enabled=True)
    login(client, user)
    sim.insert_event(user.email, user.email, gevent("Imported anyway"))
    html = client.get(WEEK + "&google=1").get_data(as_text=True)
    assert 'data-testid="google-toggle"' not in html and google_items(html) == {}


def test_add_into_crm_creates_a_linked_crm_owned_activity_then_export_patches_it(
        client, ann, sim, sync):
    user, mapping = ann
    event = sim.insert_event(user.email, user.email, gevent("Lunch with Lea"))
    response = add(client, mapping, event["id"])
    assert response.status_code == 302 and "google=1" in response.location
    page = client.get(response.location).get_data(as_text=True)
    assert "was added into the CRM" in page
    [activity] = db.session.scalars(db.select(Activity)).all()
    assert (activity.subject, activity.location) == ("Lunch with Lea", "Room 4")
    assert activity.start_at == START and activity.end_at == START + timedelta(hours=1)
    assert activity.organizer_id == user.id
    assert activity.activity_type_id == mapping.activity_type_id
    [link] = db.session.scalars(db.select(EventLink)).all()
    assert (link.event_id, link.owner, link.activity_id) == (event["id"], OWNER_CRM, activity.id)
    # It is a CRM activity now: editable, on the calendar, no longer offered from Google.
    assert f'data-activity-id="{activity.id}"' in page and google_items(page) == {}
    assert client.get(f"/activities/{activity.id}/edit").status_code == 200

    # CRM is master: an edit in the CRM reaches the very same Google event.
    client.post_form(f"/activities/{activity.id}/edit", {
        "subject": "Lunch with Lea and Tom", "activity_type_id": mapping.activity_type_id,
        "status": "Planned", "priority": "Medium", "visibility": "default",
        "start_date": "2031-03-11", "start_time": "10:00", "end_date": "2031-03-11",
        "end_time": "11:00", "organizer_id": user.id, "show_in_calendar": "y",
        "location": "Room 4", "version": str(activity.version)})
    run = sync(mapping, "export")
    assert run.status == "succeeded", run.message
    events = live_events(sim, user.email)
    assert [e["id"] for e in events] == [event["id"]]
    assert events[0]["summary"] == "Lunch with Lea and Tom"


def test_first_export_after_adding_changes_nothing_and_never_duplicates(client, ann, sim, sync):
    """Nothing was edited: Google's copy (default reminders, colour...) stays as it was."""
    user, mapping = ann
    event = sim.insert_event(user.email, user.email, gevent(
        "Board call", colorId="5", reminders={"useDefault": True}))
    add(client, mapping, event["id"])
    run = sync(mapping, "export")
    assert run.status == "succeeded" and run.created == 0
    [only] = live_events(sim, user.email)
    assert only["id"] == event["id"] and only["etag"] == event["etag"]
    assert only["reminders"] == {"useDefault": True} and only["colorId"] == "5"


def test_attendees_become_participants_and_keep_their_answers_after_the_export(
        client, ann, sim, sync, make_user):
    user, mapping = ann
    bob = make_user(email="bob@example.com", name="Bob")
    event = sim.insert_event(user.email, user.email, gevent("Planning", attendees=[
        {"email": "bob@example.com", "responseStatus": "accepted"},
        {"email": "guest@outside.org", "responseStatus": "tentative"}]))
    add(client, mapping, event["id"])
    [activity] = db.session.scalars(db.select(Activity)).all()
    assert [p.id for p in activity.participants] == [bob.id]
    run = sync(mapping, "export")
    assert run.status == "succeeded" and run.errors == 0
    answers = {a["email"]: a["responseStatus"]
               for a in sim.get_event(user.email, user.email, event["id"])["attendees"]}
    assert answers["bob@example.com"] == "accepted"
    assert answers["guest@outside.org"] == "tentative"


def test_linked_and_exported_events_are_not_offered_and_cannot_be_added_twice(
        client, ann, sim, sync, make_activity):
    user, mapping = ann
    first = sim.insert_event(user.email, user.email, gevent("Added once"))
    other = sim.insert_event(user.email, user.email, gevent("Still in Google only",
                                                            START + timedelta(hours=2)))
    make_activity(user, subject="Made in the CRM", start=START + timedelta(hours=4))
    sync(mapping, "export")  # the CRM activity is now an event in the same calendar
    add(client, mapping, first["id"])
    html = client.get(WEEK + "&google=1").get_data(as_text=True)
    assert list(google_items(html)) == [other["id"]]
    again = add(client, mapping, first["id"])
    assert "already in the CRM" in client.get(again.location).get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Activity)) == 2


def test_an_occurrence_adds_the_whole_series_once(client, ann, sim):
    user, mapping = ann
    series = sim.insert_event(user.email, user.email, gevent(
        "Weekly sync", START - timedelta(days=14),
        recurrence=["RRULE:FREQ=WEEKLY;COUNT=6"]))
    html = client.get(WEEK + "&google=1").get_data(as_text=True)
    [instance_id] = google_items(html)
    assert instance_id != series["id"]
    add(client, mapping, instance_id)
    [activity] = db.session.scalars(db.select(Activity)).all()
    assert activity.recurrence == "RRULE:FREQ=WEEKLY;COUNT=6"
    assert activity.start_at == START - timedelta(days=14)
    assert db.session.scalars(db.select(EventLink.event_id)).all() == [series["id"]]
    html = client.get(WEEK + "&google=1").get_data(as_text=True)
    assert google_items(html) == {} and f'data-activity-id="{activity.id}"' in html


@pytest.mark.parametrize("fault, message", [
    ({"status": 429, "reason": "rateLimitExceeded"}, "rate limit"),
    ({"status": 503, "reason": "backendError"}, "could not be reached"),
    ({"drop": True, "count": 5}, "could not be reached"),  # httplib2 retries a drop once
])
def test_google_errors_show_a_notice_and_the_crm_calendar_still_renders(
        client, ann, sim, make_activity, fault, message):
    user, mapping = ann
    sim.insert_event(user.email, user.email, gevent("Hidden by the outage"))
    make_activity(user, subject="CRM stand-up", start=START + timedelta(hours=1))
    sim.fault(method="GET", path="/calendar/v3/calendars/", **fault)
    response = client.get(WEEK + "&google=1")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    notice = re.search(r'data-testid="google-notice">(.*?)</div>', html, re.S).group(1)
    assert message in notice
    assert "CRM stand-up" in html and google_items(html) == {}


def test_revoked_access_asks_to_reconnect_without_a_500(client, ann, sim):
    user, mapping = ann
    sim.revoke_grants(user.email)
    sim.expire(access_tokens=True)
    response = client.get(WEEK + "&google=1")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "reconnect your Google account" in html
    from portal.google import services as google_services
    db.session.expire_all()
    assert not google_services.connection_usable(user)
    # Next time: not connected any more; still a notice, still no 500.
    html = client.get(WEEK + "&google=1").get_data(as_text=True)
    assert 'data-testid="google-notice"' in html


def test_add_into_crm_refuses_bad_requests_clearly(client, ann, sim, connect_user, make_user,
                                                   login):
    user, mapping = ann
    event = sim.insert_event(user.email, user.email, gevent("Real event"))
    response = add(client, mapping, "not an id!")
    assert "not a Google event id" in client.get(response.location).get_data(as_text=True)
    response = add(client, mapping, "abcdefgh0123")
    assert "no longer exists" in client.get(response.location).get_data(as_text=True)
    # Without the CSRF token: refused.
    assert client.post("/sync/add-into-crm", data={"mapping_id": mapping.id,
                                                   "event_id": event["id"]}).status_code == 400
    # Someone else's mapping: not found.
    bob, bobs_mapping = connect_user("bob@example.com", import_enabled=False)
    assert add(client, bobs_mapping, event["id"]).status_code == 404
    assert add(client, type(mapping)(id=2**40), event["id"]).status_code == 404
    assert db.session.scalar(db.select(db.func.count()).select_from(Activity)) == 0


def test_a_calendar_with_import_on_refuses_add_into_crm(client, connect_user, login, sim):
    user, mapping = connect_user(import_enabled=True)
    login(client, user)
    event = sim.insert_event(user.email, user.email, gevent("Imported by the sync"))
    response = add(client, mapping, event["id"], page=WEEK)
    assert "imported automatically" in client.get(response.location).get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count()).select_from(Activity)) == 0
