"""Mapping changes and reconnects (issue 9): identity outlives connections and calendar
moves. Through googlesim with the real client, RQ workers and the database."""
from datetime import date, datetime, timedelta, timezone

import pytest

from portal.crm import activities as crm
from portal.crm.models import Activity
from portal.extensions import db
from portal.google import services as google_services
from portal.google.models import CalendarMapping
from portal.sync.calendar.engine import google_event_id
from portal.sync.calendar.models import EventLink

UTC = timezone.utc
START = datetime(2031, 3, 11, 9, tzinfo=UTC)
CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar"


def gevent(summary, start=START, **extra):
    body = {"summary": summary,
            "start": {"dateTime": start.isoformat(), "timeZone": "Europe/Berlin"},
            "end": {"dateTime": (start + timedelta(hours=1)).isoformat(),
                    "timeZone": "Europe/Berlin"}}
    body.update(extra)
    return body


def live(sim, email, calendar=None):
    return [e for e in sim.events(email, calendar or email) if e.get("status") != "cancelled"]


def activities():
    return db.session.scalars(db.select(Activity).order_by(Activity.id)).all()


def reconnect(user, sim, email=None):
    from tests.conftest import CLIENT_ID

    email = email or user.email
    sim.create_account(email, time_zone="Europe/Berlin")
    tokens = sim.issue_tokens(email, CLIENT_ID, [CALENDAR_SCOPE, "openid", "email"])
    google_services.complete_connect(
        user, email=email, granted_scopes=[CALENDAR_SCOPE, "openid", "email"],
        refresh_token=tokens["refresh_token"], access_token=tokens["access_token"],
        expires_at=datetime.now(UTC) + timedelta(seconds=tokens["expires_in"]))
    db.session.commit()


def test_forget_links_then_reconnect_the_same_account_duplicates_nothing(
        connect_user, make_activity, sim, sync):
    ann, mapping = connect_user()
    made_here = make_activity(ann, subject="Made in the CRM", start=START)
    sim.insert_event(ann.email, ann.email, gevent("Made in Google", START + timedelta(days=1)))
    sync(mapping)
    assert len(activities()) == 2 and len(live(sim, ann.email)) == 2
    google_services.disconnect(ann, keep_links=False)
    db.session.commit()
    assert db.session.scalar(db.select(db.func.count(EventLink.id))) == 0
    reconnect(ann, sim)
    run = sync(db.session.get(CalendarMapping, mapping.id))
    assert run.status == "succeeded" and run.created == 0, [e.detail for e in run.entries]
    assert sorted(a.subject for a in activities()) == ["Made in Google", "Made in the CRM"]
    assert sorted(e["summary"] for e in live(sim, ann.email)) == ["Made in Google",
                                                                  "Made in the CRM"]
    assert db.session.scalar(db.select(db.func.count(EventLink.id))) == 2
    # and the next run has nothing to do
    again = sync(db.session.get(CalendarMapping, mapping.id))
    assert (again.created, again.updated, again.deleted) == (0, 0, 0)
    assert db.session.get(Activity, made_here.id) is not None


def test_a_different_google_account_starts_over_with_crm_activities_only(
        connect_user, make_activity, sim, sync):
    ann, mapping = connect_user("ann@example.com")
    make_activity(ann, subject="Made in the CRM", start=START)
    sim.insert_event(ann.email, ann.email, gevent("From the old account"))
    sync(mapping)
    google_services.disconnect(ann, keep_links=True)
    db.session.commit()
    other = "ann.private@example.org"
    reconnect(ann, sim, other)
    mapping = db.session.get(CalendarMapping, mapping.id)
    assert mapping.calendar_id is None  # the old account's calendars are not this one's
    mapping.calendar_id = other
    db.session.commit()
    run = sync(mapping)
    assert run.status == "succeeded"
    assert [e["summary"] for e in live(sim, other)] == ["Made in the CRM"]
    assert sorted(a.subject for a in activities()) == ["From the old account",
                                                      "Made in the CRM"]
    assert len(live(sim, ann.email)) == 2  # nothing deleted in the old account


def test_the_disconnect_page_says_what_a_reconnect_does(client, login, connect_user):
    ann, _ = connect_user()
    login(client, ann)
    html = client.get("/google/disconnect").get_data(as_text=True)
    assert 'data-testid="reconnect-policy"' in html
    assert "Connecting a different Google account" in html and "nothing is duplicated" in html


def _two_calendars(connect_user, sim, activity_types):
    ann, meetings = connect_user()
    calls_calendar = sim.create_calendar(ann.email, "Calls")["id"]
    calls = CalendarMapping(user_id=ann.id, activity_type_id=activity_types["Call"].id,
                            calendar_id=calls_calendar, calendar_summary="Calls",
                            export_enabled=True, import_enabled=True)
    db.session.add(calls)
    db.session.commit()
    return ann, meetings, calls


def _move_in_google(sim, user, event_id, destination):
    """events.move as the user does it in Google Calendar, through the real client."""
    from googleapiclient.discovery import build
    import google.oauth2.credentials
    import google_auth_httplib2
    import httplib2

    from tests.conftest import CLIENT_ID

    tokens = sim.issue_tokens(user.email, CLIENT_ID, [CALENDAR_SCOPE])
    http = google_auth_httplib2.AuthorizedHttp(
        google.oauth2.credentials.Credentials(tokens["access_token"]),
        http=httplib2.Http(proxy_info=None))
    service = build("calendar", "v3", http=http, static_discovery=True,
                    client_options={"api_endpoint": sim.base_url + "/calendar/v3/"})
    return service.events().move(calendarId=user.email, eventId=event_id,
                                 destination=destination).execute()


@pytest.mark.parametrize("first", ["old calendar first", "new calendar first"])
def test_an_event_moved_in_google_to_another_mapped_calendar_follows(
        connect_user, make_activity, sim, sync, activity_types, first):
    ann, meetings, calls = _two_calendars(connect_user, sim, activity_types)
    meeting = make_activity(ann, subject="Moved", start=START)
    sync(meetings)
    event_id = google_event_id(meeting.uid)
    _move_in_google(sim, ann, event_id, calls.calendar_id)
    order = (meetings, calls) if first.startswith("old") else (calls, meetings)
    for mapping in order + order:
        assert sync(mapping).status == "succeeded"
    activity = db.session.get(Activity, meeting.id)
    assert activity.activity_type_id == activity_types["Call"].id
    assert [e["id"] for e in live(sim, ann.email, calls.calendar_id)] == [event_id]
    assert live(sim, ann.email) == []
    [link] = db.session.scalars(db.select(EventLink)).all()
    assert link.mapping_id == calls.id and link.state == "active"
    assert len(activities()) == 1


def test_a_type_changed_in_the_crm_moves_the_event_to_that_types_calendar(
        connect_user, make_activity, sim, sync, activity_types):
    ann, meetings, calls = _two_calendars(connect_user, sim, activity_types)
    meeting = make_activity(ann, subject="Becomes a call", start=START)
    sync(meetings)
    event_id = google_event_id(meeting.uid)
    crm.save_activity(db.session.get(Activity, meeting.id), actor=ann,
                      activity_type_id=activity_types["Call"].id)
    db.session.commit()
    for mapping in (meetings, calls):
        assert sync(mapping).status == "succeeded"
    assert [e["id"] for e in live(sim, ann.email, calls.calendar_id)] == [event_id]
    assert live(sim, ann.email) == []
    assert sync(calls).created == 0


def test_export_off_never_writes_to_google(connect_user, make_activity, sim, sync):
    ann, mapping = connect_user(export_enabled=False)
    event = sim.insert_event(ann.email, ann.email, gevent("Imported"))
    sync(mapping)
    activity = activities()[0]
    crm.save_activity(activity, actor=ann, subject="CRM edit", location="Here")
    db.session.commit()
    sim.patch_event(ann.email, ann.email, event["id"], {"description": "Google edit"})
    sim.stats_reset()
    assert sync(mapping).status == "succeeded"
    after = sim.get_event(ann.email, ann.email, event["id"])
    assert (after["summary"], after.get("location", "")) == ("Imported", "")
    writes = {k: v for k, v in sim.stats()["requests"].items() if not k.startswith("GET")}
    assert writes == {}
    activity = db.session.get(Activity, activity.id)
    assert (activity.subject, activity.description) == ("CRM edit", "Google edit")
    make_activity(ann, subject="Never exported")
    assert sync(mapping).created == 0
    assert len(live(sim, ann.email)) == 1


def test_moving_a_type_to_another_calendar_moves_crm_events_and_never_copies_googles(
        client, login, connect_user, make_activity, sim, sync, activity_types):
    ann, mapping = connect_user()
    work = sim.create_calendar(ann.email, "Work")["id"]
    make_activity(ann, subject="From the CRM", start=START)
    sim.insert_event(ann.email, ann.email, gevent("From Google", START + timedelta(hours=3)))
    sync(mapping)
    google_services.save_mappings(ann, [google_services.MappingChoice(
        activity_type=activity_types["Meeting"], calendar_id=work,
        old_calendar_action="delete")], [{"id": work, "summary": "Work"}])
    db.session.commit()
    run = sync(db.session.get(CalendarMapping, mapping.id))
    assert run.status == "succeeded"
    assert [e["summary"] for e in live(sim, ann.email, work)] == ["From the CRM"]
    assert [e["summary"] for e in live(sim, ann.email)] == ["From Google"]  # left alone
    assert sorted(a.subject for a in activities()) == ["From Google", "From the CRM"]
    assert sync(db.session.get(CalendarMapping, mapping.id)).created == 0


def test_not_synchronized_with_delete_cleans_up_right_away(client, login, connect_user,
                                                         make_activity, sim, sync, work,
                                                         activity_types):
    from tests.google.test_mappings import _form as post_data

    ann, mapping = connect_user()
    make_activity(ann, subject="Exported", start=START)
    sync(mapping)
    assert len(live(sim, ann.email)) == 1
    login(client, ann)
    response = client.post_form("/google/sync", post_data(activity_types, {
        "Meeting": {"calendar": "", "old": "delete"}}))
    assert response.status_code == 302
    work()
    assert live(sim, ann.email) == []
    assert db.session.scalar(db.select(db.func.count(EventLink.id))) == 0


def test_synchronize_from_moved_earlier_imports_and_exports_what_is_now_inside(
        connect_user, make_activity, sim, sync):
    ann, mapping = connect_user(sync_from=date(2031, 3, 1))
    sim.insert_event(ann.email, ann.email, gevent("Old in Google", datetime(2031, 2, 10, 9,
                                                                           tzinfo=UTC)))
    make_activity(ann, subject="Old in the CRM", start=datetime(2031, 2, 11, 9, tzinfo=UTC))
    make_activity(ann, subject="Weekly since January", time_zone="Europe/Berlin",
                  start=datetime(2031, 1, 6, 9, tzinfo=UTC),
                  recurrence="RRULE:FREQ=WEEKLY;COUNT=20")
    sync(mapping)
    # the series began before the date but still recurs: it syncs; the rest waits
    assert sorted(e["summary"] for e in live(sim, ann.email)) == ["Old in Google",
                                                                 "Weekly since January"]
    assert sorted(a.subject for a in activities()) == ["Old in the CRM", "Weekly since January"]
    google_services.save_sync_settings(ann, auto_sync=False, period_minutes=60,
                                       sync_from=date(2031, 2, 1))
    db.session.commit()
    sync(db.session.get(CalendarMapping, mapping.id))
    assert sorted(e["summary"] for e in live(sim, ann.email)) == [
        "Old in Google", "Old in the CRM", "Weekly since January"]
    assert sorted(a.subject for a in activities()) == [
        "Old in Google", "Old in the CRM", "Weekly since January"]
