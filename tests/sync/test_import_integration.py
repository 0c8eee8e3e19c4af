"""Import Google -> CRM, conflicts, 410 recovery, faults, crashes and shared meetings,
through googlesim with the real client, RQ and Redis."""
import json
from datetime import datetime, timedelta, timezone

import pytest

from portal.crm import activities as crm
from portal.crm.models import Activity
from portal.extensions import db
from portal.sync import services as sync_services
from portal.sync.calendar.engine import google_event_id
from portal.sync.calendar.models import EventLink, ExternalAttendee
from portal.sync.core.runs import SyncRun


def live(events):
    return [e for e in events if e.get("status") != "cancelled"]


def activities():
    return db.session.scalars(db.select(Activity).order_by(Activity.id)).all()


def gevent(summary="From Google", day=10, **extra):
    start = datetime(2031, 3, day, 9, tzinfo=timezone.utc)
    body = {"summary": summary,
            "start": {"dateTime": start.isoformat(), "timeZone": "Europe/Berlin"},
            "end": {"dateTime": (start + timedelta(hours=1)).isoformat(),
                    "timeZone": "Europe/Berlin"}}
    body.update(extra)
    return body


def test_import_creates_updates_and_deletes_google_owned_activities(connect_user, sim, sync,
                                                                    make_user):
    ann, mapping = connect_user()
    make_user(email="bob@example.com", name="Bob")
    created = sim.insert_event(ann.email, ann.email, gevent(
        "Café ☕ planning", attendees=[{"email": "bob@example.com"},
                                      {"email": "guest@outside.org", "displayName": "Guest"}]))
    run = sync(mapping)
    assert run.status == "succeeded" and run.created == 1
    [activity] = activities()
    assert activity.subject == "Café ☕ planning"
    assert activity.organizer_id == ann.id
    assert activity.activity_type_id == mapping.activity_type_id
    assert [p.email for p in activity.participants] == ["bob@example.com"]
    assert [x.email for x in db.session.scalars(db.select(ExternalAttendee))] == [
        "guest@outside.org"]
    assert sync_services.is_from_google(activity)
    assert sync_services.google_link(activity).html_link == created["htmlLink"]

    sim.patch_event(ann.email, ann.email, created["id"], {"summary": "Renamed in Google"})
    run = sync(mapping)
    assert run.updated == 1
    assert activities()[0].subject == "Renamed in Google"
    # nothing echoes back out to Google
    assert sim.get_event(ann.email, ann.email, created["id"])["summary"] == "Renamed in Google"

    sim.delete_event(ann.email, ann.email, created["id"])
    run = sync(mapping)
    # Deleting in Google unlinks by default (coreBOS): the activity stays, saying so, and
    # the run counts it as kept, not deleted.
    assert (run.deleted, run.kept) == (0, 1)
    [kept] = activities()
    assert kept.subject == "Renamed in Google"
    assert db.session.scalars(db.select(EventLink)).one().state == "detached"


def test_google_delete_deletes_an_imported_activity_when_the_user_chose_so(connect_user, sim,
                                                                           sync):
    ann, mapping = connect_user(delete_in_crm_when_deleted_in_google=True)
    created = sim.insert_event(ann.email, ann.email, gevent("Going away"))
    sync(mapping)
    sim.delete_event(ann.email, ann.email, created["id"])
    assert sync(mapping).deleted == 1
    assert activities() == []


def test_google_edits_flow_back_into_crm_owned_activities(connect_user, make_activity, sim,
                                                         sync):
    ann, mapping = connect_user()
    meeting = make_activity(ann, subject="Budget")
    sync(mapping)
    eid = google_event_id(meeting.uid)
    sim.patch_event(ann.email, ann.email, eid, {"location": "Room 7"})
    run = sync(mapping)
    assert run.updated == 1
    activity = db.session.get(Activity, meeting.id)
    assert activity.location == "Room 7"
    assert not sync_services.is_from_google(activity)
    # and the next sync has nothing to do in either direction
    sim.stats_reset()
    run = sync(mapping)
    assert (run.created, run.updated, run.deleted) == (0, 0, 0)
    assert sim.stats()["batch_parts"] == 0


def test_held_activity_is_not_updated_from_google(connect_user, make_activity, sim, sync):
    ann, mapping = connect_user()
    meeting = make_activity(ann, subject="Done deal")
    sync(mapping)
    crm.save_activity(meeting, actor=ann, status="Held")
    db.session.commit()
    sync(mapping)
    sim.patch_event(ann.email, ann.email, google_event_id(meeting.uid), {"summary": "Changed"})
    run = sync(mapping)
    assert run.skipped >= 1
    assert db.session.get(Activity, meeting.id).subject == "Done deal"


@pytest.mark.parametrize("rule,expected", [("crm_wins", "CRM title"),
                                           ("google_wins", "Google title")])
def test_conflict_is_resolved_by_the_rule_and_logged_with_both_versions(
        connect_user, make_activity, sim, sync, rule, expected):
    ann, mapping = connect_user(conflict_rule=rule)
    meeting = make_activity(ann, subject="Original")
    sync(mapping)
    sim.patch_event(ann.email, ann.email, google_event_id(meeting.uid), {"summary": "Google title"})
    crm.save_activity(meeting, actor=ann, subject="CRM title")
    db.session.commit()
    run = sync(mapping)
    assert run.conflicts == 1
    [entry] = [e for e in run.entries if e.action == "conflict"]
    versions = json.loads(entry.versions)
    assert versions["crm"]["subject"] == "CRM title"
    assert versions["google"]["subject"] == "Google title"
    assert db.session.get(Activity, meeting.id).subject == expected
    assert sim.get_event(ann.email, ann.email, google_event_id(meeting.uid))["summary"] == expected
    assert sync(mapping).conflicts == 0


def test_crm_owned_event_deleted_in_google_is_kept_and_not_re_exported_until_edited(
        connect_user, make_activity, sim, sync):
    ann, mapping = connect_user()
    meeting = make_activity(ann, subject="Keep me")
    sync(mapping)
    eid = google_event_id(meeting.uid)
    sim.delete_event(ann.email, ann.email, eid)
    sync(mapping)
    assert db.session.get(Activity, meeting.id) is not None
    sync(mapping)
    assert live(sim.events(ann.email, ann.email)) == []
    crm.save_activity(db.session.get(Activity, meeting.id), actor=ann, subject="Keep me, again")
    db.session.commit()
    sync(mapping)
    [event] = live(sim.events(ann.email, ann.email))
    assert event["id"] == eid and event["summary"] == "Keep me, again"


def test_deleted_in_google_can_delete_in_crm_by_mapping_option(connect_user, make_activity, sim,
                                                               sync):
    ann, mapping = connect_user(delete_in_crm_when_deleted_in_google=True)
    meeting = make_activity(ann, subject="Gone")
    sync(mapping)
    sim.delete_event(ann.email, ann.email, google_event_id(meeting.uid))
    sync(mapping)
    assert activities() == []


def test_expired_sync_token_runs_a_full_sync_and_reconciles(connect_user, make_activity, sim,
                                                            sync):
    ann, mapping = connect_user()
    kept = make_activity(ann, subject="Kept")
    gone = make_activity(ann, subject="Will vanish")
    imported = sim.insert_event(ann.email, ann.email, gevent("Imported"))
    sync(mapping)
    assert len(activities()) == 3
    sim.expire(sync_tokens=True)
    sim.delete_event(ann.email, ann.email, imported["id"])
    sim.patch_event(ann.email, ann.email, google_event_id(kept.uid), {"summary": "Kept (edited)"})
    run = sync(mapping)
    assert run.status == "succeeded"
    assert any(e.action == "full_sync" for e in run.entries)
    # The event deleted in Google is unlinked and kept (the default delete choice).
    assert sorted(a.subject for a in activities()) == ["Imported", "Kept (edited)",
                                                      "Will vanish"]
    kept_link = db.session.scalars(db.select(EventLink).where(
        EventLink.event_id == imported["id"])).one()
    assert kept_link.state == "detached"
    assert gone.id is not None
    assert len(live(sim.events(ann.email, ann.email))) == 2


def test_same_meeting_in_two_users_calendars_is_one_activity(connect_user, sim, sync):
    ann, ann_mapping = connect_user("ann@example.com")
    bob, bob_mapping = connect_user("bob@example.com")
    shared = gevent("Quarterly review", iCalUID="quarterly-2031@example.org",
                    attendees=[{"email": "ann@example.com"}, {"email": "bob@example.com"}])
    # Google puts Ann's meeting into Bob's calendar by itself (same id, Bob a guest).
    sim.insert_event(ann.email, ann.email, dict(shared))
    sync(ann_mapping)
    sync(bob_mapping)
    [activity] = activities()
    assert activity.organizer_id == ann.id
    assert [p.email for p in activity.participants] == ["bob@example.com"]
    roles = dict(db.session.execute(db.select(EventLink.user_id, EventLink.role)).all())
    assert roles == {ann.id: "organizer", bob.id: "guest"}


def test_cancelled_instance_becomes_an_exception(connect_user, sim, sync):
    ann, mapping = connect_user()
    series = sim.insert_event(ann.email, ann.email, gevent(
        "Standup", recurrence=["RRULE:FREQ=DAILY;COUNT=5"]))
    sync(mapping)
    [activity] = activities()
    assert activity.recurrence == "RRULE:FREQ=DAILY;COUNT=5"
    # cancel the third occurrence through the API (an instance id is series_YYYYMMDDTHHMMSSZ)
    sim.delete_event(ann.email, ann.email, series["id"] + "_20310312T090000Z")
    sync(mapping)
    activity = activities()[0]
    assert "EXDATE;TZID=Europe/Berlin:20310312T100000" in activity.recurrence.splitlines()
    assert len(activities()) == 1


@pytest.mark.parametrize("fault", [dict(status=429, reason="rateLimitExceeded"),
                                   dict(status=500, reason="backendError"),
                                   dict(drop=True)])
def test_transient_faults_are_retried_without_duplicates(connect_user, make_activity, sim, sync,
                                                         fault):
    ann, mapping = connect_user()
    for n in range(3):
        make_activity(ann, subject=f"Meeting {n}")
    sim.fault(method="POST", path="/batch/calendar/v3", count=1, **fault)
    run = sync(mapping)
    assert run.status == "succeeded" and run.created == 3
    assert len(live(sim.events(ann.email, ann.email))) == 3


def test_persistent_outage_ends_the_run_as_retrying_and_a_later_run_finishes(
        connect_user, make_activity, sim, sync, monkeypatch):
    from portal.google import calendar_events as ce

    monkeypatch.setattr(ce.Backoff, "wait", lambda self, attempt: None)
    ann, mapping = connect_user()
    make_activity(ann, subject="Patience")
    sim.fault(method="POST", path="/batch/calendar/v3", status=503, reason="backendError",
              count=50)
    run = sync(mapping)
    assert run.status == "retrying"
    assert "retry" in run.message
    sim.clear_faults()
    from portal.jobs.locks import Lock, mapping_lock_key
    from portal.jobs.connection import get_redis
    # the retry (scheduled by RQ) holds the lock meanwhile
    assert Lock(get_redis(), mapping_lock_key(mapping.id)).holder() == run.job_id
    get_redis().delete(mapping_lock_key(mapping.id))
    run = sync(mapping)
    assert run.status == "succeeded"
    assert len(live(sim.events(ann.email, ann.email))) == 1


def test_crash_after_google_acknowledged_but_before_commit_does_not_duplicate(
        connect_user, make_activity, sim, sync, monkeypatch):
    from portal.sync.calendar import runner

    ann, mapping = connect_user()
    for n in range(120):
        make_activity(ann, subject=f"Bulk {n}")
    calls = {"n": 0}
    real_commit = runner.Runner.commit

    def crash_on_second_chunk(self, progress=None):
        calls["n"] += 1
        if calls["n"] == 3:  # after import, after chunk 1: die before chunk 2 is recorded
            raise KeyboardInterrupt("worker killed")
        return real_commit(self, progress)

    monkeypatch.setattr(runner.Runner, "commit", crash_on_second_chunk)
    with pytest.raises(KeyboardInterrupt):
        runner.run_mapping(mapping.id, "both")
    db.session.rollback()
    monkeypatch.setattr(runner.Runner, "commit", real_commit)
    assert db.session.scalar(db.select(db.func.count(EventLink.id))) == 50
    assert len(live(sim.events(ann.email, ann.email))) == 100
    run = sync(mapping)
    assert run.status == "succeeded"
    events = live(sim.events(ann.email, ann.email))
    assert len(events) == 120
    assert len({e["id"] for e in events}) == 120
    assert db.session.scalar(db.select(db.func.count(EventLink.id))) == 120
    assert len(activities()) == 120



@pytest.mark.parametrize("export_on", [True, False])
def test_activity_deleted_after_a_cut_off_export_leaves_no_event_behind(
        connect_user, make_activity, sim, sync, monkeypatch, export_on):
    """The worker died after Google made the event but before the link was recorded; the
    user then deleted the activity. The next sync removes the orphan from Google (deleting
    in the CRM deletes in Google) and never brings the activity back; with Export off the
    portal writes nothing to Google, but still does not resurrect it."""
    from portal.sync.calendar import runner

    ann, mapping = connect_user()
    activity = make_activity(ann, subject="Dies with the worker")
    real_commit = runner.Runner.commit

    def killed(self, progress=None):
        raise KeyboardInterrupt("worker killed")

    monkeypatch.setattr(runner.Runner, "commit", killed)
    with pytest.raises(KeyboardInterrupt):
        runner.run_mapping(mapping.id, "export")
    db.session.rollback()
    monkeypatch.setattr(runner.Runner, "commit", real_commit)
    assert [e["summary"] for e in live(sim.events(ann.email, ann.email))] == \
        ["Dies with the worker"]
    crm.delete_activity(db.session.get(Activity, activity.id), actor=ann)
    db.session.commit()
    if not export_on:
        mapping.export_enabled = False
        db.session.commit()
    run = sync(mapping)
    assert run.status == "succeeded"
    assert activities() == []
    left = [e["summary"] for e in live(sim.events(ann.email, ann.email))]
    assert left == ([] if export_on else ["Dies with the worker"])
    assert sync(mapping).status == "succeeded" and activities() == []

def test_revoked_grant_marks_the_connection_for_reconnection(connect_user, make_activity, sim,
                                                            sync):
    from portal.google import services

    ann, mapping = connect_user()
    make_activity(ann)
    sim.revoke_grants(ann.email)
    sim.expire(access_tokens=True)
    run = sync(mapping)
    assert run.status == "needs_reauth"
    assert services.get_connection(ann).status == "needs_reauth"
    run = sync(mapping)
    assert run.status == "needs_reauth"


def test_second_enqueue_while_one_is_pending_reports_already_running(connect_user, work):
    from portal.jobs.sync import enqueue_sync

    ann, mapping = connect_user()
    [first] = enqueue_sync(ann, mapping)
    [second] = enqueue_sync(ann, mapping)
    assert second.already_running and second.id == first.id
    work()
    assert db.session.get(SyncRun, first.id).status == "succeeded"
    [third] = enqueue_sync(ann, mapping)
    assert not third.already_running


def test_long_texts_from_google_import_whole_and_stay_in_step(connect_user, sim, sync):
    """Google takes far longer titles and locations than a 255-character column; they must
    import whole (on PostgreSQL too), not fail the run or come back cut."""
    ann, mapping = connect_user()
    title = "Quarterly planning — " + "agenda item, " * 60
    place = "Building 7, " * 40
    sim.insert_event(ann.email, ann.email, gevent(title, location=place))
    run = sync(mapping)
    assert (run.status, run.created, run.errors) == ("succeeded", 1, 0)
    [activity] = activities()
    assert (activity.subject, activity.location) == (title, place)
    assert sync(mapping).updated == 0
