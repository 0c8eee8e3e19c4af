"""Recurring series through googlesim with the real client, RQ and Redis: a series imports
as one recurring activity whose EXDATEs hide its moved and cancelled occurrences, a moved
occurrence is its own activity, and exporting the series back keeps Google's exceptions."""
from datetime import datetime, timezone

from portal.crm import activities as crm
from portal.crm.models import Activity
from portal.extensions import db
from portal.google import services as google_services
from portal.sync.calendar.engine import google_event_id

UTC = timezone.utc
RULE = "RRULE:FREQ=WEEKLY;COUNT=4"
BERLIN = "Europe/Berlin"


def activities():
    return db.session.scalars(db.select(Activity).order_by(Activity.id)).all()


def when(local):
    return {"dateTime": local, "timeZone": BERLIN}


def move_and_cancel(sim, email, series_id):
    """In Google: move the 2nd Monday (10 March, 10:00 Berlin) to Tuesday 15:00, and cancel
    the 3rd (17 March)."""
    sim.patch_event(email, email, series_id + "_20310310T090000Z",
                    {"summary": "Weekly (moved to Tuesday)",
                     "start": when("2031-03-11T15:00:00+01:00"),
                     "end": when("2031-03-11T16:00:00+01:00")})
    sim.delete_event(email, email, series_id + "_20310317T090000Z")


def instance_starts(user, event_id):
    """What Google's calendar shows: the series' occurrences, exceptions applied."""
    calendar = google_services.client_for(user).calendar
    items = calendar.events().instances(calendarId=user.email, eventId=event_id).execute()
    return sorted(i["start"]["dateTime"] for i in items["items"] if i["status"] != "cancelled")


EXPECTED_EXDATES = ["EXDATE;TZID=Europe/Berlin:20310310T100000",
                    "EXDATE;TZID=Europe/Berlin:20310317T100000"]


def test_series_with_a_moved_and_a_cancelled_instance_imports_without_doubles(
        connect_user, sim, sync):
    ann, mapping = connect_user()
    series = sim.insert_event(ann.email, ann.email, {
        "summary": "Weekly", "recurrence": [RULE],
        "start": when("2031-03-03T10:00:00+01:00"), "end": when("2031-03-03T11:00:00+01:00")})
    move_and_cancel(sim, ann.email, series["id"])

    run = sync(mapping)
    assert run.status == "succeeded" and run.errors == 0
    recurring, moved = activities()
    assert recurring.subject == "Weekly"
    assert recurring.recurrence.splitlines() == [RULE, *EXPECTED_EXDATES]
    assert moved.subject == "Weekly (moved to Tuesday)"
    assert moved.recurrence == ""
    assert moved.start_at == datetime(2031, 3, 11, 14, tzinfo=UTC)

    # a second sync changes nothing, on either side
    sim.stats_reset()
    run = sync(mapping)
    assert (run.created, run.updated, run.deleted, run.errors) == (0, 0, 0, 0)
    assert sim.stats()["batch_parts"] == 0
    assert [a.recurrence for a in activities()] == [recurring.recurrence, ""]
    # and a full listing (expired sync token) brings no duplicates and no second EXDATE
    sim.expire(sync_tokens=True)
    run = sync(mapping)
    assert (run.created, run.updated, run.deleted) == (0, 0, 0)
    assert [a.recurrence.splitlines() for a in activities()] == [[RULE, *EXPECTED_EXDATES], []]


def test_all_day_series_exceptions_are_date_exdates(connect_user, sim, sync):
    ann, mapping = connect_user()
    series = sim.insert_event(ann.email, ann.email, {
        "summary": "Team day", "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"],
        "start": {"date": "2031-03-03"}, "end": {"date": "2031-03-04"}})
    sim.delete_event(ann.email, ann.email, series["id"] + "_20310304")
    sync(mapping)
    [activity] = activities()
    assert activity.all_day
    assert activity.recurrence.splitlines() == ["RRULE:FREQ=DAILY;COUNT=3",
                                                "EXDATE;VALUE=DATE:20310304"]


def test_crm_series_edited_after_google_changed_instances_keeps_googles_exceptions(
        connect_user, make_activity, sim, sync):
    ann, mapping = connect_user()
    meeting = make_activity(ann, subject="Weekly", start=datetime(2031, 3, 3, 9, tzinfo=UTC),
                            recurrence=RULE)
    sync(mapping)
    event_id = google_event_id(meeting.uid)
    assert instance_starts(ann, event_id) == [
        "2031-03-03T10:00:00+01:00", "2031-03-10T10:00:00+01:00",
        "2031-03-17T10:00:00+01:00", "2031-03-24T10:00:00+01:00"]

    move_and_cancel(sim, ann.email, event_id)
    run = sync(mapping)
    assert run.errors == 0
    series = db.session.get(Activity, meeting.id)
    assert series.recurrence.splitlines() == [RULE, *EXPECTED_EXDATES]
    assert [a.subject for a in activities()] == ["Weekly", "Weekly (moved to Tuesday)"]

    crm.save_activity(series, actor=ann, subject="Weekly (new agenda)",
                      description="Read the notes first")
    db.session.commit()
    run = sync(mapping)
    assert run.updated == 1 and run.errors == 0
    google_series = sim.get_event(ann.email, ann.email, event_id)
    assert google_series["summary"] == "Weekly (new agenda)"
    assert google_series["recurrence"] == [RULE]  # nothing of ours was added to the rule
    # Google still shows the moved occurrence on Tuesday and not the cancelled one
    assert instance_starts(ann, event_id) == [
        "2031-03-03T10:00:00+01:00", "2031-03-11T15:00:00+01:00", "2031-03-24T10:00:00+01:00"]

    run = sync(mapping)
    assert (run.created, run.updated, run.deleted) == (0, 0, 0)
    assert db.session.get(Activity, meeting.id).recurrence.splitlines() == [
        RULE, *EXPECTED_EXDATES]


def test_a_rule_changed_in_the_crm_is_sent_without_the_derived_exdates(
        connect_user, make_activity, sim, sync):
    ann, mapping = connect_user()
    meeting = make_activity(ann, subject="Weekly", start=datetime(2031, 3, 3, 9, tzinfo=UTC),
                            recurrence=RULE)
    sync(mapping)
    event_id = google_event_id(meeting.uid)
    sim.delete_event(ann.email, ann.email, event_id + "_20310317T090000Z")
    sync(mapping)
    series = db.session.get(Activity, meeting.id)
    lines = series.recurrence.splitlines()
    assert lines == [RULE, EXPECTED_EXDATES[1]]
    crm.save_activity(series, actor=ann, recurrence="\n".join(
        ["RRULE:FREQ=WEEKLY;COUNT=5", EXPECTED_EXDATES[1]]))
    db.session.commit()
    sync(mapping)
    assert sim.get_event(ann.email, ann.email, event_id)["recurrence"] == [
        "RRULE:FREQ=WEEKLY;COUNT=5"]
    assert instance_starts(ann, event_id) == [
        "2031-03-03T10:00:00+01:00", "2031-03-10T10:00:00+01:00",
        "2031-03-24T10:00:00+01:00", "2031-03-31T10:00:00+02:00"]
