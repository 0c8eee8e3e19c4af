"""A sync job run by a separate worker process (forking RQ Worker), sharing the database,
Redis and googlesim with the test, as web and worker do in production."""
import os
import subprocess
import sys

from portal import ROOT
from portal.extensions import db
from portal.sync.core.runs import SyncRun

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
    """SIGKILL a real worker (and so its work horse) between two batches of an export; the
    next run finishes it: every activity exactly once in Google, nothing lost, no
    duplicate."""
    from portal.jobs.sync import enqueue_sync
    from portal.sync.calendar.models import EventLink

    ann, mapping = connect_user()
    _kill_mid_export(app, ann, mapping, activity_types, sim,
                     lambda: enqueue_sync(ann, mapping, "export")[0].id)
    linked = db.session.scalar(db.select(db.func.count(EventLink.id)))
    assert 50 <= linked < 160

    # The next sync finds the dead worker's run, fails it and takes over its lock at once.
    run = sync(mapping, "export")
    assert run.status == "succeeded", run.message
    events = [e for e in sim.events(ann.email, ann.email) if e.get("status") != "cancelled"]
    assert sorted(e["summary"] for e in events) == sorted(f"Visit {n}" for n in range(160))
    assert len({e["id"] for e in events}) == 160
    assert db.session.scalar(db.select(db.func.count(EventLink.id))) == 160
    assert sync(mapping, "export").created == 0


def _kill_mid_export(app, ann, mapping, activity_types, sim, enqueue):
    """Start an export of 160 activities on a real forking worker process and SIGKILL it
    (and its work horse) once the first batch is committed; returns the dead run."""
    import signal
    import tempfile
    import time
    import uuid
    from datetime import datetime, timedelta, timezone

    from portal.crm.models import Activity
    from portal.sync.calendar.models import EventLink

    start = datetime(2031, 1, 6, 9, tzinfo=timezone.utc)
    db.session.add_all([
        Activity(subject=f"Visit {n}", activity_type=activity_types["Meeting"], organizer=ann,
                 created_by=ann, time_zone="UTC", start_at=start + timedelta(hours=n),
                 end_at=start + timedelta(hours=n, minutes=30)) for n in range(160)])
    db.session.commit()
    # Slow batches: the kill lands mid-export, and a horse that outlived its worker would
    # still be busy with the remaining three batches (7.5 s) when it is looked for.
    sim.fault(method="POST", path="/batch/calendar/v3", delay_ms=2500, count=10)
    run_id = enqueue()
    log = tempfile.TemporaryFile("w+")
    mark = f"PORTAL_TEST_WORKER={uuid.uuid4().hex}"  # inherited by every process it forks
    env = dict(_worker_env(app), PORTAL_TEST_WORKER=mark.split("=", 1)[1])
    worker = subprocess.Popen([sys.executable, "-c", WORKER], cwd=ROOT, env=env,
                              stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            db.session.expire_all()
            if db.session.scalar(db.select(db.func.count(EventLink.id))) >= 50:
                break
            time.sleep(0.2)
        else:
            log.seek(0)
            run = db.session.get(SyncRun, run_id)
            raise AssertionError(f"the worker never committed its first batch ({run.status}: "
                                 f"{run.message}): " + log.read()[-3000:])
    finally:
        os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        log.close()
    db.session.expire_all()
    run = db.session.get(SyncRun, run_id)
    # The work horse (in a process group of its own) died with its worker: nothing syncs on
    # unseen next to the run that will replace this one.
    deadline = time.monotonic() + 5
    while _processes_with(mark) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _processes_with(mark) == []
    sim.clear_faults()
    assert run.status == "running"
    return run


def _processes_with(variable):
    """Pids of live processes started with ``NAME=value`` in their environment."""
    marker = variable.encode()
    found = []
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            with open(f"/proc/{pid}/environ", "rb") as fh:
                environ = fh.read().split(b"\0")
            with open(f"/proc/{pid}/stat") as fh:
                state = fh.read().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if marker in environ and state != "Z":
            found.append(int(pid))
    return found


def test_a_killed_worker_fails_its_run_and_the_next_synchronize_now_starts_at_once(
        app, client, login, connect_user, activity_types, sim, work):
    from rq.registry import FailedJobRegistry

    from portal.jobs.connection import get_queue, get_redis
    from portal.jobs.locks import mapping_lock_key
    from portal.jobs.reaper import DEAD_WORKER_MESSAGE

    ann, mapping = connect_user()
    login(client, ann)

    def sync_now():
        response = client.post_form("/sync/now", {"mapping_id": mapping.id},
                                    page="/google/sync")
        assert response.status_code == 302
        return int(response.headers["Location"].rsplit("/", 1)[1])

    dead = _kill_mid_export(app, ann, mapping, activity_types, sim, sync_now)
    # The next click starts a new run at once (no "already running", no 15-minute wait).
    new_id = sync_now()
    assert new_id != dead.id
    db.session.expire_all()
    dead = db.session.get(SyncRun, dead.id)
    assert dead.status == "failed" and dead.message == DEAD_WORKER_MESSAGE
    assert dead.finished_at is not None
    new = db.session.get(SyncRun, new_id)
    assert get_redis().get(mapping_lock_key(mapping.id)).decode() == new.job_id
    # RQ records the dead job as failed: it is never retried behind the new run's back.
    assert dead.job_id in FailedJobRegistry(queue=get_queue()).get_job_ids()
    work()
    new = db.session.get(SyncRun, new_id)
    assert new.status == "succeeded", new.message
    events = [e for e in sim.events(ann.email, ann.email) if e.get("status") != "cancelled"]
    assert sorted(e["summary"] for e in events) == sorted(f"Visit {n}" for n in range(160))


def test_the_tick_fails_the_run_of_a_worker_that_stopped_its_heartbeats(
        app, connect_user, activity_types, sim, monkeypatch):
    """A worker on another machine: only its missing heartbeats tell. RQ gives a busy worker
    interval + 60 s (70 s here); the scheduler's tick, every minute, then marks the run."""
    from datetime import timedelta

    from portal.core.types import utcnow
    from portal.jobs import reaper
    from portal.jobs.connection import get_redis
    from portal.jobs.locks import mapping_lock_key
    from portal.jobs.sync import enqueue_sync
    from portal.scheduler import dispatch

    ann, mapping = connect_user()
    dead = _kill_mid_export(app, ann, mapping, activity_types, sim,
                            lambda: enqueue_sync(ann, mapping, "export")[0].id)
    monkeypatch.setattr(reaper, "this_host", lambda: "another-machine")
    dispatch.tick()
    db.session.expire_all()
    assert db.session.get(SyncRun, dead.id).status == "running"  # heartbeats not overdue yet

    later = utcnow() + timedelta(seconds=reaper.WORKER_HEARTBEAT_INTERVAL + 61)
    monkeypatch.setattr(reaper, "utcnow", lambda: later)
    dispatch.tick()
    db.session.expire_all()
    dead = db.session.get(SyncRun, dead.id)
    assert dead.status == "failed" and dead.message == reaper.DEAD_WORKER_MESSAGE
    assert get_redis().get(mapping_lock_key(mapping.id)) is None
