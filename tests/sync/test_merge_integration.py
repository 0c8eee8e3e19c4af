"""Field-level merge of edits made on both sides between two syncs, through googlesim with
the real client, RQ and Redis."""
import json
from datetime import datetime, timezone

from portal.crm import activities as crm
from portal.crm.models import Activity
from portal.extensions import db
from portal.sync.calendar.engine import google_event_id
from portal.sync.calendar.models import EventLink

UTC = timezone.utc


def test_disjoint_edits_on_both_sides_are_both_kept_and_logged_as_merged(
        connect_user, make_activity, sim, sync):
    ann, mapping = connect_user()  # CRM wins by default: it must not matter here
    meeting = make_activity(ann, subject="Budget", start=datetime(2031, 5, 6, 8, tzinfo=UTC))
    sync(mapping)
    link = db.session.scalars(db.select(EventLink)).one()
    assert "fields" in json.loads(link.event_state)  # the export remembered the merge base
    event_id = google_event_id(meeting.uid)
    sim.patch_event(ann.email, ann.email, event_id, {"location": "Room 7"})
    crm.save_activity(meeting, actor=ann, subject="Budget 2032")
    db.session.commit()

    run = sync(mapping)

    assert run.status == "succeeded" and run.errors == 0
    assert run.conflicts == 0
    assert [e.action for e in run.entries if e.action in ("merged", "conflict")] == ["merged"]
    [entry] = [e for e in run.entries if e.action == "merged"]
    versions = json.loads(entry.versions)
    assert versions["from_crm"] == ["subject"] and versions["from_google"] == ["location"]
    assert versions["crm"]["subject"] == "Budget 2032"
    assert versions["google"]["location"] == "Room 7"
    activity = db.session.get(Activity, meeting.id)
    assert (activity.subject, activity.location) == ("Budget 2032", "Room 7")
    event = sim.get_event(ann.email, ann.email, event_id)
    assert (event["summary"], event["location"]) == ("Budget 2032", "Room 7")
    # settled: the next run has nothing to do in either direction
    sim.stats_reset()
    run = sync(mapping)
    assert (run.created, run.updated, run.deleted, run.conflicts) == (0, 0, 0, 0)
    assert sim.stats()["batch_parts"] == 0


def test_same_field_changed_on_both_sides_under_crm_wins_is_a_logged_conflict(
        connect_user, make_activity, sim, sync):
    ann, mapping = connect_user(conflict_rule="crm_wins")
    meeting = make_activity(ann, subject="Budget", start=datetime(2031, 5, 6, 8, tzinfo=UTC))
    sync(mapping)
    event_id = google_event_id(meeting.uid)
    sim.patch_event(ann.email, ann.email, event_id,
                    {"summary": "Google title", "location": "Room 7"})
    crm.save_activity(meeting, actor=ann, subject="CRM title")
    db.session.commit()

    run = sync(mapping)

    assert run.conflicts == 1 and run.errors == 0
    [entry] = [e for e in run.entries if e.action == "conflict"]
    versions = json.loads(entry.versions)
    assert versions["crm"]["subject"] == "CRM title"
    assert versions["google"]["subject"] == "Google title"
    assert versions["both_changed"] == ["subject"] and versions["winner"] == "crm"
    assert versions["from_google"] == ["location"]
    activity = db.session.get(Activity, meeting.id)
    event = sim.get_event(ann.email, ann.email, event_id)
    assert activity.subject == event["summary"] == "CRM title"
    # Google's one-sided edit is kept too
    assert activity.location == event["location"] == "Room 7"
    run = sync(mapping)
    assert (run.updated, run.conflicts) == (0, 0)
