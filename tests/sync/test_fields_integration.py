"""Every mapped field, CRM -> Google -> a Google edit of each field -> CRM, through googlesim
with the real client, RQ and Redis."""
from datetime import date, datetime, timedelta, timezone

from portal.crm import activities as crm
from portal.crm.models import Activity, Contact, ContactEmail
from portal.extensions import db
from portal.sync.calendar.engine import google_event_id
from portal.sync.calendar.models import ExternalAttendee

UTC = timezone.utc
SUBJECT = "Réunion 会议 📅 Встреча"
DESCRIPTION = "Agenda:\n1. مرحبا بالعالم\n2. 👩🏽‍💻 code review\n3. Zero\u200bwidth"


def test_every_mapped_field_goes_to_google_and_comes_back(connect_user, make_activity,
                                                          make_user, sim, sync):
    ann, mapping = connect_user()
    bob = make_user(email="bob@example.com", name="Bob")
    dana = Contact(owner_id=ann.id, first_name="Dana", last_name="Client")
    dana.emails.append(ContactEmail(email="dana@clients.example"))
    db.session.add(dana)
    db.session.commit()
    start = datetime(2031, 5, 6, 8, 0, tzinfo=UTC)
    meeting = make_activity(ann, subject=SUBJECT, description=DESCRIPTION, location="Zürich HB",
                            start=start, minutes=90, time_zone="America/New_York",
                            participants=[bob], invitees=[dana], reminder_minutes=10,
                            visibility="private", recurrence="RRULE:FREQ=WEEKLY;COUNT=3")
    run = sync(mapping)
    assert run.created == 1 and run.errors == 0
    event_id = google_event_id(meeting.uid)

    event = sim.get_event(ann.email, ann.email, event_id)
    assert (event["summary"], event["description"], event["location"]) == (
        SUBJECT, DESCRIPTION, "Zürich HB")
    assert event["status"] == "confirmed"
    assert event["start"] == {"dateTime": "2031-05-06T04:00:00-04:00",
                              "timeZone": "America/New_York"}
    assert event["end"] == {"dateTime": "2031-05-06T05:30:00-04:00",
                            "timeZone": "America/New_York"}
    assert [a["email"] for a in event["attendees"]] == ["bob@example.com",
                                                        "dana@clients.example"]
    assert event["organizer"]["email"] == ann.email
    assert event["reminders"] == {"useDefault": False,
                                  "overrides": [{"method": "popup", "minutes": 10}]}
    assert event["visibility"] == "private"
    assert event["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=3"]

    # Google: each field edited
    tokyo_start = datetime(2031, 5, 7, 1, 0, tzinfo=UTC)
    sim.patch_event(ann.email, ann.email, event_id, {
        "summary": "Обзор 🚀 レビュー", "description": "نص جديد\nnew text ✨",
        "location": "東京駅",
        "start": {"dateTime": "2031-05-07T10:00:00+09:00", "timeZone": "Asia/Tokyo"},
        "end": {"dateTime": "2031-05-07T12:00:00+09:00", "timeZone": "Asia/Tokyo"},
        "attendees": [{"email": "bob@example.com", "responseStatus": "accepted"},
                      {"email": "erin@elsewhere.org", "displayName": "Erin"}],
        "reminders": {"useDefault": False, "overrides": [{"method": "popup", "minutes": 30}]},
        "visibility": "public", "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=5"]})
    run = sync(mapping)
    assert run.updated == 1 and run.errors == 0 and run.conflicts == 0
    activity = db.session.get(Activity, meeting.id)
    assert (activity.subject, activity.description, activity.location) == (
        "Обзор 🚀 レビュー", "نص جديد\nnew text ✨", "東京駅")
    assert (activity.start_at, activity.end_at) == (tokyo_start, tokyo_start + timedelta(hours=2))
    assert activity.time_zone == "Asia/Tokyo" and not activity.all_day
    assert [p.email for p in activity.participants] == ["bob@example.com"]
    assert activity.invitees == []
    assert [(x.email, x.display_name) for x in db.session.scalars(
        db.select(ExternalAttendee).where(ExternalAttendee.activity_id == meeting.id))] == [
        ("erin@elsewhere.org", "Erin")]
    assert activity.organizer_id == ann.id
    assert activity.reminder_minutes == 30
    assert activity.visibility == "public"
    assert activity.recurrence == "RRULE:FREQ=WEEKLY;COUNT=5"
    assert activity.status == "Planned"

    # Google: all-day now (exclusive end 10 May = the 7th to the 9th in the CRM)
    sim.patch_event(ann.email, ann.email, event_id, {"start": {"date": "2031-05-07"},
                                                     "end": {"date": "2031-05-10"}})
    sync(mapping)
    activity = db.session.get(Activity, meeting.id)
    assert activity.all_day
    assert (activity.start_date, activity.end_date) == (date(2031, 5, 7), date(2031, 5, 9))

    # nothing left to do on either side; Bob's answer survived the round trips
    sim.stats_reset()
    run = sync(mapping)
    assert (run.created, run.updated, run.deleted, run.conflicts) == (0, 0, 0, 0)
    assert sim.stats()["batch_parts"] == 0
    event = sim.get_event(ann.email, ann.email, event_id)
    assert {a["email"]: a["responseStatus"] for a in event["attendees"]}[
        "bob@example.com"] == "accepted"

    # status: Not Held cancels the event in Google, and back to Planned restores it
    crm.save_activity(activity, actor=ann, status="Not Held")
    db.session.commit()
    sync(mapping)
    assert sim.get_event(ann.email, ann.email, event_id)["status"] == "cancelled"
    assert db.session.get(Activity, meeting.id).status == "Not Held"
    crm.save_activity(db.session.get(Activity, meeting.id), actor=ann, status="Planned")
    db.session.commit()
    sync(mapping)
    event = sim.get_event(ann.email, ann.email, event_id)
    assert event["status"] == "confirmed" and event["summary"] == "Обзор 🚀 レビュー"
    assert db.session.get(Activity, meeting.id).status == "Planned"
