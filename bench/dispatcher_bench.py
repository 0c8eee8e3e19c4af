"""Dispatcher benchmark: one tick's fan-out for 1,000 users x 3 mappings.

Prints the wall time of ``enqueue_due_syncs`` (what each sync cron does on a tick), the
Redis round trips it used and the SQL statements it ran. Target: well under 1 s, and O(1)
round trips per batch of jobs rather than per job.

    .venv/bin/python bench/dispatcher_bench.py [--users 1000] [--mappings 3] [--rounds 3]

Each round starts over (no runs, Redis emptied) and the best tick is kept, as the issue's
figures were (the range is printed too).

Uses a temporary SQLite file and embedded Redis unless DATABASE_URL / REDIS_URL are set
(beware: it empties that database).
"""
import argparse
import contextlib
import os
import sys
import tempfile
import time
from datetime import datetime, timezone

sys.path.insert(0, os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir)))

from redis.connection import AbstractConnection  # noqa: E402

from common import row  # noqa: E402
from sqlalchemy import event, insert  # noqa: E402


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--users", type=int, default=1000)
    parser.add_argument("--mappings", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()

    from portal.jobs import embedded

    tmp = tempfile.mkdtemp(prefix="dispatcher-bench-")
    with contextlib.ExitStack() as stack:
        # A Redis server when REDIS_URL names one, else an embedded one for this run only.
        redis_url = os.environ.get("REDIS_URL") or stack.enter_context(embedded.server(tmp))
        _measure(args, tmp, redis_url)


def _measure(args, tmp, redis_url):
    from portal import create_app
    from portal.extensions import db

    app = create_app({
        "SECRET_KEY": "bench", "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL")
        or f"sqlite:///{tmp}/bench.sqlite",
        "REDIS_URL": redis_url, "REDISLITE_PATH": f"{tmp}/redis.rdb",
        "RQ_QUEUE": "dispatcher-bench"})
    # The tick runs in a work horse forked from `flask worker`, which froze what it loaded
    # at start (portal/jobs/worker.py): the same here, before any data is loaded.
    from portal.jobs.worker import prepare_for_work_horses

    prepare_for_work_horses()
    with app.app_context():
        db.drop_all()
        db.create_all()
        from portal.jobs.connection import get_queue, get_redis

        get_redis().flushdb()
        _populate(args.users, args.mappings)

        from portal.scheduler import dispatch

        round_trips = _count_redis_round_trips()
        statements = _count_sql(db.engine)
        ticks = []
        for _ in range(args.rounds):
            _make_both_due()
            get_redis().flushdb()
            round_trips["n"] = statements["n"] = 0
            started = time.perf_counter()
            ran = dispatch.tick()
            ticks.append(time.perf_counter() - started)
        elapsed = min(ticks)
        jobs = get_queue().count
        print(f"Dispatcher benchmark: one tick, {args.users} users x {args.mappings} "
              f"mappings, export and import both due ({', '.join(ran)}); best of "
              f"{args.rounds}")
        row("one tick: jobs enqueued", f"{jobs} (one per mapping, both directions)",
            f"{args.users * args.mappings}", jobs == args.users * args.mappings)
        row("one tick: time", f"{elapsed * 1000:.0f} ms ({args.rounds} runs "
            f"{min(ticks) * 1000:.0f}-{max(ticks) * 1000:.0f})", "< 1 s", elapsed < 1)
        row("one tick: Redis round trips", f"{round_trips['n']} "
            f"({round_trips['n'] / max(jobs, 1):.4f} per job)", "O(1) per 500 jobs",
            round_trips["n"] < 40 + jobs / 50)
        row("one tick: SQL statements", f"{statements['n']}", "(reference)", True)
        db.drop_all()


def _make_both_due():
    """Export and import due on the same tick (both crons every 15 minutes), no run yet."""
    from portal.extensions import db
    from portal.scheduler import services
    from portal.scheduler.models import CronTask
    from portal.sync.core.runs import SyncRun

    services.ensure_default_tasks()
    db.session.execute(SyncRun.__table__.delete())
    for task in db.session.scalars(db.select(CronTask)):
        task.next_due_at = None if task.handler.startswith("google_calendar") \
            else datetime(2999, 1, 1, tzinfo=timezone.utc)
    db.session.commit()


def _populate(users, mappings):
    """Users with a usable connection, automatic sync on, and N mapped activity types."""
    from portal.accounts.models import User
    from portal.crm.models import ActivityType
    from portal.extensions import db
    from portal.google.models import CalendarMapping, GoogleConnection, GoogleSyncSettings

    now = datetime.now(timezone.utc)
    db.session.execute(insert(ActivityType), [
        dict(name=f"Type {i}", position=i, active=True) for i in range(mappings)])
    db.session.execute(insert(User), [
        dict(email=f"u{i}@example.com", name=f"User {i}", password_hash="x", role="user",
             active=True, time_zone="UTC", created_at=now) for i in range(users)])
    db.session.execute(insert(GoogleConnection), [
        dict(user_id=i + 1, google_email=f"u{i}@example.com", scopes="calendar",
             refresh_token_encrypted="enc", status="connected") for i in range(users)])
    db.session.execute(insert(GoogleSyncSettings), [
        dict(user_id=i + 1, auto_sync=True, period_minutes=15) for i in range(users)])
    db.session.execute(insert(CalendarMapping), [
        dict(user_id=u + 1, activity_type_id=t + 1, calendar_id=f"cal-{u}-{t}",
             calendar_summary="", export_enabled=True, import_enabled=True,
             conflict_rule="crm_wins", delete_in_crm_when_deleted_in_google=False,
             updated_at=now)
        for u in range(users) for t in range(mappings)])
    db.session.commit()


def _count_redis_round_trips():
    counter = {"n": 0}
    original = AbstractConnection.send_packed_command

    def counting(self, command, check_health=True):
        counter["n"] += 1
        return original(self, command, check_health)

    AbstractConnection.send_packed_command = counting
    return counter


def _count_sql(engine):
    counter = {"n": 0}

    @event.listens_for(engine, "before_cursor_execute")
    def count(*_):
        counter["n"] += 1

    return counter


if __name__ == "__main__":
    main()
