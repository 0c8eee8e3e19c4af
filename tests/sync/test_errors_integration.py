"""How runs meet Google's errors (googlesim faults, the real client, RQ and Redis):
reconnect-needed stops the run, rate limits / 5xx / dropped connections are retried, and one
event Google rejects is logged on the run and on the activity and skipped."""
import pytest

from portal.crm import activities as crm
from portal.crm.models import Activity
from portal.extensions import db
from portal.google import services as google_services
from portal.sync.calendar.engine import google_event_id
from portal.sync.calendar.models import EventLink


def live(events):
    return [e for e in events if e.get("status") != "cancelled"]


def events_path(user):
    return f"/calendar/v3/calendars/{user.email}/events"


@pytest.fixture
def no_waiting(monkeypatch):
    from portal.google import calendar_events as ce

    waits = []
    monkeypatch.setattr(ce.Backoff, "wait", lambda self, attempt: waits.append(attempt))
    return waits


@pytest.mark.parametrize("where,fault", [
    # a 401 that survives google-auth's own refresh-and-retry (it refreshes up to twice)
    ("list", dict(method="GET", status=401, reason="authError", count=3)),
    ("batch", dict(method="POST", path="/batch/calendar/v3", status=403,
                   reason="insufficientPermissions", count=1)),
])
def test_reconnect_needed_stops_the_run_and_tells_the_user(connect_user, make_activity, sim,
                                                           sync, where, fault):
    ann, mapping = connect_user()
    for n in range(3):
        make_activity(ann, subject=f"Meeting {n}")
    if where == "list":
        fault = dict(fault, path=events_path(ann))
    sim.fault(**fault)
    run = sync(mapping)
    assert run.status == "needs_reauth"
    assert "reconnect" in run.message.lower()
    assert google_services.get_connection(ann).status == "needs_reauth"
    assert live(sim.events(ann.email, ann.email)) == []
    assert db.session.scalars(db.select(EventLink)).all() == []
    # the next runs do not call Google at all until the user reconnects
    sim.clear_faults()
    sim.stats_reset()
    assert sync(mapping).status == "needs_reauth"
    assert sum(sim.stats()["requests"].values()) == 0


@pytest.mark.parametrize("fault", [
    dict(method="GET", status=403, reason="rateLimitExceeded", count=1),
    dict(method="GET", status=403, reason="userRateLimitExceeded", count=2),
    dict(method="GET", status=429, reason="rateLimitExceeded", count=1),
    dict(method="GET", status=503, reason="backendError", count=1),
    # httplib2 silently retries a dropped connection once: two drops reach the portal
    dict(method="GET", drop=True, count=2),
    dict(method="POST", status=403, reason="userRateLimitExceeded", count=1),
])
def test_rate_limits_server_errors_and_drops_are_retried_with_backoff(
        connect_user, make_activity, sim, sync, no_waiting, fault):
    ann, mapping = connect_user()
    for n in range(3):
        make_activity(ann, subject=f"Meeting {n}")
    path = "/batch/calendar/v3" if fault["method"] == "POST" else events_path(ann)
    sim.fault(path=path, **fault)
    run = sync(mapping)
    assert run.status == "succeeded" and run.created == 3 and run.errors == 0
    assert len(live(sim.events(ann.email, ann.email))) == 3
    assert no_waiting, "the retry waited (backoff) first"


def test_rate_limit_that_does_not_end_leaves_the_run_retrying(connect_user, make_activity, sim,
                                                              sync, no_waiting):
    ann, mapping = connect_user()
    make_activity(ann, subject="Later")
    sim.fault(method="GET", path=events_path(ann), status=429, reason="rateLimitExceeded",
              count=50)
    run = sync(mapping)
    assert run.status == "retrying"
    assert "will retry" in run.message
    assert no_waiting == [0, 1, 2, 3]  # exponential attempts, then RQ takes over
    assert google_services.get_connection(ann).status != "needs_reauth"


def test_quota_exceeded_is_not_retried_and_fails_the_run(connect_user, make_activity, sim,
                                                         sync, no_waiting):
    ann, mapping = connect_user()
    make_activity(ann, subject="Quota")
    sim.fault(method="GET", path=events_path(ann), status=403, reason="quotaExceeded", count=1)
    run = sync(mapping)
    assert run.status == "failed"
    assert no_waiting == []
    assert google_services.get_connection(ann).status != "needs_reauth"


def _problem_on_page(client, activity):
    html = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    return 'data-testid="sync-problem"' in html and "400" in html


def test_a_rejected_change_is_logged_on_the_run_and_the_activity_and_the_rest_goes_on(
        connect_user, make_activity, sim, sync, client, login):
    ann, mapping = connect_user()
    fine = make_activity(ann, subject="Fine")
    bad = make_activity(ann, subject="Bad")
    sync(mapping)
    crm.save_activity(fine, actor=ann, subject="Fine, edited")
    crm.save_activity(bad, actor=ann, subject="Bad, edited")
    db.session.commit()
    bad_id = google_event_id(bad.uid)
    sim.fault(method="PATCH", path=f"{events_path(ann)}/{bad_id}", status=400,
              reason="invalid", count=1)
    run = sync(mapping)
    assert run.status == "succeeded"
    assert (run.updated, run.errors) == (1, 1)
    [entry] = [e for e in run.entries if e.action == "error"]
    assert (entry.activity_id, entry.event_id, entry.subject) == (bad.id, bad_id, "Bad, edited")
    assert "400" in entry.detail
    link = db.session.scalars(db.select(EventLink).where(EventLink.activity_id == bad.id)).one()
    assert "400" in link.last_error
    assert sim.get_event(ann.email, ann.email, google_event_id(fine.uid))["summary"] == \
        "Fine, edited"
    assert sim.get_event(ann.email, ann.email, bad_id)["summary"] == "Bad"
    login(client, ann)
    assert _problem_on_page(client, bad) and not _problem_on_page(client, fine)

    # the next run sends it again; once Google takes it the error is gone
    run = sync(mapping)
    assert (run.updated, run.errors) == (1, 0)
    assert sim.get_event(ann.email, ann.email, bad_id)["summary"] == "Bad, edited"
    db.session.expire_all()
    assert db.session.get(EventLink, link.id).last_error is None
    assert db.session.get(Activity, bad.id).subject == "Bad, edited"
    assert not _problem_on_page(client, bad)


def test_a_rejected_new_event_is_logged_with_its_activity(connect_user, make_activity, sim,
                                                          sync, client, login):
    ann, mapping = connect_user()
    one = make_activity(ann, subject="One")
    two = make_activity(ann, subject="Two")
    # the first insert of the batch is rejected
    sim.fault(method="POST", path=events_path(ann), status=400, reason="invalid", count=1)
    run = sync(mapping)
    assert (run.created, run.errors) == (1, 1)
    [entry] = [e for e in run.entries if e.action == "error"]
    assert "400" in entry.detail
    rejected = db.session.get(Activity, entry.activity_id)
    assert entry.subject == rejected.subject
    [accepted] = [a for a in (one, two) if a.id != rejected.id]
    assert [l.activity_id for l in db.session.scalars(db.select(EventLink))] == [accepted.id]
    assert [e["summary"] for e in live(sim.events(ann.email, ann.email))] == [accepted.subject]
    login(client, ann)
    assert _problem_on_page(client, rejected) and not _problem_on_page(client, accepted)
    run = sync(mapping)
    assert (run.created, run.errors) == (1, 0)
    assert len(live(sim.events(ann.email, ann.email))) == 2
    assert not _problem_on_page(client, rejected)


def test_a_zero_length_google_event_is_imported_and_syncs_both_ways(connect_user, sim, sync):
    """Google allows start == end (a deadline): it is shown and synced, not skipped."""
    ann, mapping = connect_user()
    at = {"dateTime": "2031-03-10T09:00:00+01:00", "timeZone": "Europe/Berlin"}
    deadline = sim.insert_event(ann.email, ann.email,
                                {"summary": "Deadline", "start": at, "end": at})
    sim.insert_event(ann.email, ann.email, {
        "summary": "Normal", "start": at,
        "end": {"dateTime": "2031-03-10T10:00:00+01:00", "timeZone": "Europe/Berlin"}})
    run = sync(mapping)
    assert run.status == "succeeded" and run.created == 2 and run.skipped == 0
    activity = db.session.scalars(db.select(Activity).where(
        Activity.subject == "Deadline")).one()
    assert activity.start_at == activity.end_at
    crm.save_activity(activity, actor=ann, description="Hand in the report")
    db.session.commit()
    assert sync(mapping).status == "succeeded"
    event = sim.get_event(ann.email, ann.email, deadline["id"])
    assert event["description"] == "Hand in the report"
    assert event["start"] == event["end"]


@pytest.mark.parametrize("status,count,outcome", [
    (503, 50, "retrying"),  # still failing after the run's own retries: RQ retries later
    (400, 1, "succeeded"),  # retried within the run
])
def test_a_token_endpoint_answering_an_error_object_is_retried_not_failed(
        connect_user, make_activity, sim, sync, monkeypatch, no_waiting, status, count,
        outcome):
    """Google's API envelope ({"error": {...}}) where the OAuth spec puts a string used to
    crash the error classification (TypeError) and fail the run."""
    from types import SimpleNamespace

    from google.auth import _exponential_backoff

    from datetime import timedelta

    from portal.core.types import utcnow

    monkeypatch.setattr(_exponential_backoff, "time", SimpleNamespace(sleep=lambda s: None))
    ann, mapping = connect_user()
    make_activity(ann, subject="After the outage")
    conn = google_services.get_connection(ann)
    conn.token_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    sim.fault(method="POST", path="/token", status=status, count=count)
    run = sync(mapping)
    assert run.status == outcome, run.message
    assert no_waiting, "retried after a backoff"
    assert google_services.get_connection(ann).status == "connected"


@pytest.mark.parametrize("how", ["token", "key"])
def test_tokens_that_cannot_be_decrypted_ask_for_a_reconnect_and_scheduled_runs_skip_the_user(
        app, client, login, connect_user, sim, monkeypatch, how):
    """One stored token written with another key, or the whole key rotated away: the run
    says why, the connection shows the reconnect banner (the mark survives the run's
    rollback), and the scheduler skips the user until they reconnect."""
    from datetime import timedelta

    from cryptography.fernet import Fernet

    from portal.core.types import utcnow
    from portal.jobs.worker import make_worker
    from portal.scheduler.fanout import enqueue_due_syncs
    from portal.sync.core.runs import SyncRun

    ann, mapping = connect_user()
    google_services.save_sync_settings(ann, auto_sync=True, period_minutes=15, sync_from=None)
    conn = google_services.get_connection(ann)
    if how == "token":
        conn.refresh_token_encrypted = Fernet(Fernet.generate_key()).encrypt(b"rt").decode()
    else:
        monkeypatch.setitem(app.config, "ENCRYPTION_KEY", "a-key-that-replaced-the-old-one")
    db.session.commit()

    assert len(enqueue_due_syncs("export").job_ids) == 1
    [run] = db.session.scalars(db.select(SyncRun)).all()
    make_worker(app, simple=True).work(burst=True)
    db.session.expire_all()
    run = db.session.get(SyncRun, run.id)
    assert run.status == "needs_reauth"
    assert "cannot be read" in run.message and "reconnect" in run.message
    assert google_services.get_connection(ann).status == "needs_reauth"

    login(client, ann)
    page = client.get("/activities").get_data(as_text=True)
    assert 'data-testid="google-reauth-banner"' in page
    assert 'data-testid="google-reauth-banner"' in client.get("/google/sync").get_data(
        as_text=True)
    result = enqueue_due_syncs("export", now=utcnow() + timedelta(hours=1))
    assert result.job_ids == [] and result.skipped_reauth == 1
