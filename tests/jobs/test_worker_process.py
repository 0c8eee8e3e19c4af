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


def test_a_separate_worker_process_runs_the_sync(app, connect_user, make_activity, sim):
    from portal.jobs.sync import enqueue_sync

    ann, mapping = connect_user()
    make_activity(ann, subject="Synced by another process")
    [run] = enqueue_sync(ann, mapping)
    env = dict(os.environ, PORTAL_ENV="development", SECRET_KEY=app.config["SECRET_KEY"],
               ENCRYPTION_KEY=app.config["ENCRYPTION_KEY"],
               DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
               PORTAL_INSTANCE_PATH=os.path.dirname(app.config["REDISLITE_PATH"]),
               RQ_QUEUE=app.config["RQ_QUEUE"], GOOGLE_BASE_URL=app.config["GOOGLE_BASE_URL"])
    if app.config.get("REDIS_URL"):
        env["REDIS_URL"] = app.config["REDIS_URL"]
    done = subprocess.run([sys.executable, "-c", WORKER], cwd=ROOT, env=env, timeout=120,
                          capture_output=True, text=True)
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
