"""A sync job run by a separate worker process (forking RQ Worker), sharing the database,
Redis and googlesim with the test, as web and worker do in production."""
import os
import subprocess
import sys

from portal import ROOT
from portal.extensions import db
from portal.sync.models import SyncRun

WORKER = ("from portal import create_app; from portal.jobs.worker import make_worker; "
          "app = create_app(); app.app_context().push(); make_worker(app).work(burst=True)")


def _worker_env(app):
    """The environment of a worker process sharing this test's database, Redis and sim."""
    env = dict(os.environ, PORTAL_ENV="development", SECRET_KEY=app.config["SECRET_KEY"],
               ENCRYPTION_KEY=app.config["ENCRYPTION_KEY"],
               DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               PORTAL_INSTANCE_PATH=os.path.dirname(app.config["REDISLITE_PATH"]),
               RQ_QUEUE=app.config["RQ_QUEUE"], GOOGLE_BASE_URL=app.config["GOOGLE_BASE_URL"])
    if app.config.get("REDIS_URL"):
        env["REDIS_URL"] = app.config["REDIS_URL"]
    return env


def test_a_separate_worker_process_runs_the_sync(app, connect_user, make_activity, sim):
    from portal.jobs.sync import enqueue_sync

    ann, mapping = connect_user()
    make_activity(ann, subject="Synced by another process")
    [run] = enqueue_sync(ann, mapping)
    done = subprocess.run([sys.executable, "-c", WORKER], cwd=ROOT, env=_worker_env(app),
                          timeout=120, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr[-2000:]
    db.session.expire_all()
    run = db.session.get(SyncRun, run.id)
    assert run.status == "succeeded", (run.message, done.stderr[-2000:])
    assert [e["summary"] for e in sim.events(ann.email, ann.email)] == [
        "Synced by another process"]


def test_worker_command_is_a_click_command_named_worker():
    from portal.jobs.worker import worker_command

    assert worker_command.name == "worker"
    assert {p.name for p in worker_command.params} >= {"burst"}


def test_a_worker_killed_mid_export_leaves_nothing_the_next_run_cannot_finish(
        app, connect_user, activity_types, sim, sync):
    """SIGKILL a real worker (and its work horse) between two batches of an export; the next
    run finishes it: every activity exactly once in Google, nothing lost, no duplicate."""
    import signal
    import time
    from datetime import datetime, timedelta, timezone

    from portal.crm.models import Activity
    from portal.jobs.connection import get_redis
    from portal.jobs.locks import mapping_lock_key
    from portal.jobs.sync import enqueue_sync
    from portal.sync.models import EventLink

    ann, mapping = connect_user()
    start = datetime(2031, 1, 6, 9, tzinfo=timezone.utc)
    db.session.add_all([
        Activity(subject=f"Visit {n}", activity_type=activity_types["Meeting"], organizer=ann,
                 created_by=ann, time_zone="UTC", start_at=start + timedelta(hours=n),
                 end_at=start + timedelta(hours=n, minutes=30)) for n in range(160)])
    db.session.commit()
    # Slow batches so the kill lands while the export is under way.
    sim.fault(method="POST", path="/batch/calendar/v3", delay_ms=1500, count=10)
    enqueue_sync(ann, mapping, "export")
    worker = subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT, env=_worker_env(app),
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                              start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            db.session.expire_all()
            if db.session.scalar(db.select(db.func.count(EventLink.id))) >= 50:
                break
            time.sleep(0.2)
        else:
            raise AssertionError("the worker never committed its first batch")
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
    linked = db.session.scalar(db.select(db.func.count(EventLink.id)))
    assert 50 <= linked < 160

    sim.clear_faults()
    # The dead job's lock lapses after its expiry; don't wait 15 minutes for it here.
    get_redis().delete(mapping_lock_key(mapping.id))
    run = sync(mapping, "export")
    assert run.status == "succeeded", run.message
    events = [e for e in sim.events(ann.email, ann.email) if e.get("status") != "cancelled"]
    assert sorted(e["summary"] for e in events) == sorted(f"Visit {n}" for n in range(160))
    assert len({e["id"] for e in events}) == 160
    assert db.session.scalar(db.select(db.func.count(EventLink.id))) == 160
    assert sync(mapping, "export").created == 0
