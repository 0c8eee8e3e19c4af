"""Edge cases found by an adversarial review, each through googlesim with the real client."""
from datetime import datetime, timezone

from portal.crm import activities as crm
from portal.crm.models import Activity
from portal.extensions import db
from portal.sync.calendar.engine import google_event_id
from portal.sync.core.runs import SyncRunEntry

UTC = timezone.utc


def test_crm_edit_made_after_the_event_was_deleted_in_google_is_not_lost(
        connect_user, make_activity, sim, sync):
    ann, mapping = connect_user()
    meeting = make_activity(ann, subject="Budget", start=datetime(2031, 5, 6, 8, tzinfo=UTC))
    sync(mapping)
    event_id = google_event_id(meeting.uid)
    sim.delete_event(ann.email, ann.email, event_id)
    crm.save_activity(meeting, actor=ann, subject="Budget (moved to Friday)")
    db.session.commit()

    run = sync(mapping)

    assert run.conflicts == 1 and run.errors == 0
    event = sim.get_event(ann.email, ann.email, event_id)
    assert (event["status"], event["summary"]) == ("confirmed", "Budget (moved to Friday)")
    [entry] = db.session.scalars(db.select(SyncRunEntry).where(
        SyncRunEntry.run_id == run.id, SyncRunEntry.action == "conflict")).all()
    assert entry.versions and "Budget (moved to Friday)" in entry.versions
    # and it stays put: the next run has nothing to do
    run = sync(mapping)
    assert (run.created, run.updated, run.deleted, run.conflicts) == (0, 0, 0, 0)
    assert [e["id"] for e in sim.events(ann.email, ann.email)
            if e["status"] != "cancelled"] == [event_id]
    assert db.session.get(Activity, meeting.id).subject == "Budget (moved to Friday)"


def test_google_delete_wins_over_a_crm_edit_under_google_wins_and_is_logged(
        connect_user, make_activity, sim, sync):
    ann, mapping = connect_user(conflict_rule="google_wins")
    meeting = make_activity(ann, subject="Budget", start=datetime(2031, 5, 6, 8, tzinfo=UTC))
    sync(mapping)
    event_id = google_event_id(meeting.uid)
    sim.delete_event(ann.email, ann.email, event_id)
    crm.save_activity(meeting, actor=ann, subject="Budget v2")
    db.session.commit()

    run = sync(mapping)

    assert run.conflicts == 1
    assert sim.get_event(ann.email, ann.email, event_id)["status"] == "cancelled"
    assert db.session.get(Activity, meeting.id).subject == "Budget v2"


def test_meeting_handed_to_another_organizer_leaves_the_old_organizers_calendar(
        connect_user, make_activity, sim, sync):
    ann, ann_mapping = connect_user("ann@example.com")
    bob, bob_mapping = connect_user("bob@example.com")
    meeting = make_activity(ann, subject="Kick-off", start=datetime(2031, 5, 6, 8, tzinfo=UTC))
    sync(ann_mapping)
    event_id = google_event_id(meeting.uid)
    crm.save_activity(meeting, actor=ann, organizer=bob, subject="Kick-off (Bob runs it)")
    db.session.commit()

    run = sync(ann_mapping)
    assert run.deleted == 1 and run.updated == 0
    sync(bob_mapping)

    assert sim.get_event(ann.email, ann.email, event_id)["status"] == "cancelled"
    bobs = [e for e in sim.events(bob.email, bob.email) if e["status"] != "cancelled"]
    assert [e["summary"] for e in bobs] == ["Kick-off (Bob runs it)"]
    # Ann's next sync does not bring it back, nor delete the activity
    run = sync(ann_mapping)
    assert (run.created, run.deleted) == (0, 0)
    assert db.session.get(Activity, meeting.id).organizer_id == bob.id
