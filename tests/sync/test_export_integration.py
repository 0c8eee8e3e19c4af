"""Export CRM -> Google through googlesim, with the real client, RQ and Redis."""
from datetime import date, datetime, timedelta, timezone

from portal.crm import activities as crm
from portal.crm.models import Activity
from portal.extensions import db
from portal.sync.calendar.engine import google_event_id
from portal.sync.calendar.models import EventLink
from portal.sync.core.runs import SyncRunEntry


def live(events):
    return [e for e in events if e.get("status") != "cancelled"]


def test_export_creates_updates_and_deletes_events(connect_user, make_activity, sim, sync,
                                                   make_user):
    ann, mapping = connect_user()
    bob = make_user(email="bob@example.com", name="Bob")
    start = datetime(2031, 5, 6, 8, 0, tzinfo=timezone.utc)
    meeting = make_activity(ann, subject="Kick-off 🚀", start=start, location="Zürich",
                            participants=[bob], reminder_minutes=10)
    run = sync(mapping)
    assert run.status == "succeeded" and run.created == 1
    [event] = live(sim.events(ann.email, ann.email))
    assert event["id"] == google_event_id(meeting.uid)
    assert event["summary"] == "Kick-off 🚀"
    assert event["location"] == "Zürich"
    assert event["start"] == {"dateTime": "2031-05-06T10:00:00+02:00", "timeZone": "Europe/Berlin"}
    assert [a["email"] for a in event["attendees"]] == ["bob@example.com"]
    assert event["reminders"]["overrides"] == [{"method": "popup", "minutes": 10}]

    crm.save_activity(meeting, actor=ann, subject="Kick-off (moved)",
                      start_at=start + timedelta(days=1), end_at=start + timedelta(days=1, hours=1))
    db.session.commit()
    run = sync(mapping)
    assert run.updated == 1 and run.created == 0
    event = sim.get_event(ann.email, ann.email, google_event_id(meeting.uid))
    assert event["summary"] == "Kick-off (moved)"
    assert event["start"]["dateTime"] == "2031-05-07T10:00:00+02:00"

    crm.delete_activity(db.session.get(Activity, meeting.id), actor=ann)
    db.session.commit()
    run = sync(mapping)
    assert run.deleted == 1
    assert live(sim.events(ann.email, ann.email)) == []
    assert db.session.scalars(db.select(EventLink)).all() == []


def test_unchanged_activities_are_not_sent_again(connect_user, make_activity, sim, sync):
    ann, mapping = connect_user()
    for n in range(3):
        make_activity(ann, subject=f"M{n}")
    sync(mapping)
    sim.stats_reset()
    run = sync(mapping)
    assert (run.created, run.updated, run.deleted) == (0, 0, 0)
    stats = sim.stats()
    assert stats["batch_parts"] == 0
    assert sum(stats["requests"].values()) == 1  # the incremental events.list


def test_all_day_activity_gets_googles_exclusive_end(connect_user, make_activity, sim, sync):
    ann, mapping = connect_user()
    make_activity(ann, subject="Offsite", all_day=True, start_date=date(2031, 7, 1),
                  end_date=date(2031, 7, 3))
    sync(mapping)
    [event] = live(sim.events(ann.email, ann.email))
    assert event["start"] == {"date": "2031-07-01"} and event["end"] == {"date": "2031-07-04"}


def test_hidden_retyped_and_early_activities(connect_user, make_activity, sim, sync,
                                             activity_types):
    ann, mapping = connect_user(sync_from=date(2031, 1, 1))
    early = make_activity(ann, subject="Old", start=datetime(2030, 12, 1, 9, tzinfo=timezone.utc))
    later = datetime(2031, 2, 1, 9, tzinfo=timezone.utc)
    hidden = make_activity(ann, subject="Hidden", start=later)
    retyped = make_activity(ann, subject="Retyped", start=later)
    sync(mapping)
    assert sorted(e["summary"] for e in live(sim.events(ann.email, ann.email))) == [
        "Hidden", "Retyped"]
    crm.save_activity(hidden, actor=ann, show_in_calendar=False)
    crm.save_activity(retyped, actor=ann, activity_type=activity_types["Call"])
    db.session.commit()
    run = sync(mapping)
    assert run.deleted == 2
    assert live(sim.events(ann.email, ann.email)) == []
    assert early.id is not None


def test_held_activity_is_no_longer_updated(connect_user, make_activity, sim, sync):
    ann, mapping = connect_user()
    meeting = make_activity(ann, subject="Review")
    sync(mapping)
    crm.save_activity(meeting, actor=ann, status="Held", subject="Review (minutes added)")
    db.session.commit()
    run = sync(mapping)
    assert run.skipped == 1
    assert live(sim.events(ann.email, ann.email))[0]["summary"] == "Review"


def test_one_event_google_rejects_is_logged_and_the_rest_go_through(connect_user, make_activity,
                                                                    sim, sync):
    ann, mapping = connect_user()
    make_activity(ann, subject="Fine one")
    bad = make_activity(ann, subject="Bad one")
    sim.fault(method="POST", path=f"/calendar/v3/calendars/{ann.email}/events", status=400,
              reason="invalid", count=1)
    run = sync(mapping)
    assert run.errors == 1 and run.created == 1
    [error] = [e for e in run.entries if e.action == "error"]
    assert "400" in error.detail
    # the next run retries the rejected one
    run = sync(mapping)
    assert run.created == 1
    assert len(live(sim.events(ann.email, ann.email))) == 2
    assert bad.id is not None


def test_a_participant_exports_when_the_organizer_has_no_sync(connect_user, make_activity,
                                                              make_user, sim, sync):
    """Creatio's rule: the organizer's calendar carries the event; when the organizer has no
    sync set up, the participant who runs the sync counts as organizer."""
    ann, ann_mapping = connect_user("ann@example.com")
    carl = make_user(email="carl@example.com", name="Carl")  # never connected Google
    make_activity(carl, subject="Carl's workshop", participants=[ann])
    assert sync(ann_mapping).created == 1
    assert [e["summary"] for e in live(sim.events(ann.email, ann.email))] == ["Carl's workshop"]

    bob, bob_mapping = connect_user("bob@example.com")
    make_activity(bob, subject="Bob's review", participants=[ann])
    assert sync(ann_mapping).created == 0  # Bob's own sync carries it
    assert sync(bob_mapping).created == 1
    # Ann's calendar holds Google's invitation copy (Bob organizes it), not a second event
    # of her own; her next sync links that copy to the same activity, as a guest.
    [copy] = [e for e in live(sim.events(ann.email, ann.email)) if e["summary"] == "Bob's review"]
    assert copy["organizer"]["email"] == bob.email
    assert sync(ann_mapping).created == 0
    assert db.session.scalar(db.select(db.func.count(Activity.id)).where(
        Activity.subject == "Bob's review")) == 1


def test_switching_between_all_day_and_timed_in_the_crm_follows_in_google(
        connect_user, make_activity, sim, sync):
    """Google's patch merges start/end, so the export must clear the other kind of time."""
    ann, mapping = connect_user()
    start = datetime(2031, 6, 2, 8, 0, tzinfo=timezone.utc)
    meeting = make_activity(ann, subject="Offsite", start=start)
    sync(mapping)
    event_id = google_event_id(meeting.uid)

    crm.save_activity(meeting, actor=ann, all_day=True, start_date=date(2031, 6, 2),
                      end_date=date(2031, 6, 3))
    db.session.commit()
    run = sync(mapping)
    assert (run.updated, run.errors) == (1, 0), [e.detail for e in run.entries]
    event = sim.get_event(ann.email, ann.email, event_id)
    assert (event["start"], event["end"]) == ({"date": "2031-06-02"}, {"date": "2031-06-04"})

    crm.save_activity(db.session.get(Activity, meeting.id), actor=ann, all_day=False,
                      start_at=start, end_at=start + timedelta(hours=1))
    db.session.commit()
    run = sync(mapping)
    assert (run.updated, run.errors) == (1, 0), [e.detail for e in run.entries]
    event = sim.get_event(ann.email, ann.email, event_id)
    assert "date" not in event["start"]
    assert event["start"]["dateTime"] == "2031-06-02T10:00:00+02:00"


def test_a_link_written_meanwhile_by_another_run_does_not_fail_this_one(
        connect_user, make_activity, sim, sync, monkeypatch):
    """A killed worker's last commit can land after the next run has read the links; the
    next run's own link for that event must update it, not fail the run on the unique key."""
    from portal.sync.calendar import runner

    ann, mapping = connect_user()
    meeting = make_activity(ann, subject="Raced")
    original = runner.Runner.flush_counts

    def other_run_commits_first(self, progress=None):
        for values in self.new_links:
            if not db.session.scalar(db.select(EventLink.id).where(
                    EventLink.mapping_id == values["mapping_id"],
                    EventLink.event_id == values["event_id"])):
                db.session.add(EventLink(**{**values, "etag": '"stale"'}))
                db.session.flush()
        return original(self, progress)

    monkeypatch.setattr(runner.Runner, "flush_counts", other_run_commits_first)
    run = sync(mapping)
    assert (run.status, run.created, run.errors) == ("succeeded", 1, 0), run.message
    [link] = db.session.scalars(db.select(EventLink)).all()
    assert link.activity_id == meeting.id and link.etag != '"stale"'
