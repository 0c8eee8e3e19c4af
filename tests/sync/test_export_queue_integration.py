"""The export's queue of changed activities (portal.sync.calendar.export_queue), through
googlesim with the real client, RQ and Redis: an incremental export reads only what was
queued, and nothing a user changed is lost to it - edits through the service, statements
that change many rows, changes committed while an export runs, writes Google refused,
meetings shared between users, and what only a full scan can see."""
import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import text, update

from portal.crm import activities as crm
from portal.crm.models import Activity
from portal.extensions import db
from portal.google.models import CalendarMapping
from portal.sync.calendar import runner as runner_module
from portal.sync.calendar.engine import google_event_id
from portal.sync.calendar.models import ExportQueueEntry

START = datetime(2031, 5, 6, 8, 0, tzinfo=timezone.utc)


def queued(mapping):
    return set(db.session.scalars(db.select(ExportQueueEntry.activity_id).where(
        ExportQueueEntry.mapping_id == mapping.id)))


def summary(sim, user, activity):
    return sim.get_event(user.email, user.email, google_event_id(activity.uid))["summary"]


def test_an_edit_is_queued_and_the_export_takes_it_from_the_queue(connect_user, make_activity,
                                                                   sim, sync):
    ann, mapping = connect_user()
    meetings = [make_activity(ann, subject=f"M{n}", start=START + timedelta(hours=n))
                for n in range(5)]
    assert sync(mapping).created == 5
    assert queued(mapping) == set()
    assert db.session.get(CalendarMapping, mapping.id).export_scanned_at is not None

    crm.save_activity(meetings[2], actor=ann, subject="M2 moved")
    db.session.commit()
    assert queued(mapping) == {meetings[2].id}
    run = sync(mapping)
    assert (run.created, run.updated) == (0, 1)
    assert summary(sim, ann, meetings[2]) == "M2 moved"
    assert queued(mapping) == set()

    fresh = make_activity(ann, subject="New one", start=START + timedelta(days=3))
    assert queued(mapping) == {fresh.id}
    assert sync(mapping).created == 1
    assert summary(sim, ann, fresh) == "New one"


def test_a_statement_updating_many_rows_queues_the_rows_it_changed(connect_user,
                                                                   make_activity, sim, sync):
    ann, mapping = connect_user()
    meetings = [make_activity(ann, subject=f"M{n}", start=START + timedelta(hours=n))
                for n in range(4)]
    sync(mapping)
    ids = [meetings[0].id, meetings[3].id]
    db.session.execute(update(Activity).where(Activity.id.in_(ids)).values(
        subject="Renamed in bulk", version=Activity.version + 1))
    db.session.commit()
    run = sync(mapping)
    assert run.updated == 2
    assert [summary(sim, ann, m) for m in meetings] == ["Renamed in bulk", "M1", "M2",
                                                        "Renamed in bulk"]


def test_a_change_committed_while_the_export_runs_reaches_google_next_time(
        app, connect_user, make_activity, sim, sync, monkeypatch):
    ann, mapping = connect_user()
    meeting = make_activity(ann, subject="Before", start=START)
    other = make_activity(ann, subject="Other", start=START + timedelta(hours=2))
    sync(mapping)
    crm.save_activity(meeting, actor=ann, location="Room 1")
    db.session.commit()

    real = runner_module.Runner.apply_export_plan

    def edit_meanwhile(self, *args):
        # Google has the writes and they are committed; the queue is not settled yet.
        real(self, *args)

        def elsewhere():  # another web request, committing its own transaction
            with app.app_context():
                for row, subject in ((meeting, "Edited during the export"),
                                     (other, "Also edited")):
                    crm.save_activity(db.session.get(Activity, row.id), actor=None,
                                      subject=subject)
                db.session.commit()

        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()

    monkeypatch.setattr(runner_module.Runner, "apply_export_plan", edit_meanwhile)
    assert sync(mapping).updated == 1
    monkeypatch.undo()
    assert queued(mapping) == {meeting.id, other.id}
    assert sync(mapping).updated == 2
    event = sim.get_event(ann.email, ann.email, google_event_id(meeting.uid))
    assert (event["summary"], event["location"]) == ("Edited during the export", "Room 1")
    assert summary(sim, ann, other) == "Also edited"
    assert queued(mapping) == set()


def test_an_edit_committed_as_the_export_settles_its_queue_is_kept(app, connect_user,
                                                                      make_activity, sim, sync,
                                                                      monkeypatch):
    """The export has checked which links are still behind; a change commits before it
    deletes the entries it read. The entry's seq moved on, so it stays."""
    ann, mapping = connect_user()
    meeting = make_activity(ann, subject="Before", start=START)
    sync(mapping)
    crm.save_activity(meeting, actor=ann, location="Room 1")
    db.session.commit()

    from portal.sync.calendar import export_queue

    real_put = export_queue.put
    done = []

    def put_after_an_edit(connection, pairs):
        if not done:
            done.append(True)

            def elsewhere():
                with app.app_context():
                    crm.save_activity(db.session.get(Activity, meeting.id), actor=None,
                                      subject="Edited while settling")
                    db.session.commit()

            thread = threading.Thread(target=elsewhere)
            thread.start()
            thread.join()
        return real_put(connection, pairs)

    monkeypatch.setattr(export_queue, "put", put_after_an_edit)
    assert sync(mapping).updated == 1
    monkeypatch.undo()
    assert done and queued(mapping) == {meeting.id}
    assert sync(mapping).updated == 1
    assert summary(sim, ann, meeting) == "Edited while settling"


def test_a_write_google_refused_stays_queued_and_is_sent_again(connect_user, make_activity,
                                                               sim, sync):
    ann, mapping = connect_user()
    meeting = make_activity(ann, subject="First", start=START)
    sync(mapping)
    crm.save_activity(meeting, actor=ann, subject="Second")
    db.session.commit()
    event_path = f"/calendar/v3/calendars/{ann.email}/events/{google_event_id(meeting.uid)}"
    sim.fault(method="PATCH", path=event_path, status=400, reason="badRequest")
    run = sync(mapping)
    assert run.errors == 1 and summary(sim, ann, meeting) == "First"
    assert queued(mapping) == {meeting.id}
    run = sync(mapping)
    assert run.errors == 0 and run.updated == 1
    assert summary(sim, ann, meeting) == "Second"
    assert queued(mapping) == set()


def test_a_participant_added_to_a_meeting_of_someone_without_export_gets_it(
        connect_user, make_user, make_activity, sim, sync):
    """The participant's calendar shows a meeting whose organizer does not export it; the
    queue entry goes to the participant's mapping, not only the organizer's."""
    ann, ann_mapping = connect_user()
    carl = make_user(email="carl@example.com", name="Carl")  # no Google: no export
    meeting = make_activity(carl, subject="Carl's review", start=START)
    sync(ann_mapping)
    assert sim.events(ann.email, ann.email) == []
    crm.save_activity(meeting, actor=carl, participants=[ann])
    db.session.commit()
    assert queued(ann_mapping) == {meeting.id}
    assert sync(ann_mapping).created == 1
    assert summary(sim, ann, meeting) == "Carl's review"


def test_turning_export_on_for_an_organizer_takes_the_meeting_out_of_guests_calendars(
        connect_user, make_activity, sim, sync):
    """Which calendar shows a shared meeting hangs on the organizer's Export switch, a
    change of no activity: every mapping of the type reads everything once."""
    ann, ann_mapping = connect_user()
    bob, bob_mapping = connect_user("bob@example.com", export_enabled=False)
    meeting = make_activity(bob, subject="Bob's meeting", start=START, participants=[ann])
    sync(ann_mapping)
    assert summary(sim, ann, meeting) == "Bob's meeting"
    bob_mapping = db.session.get(CalendarMapping, bob_mapping.id)
    bob_mapping.export_enabled = True
    db.session.commit()
    assert db.session.get(CalendarMapping, ann_mapping.id).export_scanned_at is None
    sync(bob_mapping)
    sync(ann_mapping)
    assert summary(sim, bob, meeting) == "Bob's meeting"
    ann_copy = [e for e in sim.events(ann.email, ann.email) if e.get("status") != "cancelled"]
    assert [e["organizer"]["email"] for e in ann_copy] in ([], ["bob@example.com"])


def test_an_edit_behind_the_orms_back_is_sent_by_the_periodic_full_scan(
        app, connect_user, make_activity, sim, sync):
    ann, mapping = connect_user()
    meeting = make_activity(ann, subject="Before", start=START)
    sync(mapping)
    db.session.execute(text("UPDATE activities SET subject = 'Raw SQL', version = version + 1 "
                            "WHERE id = :id"), {"id": meeting.id})
    db.session.commit()
    # EXPORT_FULL_SCAN_HOURS later (the clock is the mapping's last full scan)
    hours = app.config.get("EXPORT_FULL_SCAN_HOURS", 6)
    mapping = db.session.get(CalendarMapping, mapping.id)
    mapping.export_scanned_at -= timedelta(hours=hours, minutes=1)
    db.session.commit()
    assert sync(mapping).updated == 1
    assert summary(sim, ann, meeting) == "Raw SQL"


def test_deleting_and_retyping_need_no_queue_entry_of_their_own(connect_user, make_activity,
                                                                 activity_types, sim, sync):
    ann, mapping = connect_user()
    gone = make_activity(ann, subject="Gone", start=START)
    retyped = make_activity(ann, subject="Retyped", start=START + timedelta(hours=2))
    sync(mapping)
    crm.delete_activity(db.session.get(Activity, gone.id), actor=ann)
    crm.save_activity(retyped, actor=ann, activity_type_id=activity_types["Call"].id)
    db.session.commit()
    run = sync(mapping)
    assert run.deleted == 2
    assert [e for e in sim.events(ann.email, ann.email) if e.get("status") != "cancelled"] == []


def _while_the_export_runs(app, monkeypatch, change):
    """``change()`` commits in another request once the export has sent its writes (before
    it settles its queue and records its scan)."""
    real = runner_module.Runner.apply_export_plan

    def patched(self, *args):
        real(self, *args)

        def elsewhere():
            with app.app_context():
                change()
                db.session.commit()

        thread = threading.Thread(target=elsewhere)
        thread.start()
        thread.join()

    monkeypatch.setattr(runner_module.Runner, "apply_export_plan", patched)


def test_a_full_scan_asked_for_while_one_runs_still_happens(app, connect_user, make_activity,
                                                            sim, sync, monkeypatch):
    """The organizer turns Export on while a participant's periodic full scan runs: that
    scan began before the change, so it cannot count as the scan the change asks for."""
    ann, ann_mapping = connect_user()
    bob, bob_mapping = connect_user("bob@example.com", export_enabled=False)
    meeting = make_activity(bob, subject="Bob's meeting", start=START, participants=[ann])
    assert sync(ann_mapping).created == 1  # Bob exports nothing: Ann's calendar shows it
    mapping = db.session.get(CalendarMapping, ann_mapping.id)
    mapping.export_scanned_at -= timedelta(hours=7)  # the periodic full scan is due
    db.session.commit()

    def bob_turns_export_on():
        db.session.get(CalendarMapping, bob_mapping.id).export_enabled = True

    _while_the_export_runs(app, monkeypatch, bob_turns_export_on)
    sync(ann_mapping, "export")
    monkeypatch.undo()
    assert sync(ann_mapping, "export").deleted == 1  # Bob's own sync shows it now
    sync(bob_mapping, "export")
    assert summary(sim, bob, meeting) == "Bob's meeting"


def test_synchronize_from_moved_earlier_during_the_first_export_is_honoured(
        app, connect_user, make_activity, sim, sync, monkeypatch):
    from datetime import date

    from portal.accounts.models import User
    from portal.google import services

    ann, mapping = connect_user(sync_from=date(2031, 6, 1))
    may = make_activity(ann, subject="May", start=START)

    def earlier():
        services.save_sync_settings(db.session.get(User, ann.id), auto_sync=False,
                                    period_minutes=60, sync_from=date(2031, 5, 1))

    _while_the_export_runs(app, monkeypatch, earlier)
    assert sync(mapping, "export").created == 0
    monkeypatch.undo()
    assert sync(mapping, "export").created == 1
    assert summary(sim, ann, may) == "May"


def test_an_edit_survives_a_failed_savepoint_in_its_transaction(connect_user, make_activity,
                                                                activity_types, sim, sync):
    from portal.crm.models import ActivityType

    ann, mapping = connect_user()
    meeting = make_activity(ann, subject="Before", start=START)
    sync(mapping)
    crm.save_activity(db.session.get(Activity, meeting.id), actor=ann, subject="After")
    try:
        with db.session.begin_nested():  # something else in the request fails, handled
            db.session.add(ActivityType(name="Meeting", position=99, active=True,
                                        color="#000000"))
            db.session.flush()
    except Exception:  # noqa: BLE001 - the duplicate name, expected
        pass
    db.session.commit()
    assert sync(mapping, "export").updated == 1
    assert summary(sim, ann, meeting) == "After"
