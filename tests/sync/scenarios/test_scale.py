"""Scale: one change among 2,000 synced events touches exactly one event and one activity
(googlesim, real client, RQ worker); requests are counted with googlesim's statistics."""
from datetime import datetime, timedelta

from portal.crm.models import Activity
from portal.extensions import db
from portal.sync.calendar.engine import google_event_id

from scenario_kit import UTC, edit, fresh, live

N = 2000
START = datetime(2031, 1, 6, 7, 0, tzinfo=UTC)


def writes(stats):
    return sum(n for key, n in stats.get("batch_requests", {}).items()
               if key.split()[0] in ("POST", "PATCH", "PUT", "DELETE")) + sum(
        n for key, n in stats["requests"].items()
        if key.split()[0] in ("PATCH", "PUT", "DELETE")
        or (key.startswith("POST /calendar/v3/calendars/") and key.endswith("/events")))


def versions():
    return dict(db.session.execute(db.select(Activity.id, Activity.version)).all())


def test_one_change_among_two_thousand_events_touches_one_event(
        connect_user, activity_types, sim, sync):
    ann, mapping = connect_user()
    meeting = activity_types["Meeting"]
    db.session.add_all([
        Activity(subject=f"Visit {n:04d}", activity_type=meeting, organizer=ann, created_by=ann,
                 time_zone="Europe/Berlin", start_at=START + timedelta(hours=3 * n),
                 end_at=START + timedelta(hours=3 * n, minutes=45))
        for n in range(N)])
    db.session.commit()
    run = sync(mapping)
    assert (run.status, run.created, run.errors) == ("succeeded", N, 0)
    assert len(live(sim, ann.email)) == N
    sync(mapping)  # reads its own writes back once

    # one CRM edit: one event written, nothing else
    target = db.session.scalars(db.select(Activity).where(
        Activity.subject == "Visit 1234")).one()
    edit(target, location="Hall 3")
    before = versions()
    sim.stats_reset()
    run = sync(mapping)
    stats = sim.stats()
    assert (run.created, run.updated, run.deleted, run.errors) == (0, 1, 0, 0)
    assert stats["batch_parts"] == 1 and writes(stats) == 1
    assert stats["requests"].get("GET /calendar/v3/calendars/{calendarId}/events") == 1
    event = sim.get_event(ann.email, ann.email, google_event_id(target.uid))
    assert event["location"] == "Hall 3"
    assert versions() == before

    # one Google edit: one activity changes, nothing is written back
    other = db.session.scalars(db.select(Activity).where(
        Activity.subject == "Visit 0042")).one()
    sim.patch_event(ann.email, ann.email, google_event_id(other.uid),
                    {"description": "Bring the badge"})
    sim.stats_reset()
    run = sync(mapping)
    stats = sim.stats()
    assert (run.created, run.updated, run.deleted, run.errors) == (0, 1, 0, 0)
    assert writes(stats) == 0
    assert fresh(other).description == "Bring the badge"
    changed = {k for k, v in versions().items() if before[k] != v}
    assert changed == {other.id}

    # Google forgets the sync token: the full listing that follows changes nothing
    sim.expire(sync_tokens=True)
    before = versions()
    sim.stats_reset()
    run = sync(mapping)
    assert (run.created, run.updated, run.deleted, run.errors) == (0, 0, 0, 0)
    assert writes(sim.stats()) == 0
    assert versions() == before
