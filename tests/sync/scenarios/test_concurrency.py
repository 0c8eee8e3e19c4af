"""Concurrency end to end: a second *Synchronize now* while one is queued, a run overlapping
another (a lapsed lock, a second worker), two users' runs interleaving on one meeting,
partial batch failures, 412s and a worker dying half-way (googlesim, real client, RQ worker).

Overlaps are made deterministic by starting the other run, on its own thread with its own
app context and database session, at a precise point of the first run."""
import threading
from datetime import datetime, timedelta

import pytest

from portal.extensions import db
from portal.sync.calendar import runner
from portal.sync.calendar.engine import google_event_id
from portal.sync.core.runs import SyncRun

from scenario_kit import (UTC, activities, attendee, delete, edit, fresh, links, live,
                          post_form_page)

START = datetime(2031, 5, 6, 8, 0, tzinfo=UTC)


def many(make_activity, user, n, prefix="M"):
    return [make_activity(user, subject=f"{prefix}{i:03d}",
                          start=START + timedelta(hours=i)) for i in range(n)]


def no_duplicates(sim, email, calendar_id=None):
    events = live(sim, email, calendar_id)
    ids = [e["id"] for e in events]
    assert len(ids) == len(set(ids))
    uids = [(e.get("extendedProperties") or {}).get("private", {}).get("crmActivityUid")
            for e in events]
    assert len(uids) == len(set(uids)), "two events for one activity"
    return events


def run_elsewhere(app, mapping_id, direction="both"):
    """Another worker runs this mapping to the end, now (its own thread and session).

    The interrupted run's pending row writes (its SyncRun's progress) are committed first:
    SQLite locks the whole database for a writer, where PostgreSQL would only lock that
    row and let the other worker go on."""
    db.session.commit()
    errors = []

    def target():
        try:
            with app.app_context():
                runner.run_mapping(mapping_id, direction)
                db.session.remove()
        except Exception as exc:  # noqa: BLE001 - reported to the test
            errors.append(exc)

    thread = threading.Thread(target=target)
    thread.start()
    thread.join()
    assert not errors, errors


def once_before(monkeypatch, cls, name, action):
    """Run ``action()`` once, just before the first call of ``cls.name``."""
    original = getattr(cls, name)
    state = {"done": False}

    def wrapper(self, *args, **kwargs):
        if not state["done"]:
            state["done"] = True
            action()
        return original(self, *args, **kwargs)

    monkeypatch.setattr(cls, name, wrapper)


def test_pressing_synchronize_now_twice_runs_once(connect_user, make_activity, sim, work,
                                                   browser):
    ann, mapping = connect_user()
    many(make_activity, ann, 3)
    client = browser(ann)
    first = post_form_page(client, "/google/sync", {}, testid="sync-now-form")
    second = post_form_page(client, "/google/sync", {}, testid="sync-now-form")
    assert first.status_code == second.status_code == 302
    assert "already" in client.get(second.headers["Location"]).get_data(as_text=True)
    work()
    runs = db.session.scalars(db.select(SyncRun)).all()
    assert [r.status for r in runs] == ["succeeded"]
    assert len(no_duplicates(sim, ann.email)) == 3


def test_a_run_overlapping_another_between_planning_and_writing_duplicates_nothing(
        app, connect_user, make_activity, sim, sync, monkeypatch):
    """Worker A planned three inserts; before it sends them, worker B (the lock lapsed)
    syncs the same mapping to the end. A's inserts then meet B's events."""
    ann, mapping = connect_user()
    many(make_activity, ann, 3)
    once_before(monkeypatch, runner.Runner, "apply_google_writes",
                lambda: run_elsewhere(app, mapping.id))
    run = sync(mapping)
    assert run.status == "succeeded" and run.errors == 0
    assert len(no_duplicates(sim, ann.email)) == 3
    assert sorted(l.activity_id for l in links()) == sorted(a.id for a in activities())
    again = sync(mapping)
    assert (again.created, again.updated, again.deleted, again.errors) == (0, 0, 0, 0)


def test_an_overlapping_run_with_edits_on_both_sides_loses_none_of_them(
        app, connect_user, make_activity, sim, sync, monkeypatch):
    ann, mapping = connect_user()
    [one, two] = many(make_activity, ann, 2)
    sync(mapping)
    edit(one, subject="One (CRM)")
    sim.patch_event(ann.email, ann.email, google_event_id(two.uid), {"location": "Room 7"})

    def meanwhile():
        run_elsewhere(app, mapping.id)
        edit(two, subject="Two (CRM, during the overlap)")

    once_before(monkeypatch, runner.Runner, "export", meanwhile)
    assert sync(mapping).errors == 0
    sync(mapping)
    events = {e["id"]: e for e in no_duplicates(sim, ann.email)}
    assert events[google_event_id(one.uid)]["summary"] == "One (CRM)"
    assert events[google_event_id(two.uid)]["summary"] == "Two (CRM, during the overlap)"
    assert events[google_event_id(two.uid)]["location"] == "Room 7"
    assert fresh(two).location == "Room 7"


def test_guest_syncing_while_the_organizers_run_writes(app, connect_user, make_activity, sim,
                                                       sync, monkeypatch):
    """Ann's run is about to patch her edit; at that moment Bob accepts in Google and his
    sync runs. Ann's patch meets a newer event (412): her edit and Bob's answer both stay."""
    ann, ann_map = connect_user("ann@example.com")
    bob, bob_map = connect_user("bob@example.com")
    meeting = make_activity(ann, subject="Plan", start=START, participants=[bob])
    sync(ann_map)
    sync(bob_map)
    event_id = google_event_id(meeting.uid)
    edit(meeting, subject="Plan (v2)", location="Room 4")

    def bob_accepts_and_syncs():
        event = sim.get_event(bob.email, bob.email, event_id)
        sim.patch_event(bob.email, bob.email, event_id, {"attendees": [
            dict(a, responseStatus="accepted") if a["email"] == bob.email else a
            for a in event["attendees"]]})
        run_elsewhere(app, bob_map.id)

    once_before(monkeypatch, runner.Runner, "apply_google_writes", bob_accepts_and_syncs)
    assert sync(ann_map, "export").errors == 0
    monkeypatch.undo()
    sync(ann_map)
    sync(bob_map)
    for owner in (ann.email, bob.email):
        event = sim.get_event(owner, owner, event_id)
        assert (event["summary"], event["location"]) == ("Plan (v2)", "Room 4")
        assert attendee(event, bob.email)["responseStatus"] == "accepted"
    assert fresh(meeting).subject == "Plan (v2)"


def test_one_failing_part_of_a_batch_is_retried_and_nothing_is_doubled(
        connect_user, make_activity, sim, sync):
    ann, mapping = connect_user()
    many(make_activity, ann, 60)
    sim.fault(method="POST", path=f"/calendar/v3/calendars/{ann.email}/events", status=503,
              reason="backendError", count=1)
    run = sync(mapping)
    assert run.status == "succeeded" and (run.created, run.errors) == (60, 0)
    assert len(no_duplicates(sim, ann.email)) == 60


def test_a_batch_with_a_refused_event_and_a_server_error_finishes_on_the_next_run(
        connect_user, make_activity, sim, sync):
    ann, mapping = connect_user()
    items = many(make_activity, ann, 6)
    sync(mapping)
    for item in items:
        edit(item, location="Hall")
    bad = google_event_id(items[2].uid)
    sim.fault(method="PATCH", path=f"/calendar/v3/calendars/{ann.email}/events/{bad}",
              status=400, reason="invalid", count=1)
    run = sync(mapping)
    assert (run.updated, run.errors) == (5, 1)
    assert sim.get_event(ann.email, ann.email, bad).get("location", "") == ""
    run = sync(mapping)
    assert (run.updated, run.errors) == (1, 0)
    assert {e.get("location") for e in no_duplicates(sim, ann.email)} == {"Hall"}


@pytest.mark.parametrize("rule,summary,crm_gets_google", [
    ("crm_wins", "CRM title", False), ("google_wins", "Google title", True)])
def test_a_412_on_export_is_merged_like_an_import(connect_user, make_activity, sim, sync,
                                                  rule, summary, crm_gets_google):
    """An export-only run meets an event changed in Google since the last look."""
    ann, mapping = connect_user(conflict_rule=rule)
    meeting = make_activity(ann, subject="Budget", start=START)
    sync(mapping)
    event_id = google_event_id(meeting.uid)
    edit(meeting, subject="CRM title")
    sim.patch_event(ann.email, ann.email, event_id,
                    {"summary": "Google title", "description": "from Google"})
    run = sync(mapping, "export")
    assert run.errors == 0 and run.conflicts == 1
    event = sim.get_event(ann.email, ann.email, event_id)
    assert (event["summary"], event["description"]) == (summary, "from Google")
    activity = fresh(meeting)
    assert activity.subject == summary and activity.description == "from Google"


def test_a_412_on_a_crm_delete_follows_the_rule(connect_user, make_activity, sim, sync):
    ann, mapping = connect_user(conflict_rule="google_wins")
    meeting = make_activity(ann, subject="Budget", start=START)
    sync(mapping)
    event_id = google_event_id(meeting.uid)
    sim.patch_event(ann.email, ann.email, event_id, {"summary": "Budget (Google)"})
    delete(meeting)
    run = sync(mapping, "export")
    assert run.errors == 0 and run.conflicts == 1
    [activity] = activities()
    assert activity.subject == "Budget (Google)"
    assert [e["summary"] for e in live(sim, ann.email)] == ["Budget (Google)"]


def test_a_worker_dying_half_way_leaves_what_the_next_run_finishes(
        connect_user, make_activity, sim, sync, monkeypatch):
    """120 new activities go in three batches; the worker dies after Google acknowledged
    the second batch but before that batch's links were committed."""
    ann, mapping = connect_user()
    many(make_activity, ann, 120)
    original = runner.Runner.commit

    def dying_commit(self, progress=None):
        if (progress or "").startswith("exported 100 "):
            raise RuntimeError("worker killed")
        return original(self, progress)

    monkeypatch.setattr(runner.Runner, "commit", dying_commit)
    run = sync(mapping)
    assert run.status == "failed"
    monkeypatch.undo()
    assert len(live(sim, ann.email)) == 100  # two batches reached Google
    assert len(links()) == 50
    run = sync(mapping)
    assert run.status == "succeeded" and run.errors == 0
    assert len(no_duplicates(sim, ann.email)) == 120
    assert len(links()) == 120
    again = sync(mapping)
    assert (again.created, again.updated) == (0, 0)
