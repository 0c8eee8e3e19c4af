"""Push benchmark: how long a change made in Google takes to reach the CRM when Google's
push notification triggers the import (googlesim calls the portal's webhook over HTTP, the
webhook queues the import, an idle RQ worker in its own process runs it).

Each edit is a new event in the user's Google calendar; the delay is measured from the
insert at googlesim until the activity is readable in the CRM's database. Target: median
under 5 s (without push the polling cron takes up to its period: 15 minutes or more).

    .venv/bin/python bench/push_bench.py [--edits 15]
"""
import argparse
import multiprocessing
import statistics
import tempfile
import threading
import time

import common  # noqa: F401
from common import Sim, connect, free_port, make_app, row, shared_redis, stop_embedded_redis


def run_worker(sim_url, database_url, redis_url, push_url):
    """An ordinary worker (forking a work horse per job), idle until a job comes."""
    import logging

    logging.disable(logging.WARNING)
    from portal.extensions import db
    from portal.jobs.worker import make_worker

    app = make_app(sim_url, SQLALCHEMY_DATABASE_URI=database_url, REDIS_URL=redis_url,
                   GOOGLE_PUSH_URL=push_url)
    with app.app_context():
        db.engine.dispose()
        make_worker(app).work(with_scheduler=False)


def in_crm(app, subject):
    from portal.crm.models import Activity
    from portal.extensions import db

    with app.app_context():
        found = db.session.scalar(db.select(Activity.id).where(Activity.subject == subject))
        db.session.remove()
        return found is not None


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--edits", type=int, default=15)
    args = parser.parse_args()
    import logging

    logging.disable(logging.WARNING)
    from werkzeug.serving import make_server

    from portal.extensions import db
    from portal.google import push

    sim = Sim()
    tmp = tempfile.mkdtemp(prefix="push-bench-")
    database_url = f"sqlite:///{tmp}/push.sqlite"
    redis_url = shared_redis()
    port = free_port()
    push_url = f"http://127.0.0.1:{port}"
    app = make_app(sim.base_url, SQLALCHEMY_DATABASE_URI=database_url, REDIS_URL=redis_url,
                   GOOGLE_PUSH_URL=push_url)
    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    worker = None
    try:
        with app.app_context():
            db.create_all()
            user, mapping = connect(app, sim, email="push@example.com")
            email = user.email
            push.reconcile()
            db.session.commit()
            db.session.remove()
        ctx = multiprocessing.get_context("fork")
        worker = ctx.Process(target=run_worker, args=(sim.base_url, database_url, redis_url,
                                                      push_url), daemon=True)
        worker.start()
        time.sleep(2)  # the worker is up and idle; Google's "sync" message has come and gone
        delays = []
        for n in range(args.edits):
            subject = f"Pushed {n}"
            started = time.perf_counter()
            sim.control.insert_event(email, email, {
                "summary": subject,
                "start": {"dateTime": f"2031-06-{1 + n % 28:02d}T10:00:00+02:00"},
                "end": {"dateTime": f"2031-06-{1 + n % 28:02d}T11:00:00+02:00"}})
            while not in_crm(app, subject):
                if time.perf_counter() - started > 60:
                    raise SystemExit(f"edit {n} never reached the CRM")
                time.sleep(0.01)
            delays.append(time.perf_counter() - started)
            time.sleep(0.5)  # the worker is idle again before the next edit
        median = statistics.median(delays)
        print(f"Push benchmark: {args.edits} Google edits, one idle worker", flush=True)
        row("Google edit -> CRM (median)", f"{median:.2f} s (max {max(delays):.2f} s)",
            "< 5 s", median < 5)
    finally:
        if worker is not None:
            worker.terminate()
            worker.join(10)
        server.shutdown()
        sim.stop()
        stop_embedded_redis()


if __name__ == "__main__":
    main()
