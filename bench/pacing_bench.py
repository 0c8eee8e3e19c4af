"""Pacing benchmark: four workers export four calendars of ONE Google account at once,
against a googlesim that enforces a per-user rate (as Google's quota does). With the shared
pace (a token bucket per account in Redis) they stay within it: no rateLimitExceeded. Without
it, the same export storms the limit.

    .venv/bin/python bench/pacing_bench.py [--events 200] [--rate 80] [--limit 100]
"""
import argparse
import multiprocessing
import os
import tempfile
import time

import common  # noqa: F401
from common import Sim, add_activities, connect, make_app, row

TYPES = ("Call", "Meeting", "Task", "Visit")


def setup(sim, database_url, redis_url, events):
    from portal.crm.models import ActivityType
    from portal.extensions import db

    app = make_app(sim.base_url, SQLALCHEMY_DATABASE_URI=database_url, REDIS_URL=redis_url)
    mapping_ids = []
    with app.app_context():
        db.create_all()
        from portal.crm.services import ensure_default_activity_types
        ensure_default_activity_types()
        if not db.session.scalars(db.select(ActivityType).where(
                ActivityType.name == "Visit")).first():
            db.session.add(ActivityType(name="Visit", position=9))
            db.session.commit()
        email = "paced@example.com"
        for n, type_name in enumerate(TYPES):
            calendar = email if n == 0 else sim.control.create_calendar(
                email, f"Calendar {n}")["id"]
            user, mapping = connect(app, sim, email=email, type_name=type_name,
                                    calendar_id=calendar)
            add_activities(user, mapping, events)
            mapping_ids.append(mapping.id)
    return mapping_ids


def worker(sim_url, database_url, redis_url, mapping_id, rate, out):
    from portal.extensions import db
    from portal.google.calendar_events import Backoff
    from portal.sync.calendar.runner import run_mapping

    app = make_app(sim_url, SQLALCHEMY_DATABASE_URI=database_url, REDIS_URL=redis_url,
                   GOOGLE_WRITES_PER_SECOND=rate, GOOGLE_WRITE_BURST=50)
    with app.app_context():
        db.engine.dispose()
        run = run_mapping(mapping_id, "export", backoff=Backoff(attempts=8))
        out.put((run.status, run.created))


def measure(sim, events, rate):
    tmp = tempfile.mkdtemp(prefix="pacing-bench-")
    database_url = f"sqlite:///{tmp}/pacing.sqlite"
    redis_url = common.embedded_redis_env(tmp)["REDIS_URL"]
    mapping_ids = setup(sim, database_url, redis_url, events)
    sim.control.stats_reset()
    ctx = multiprocessing.get_context("fork")
    out = ctx.Queue()
    started = time.perf_counter()
    procs = [ctx.Process(target=worker, args=(sim.base_url, database_url, redis_url, m, rate,
                                              out)) for m in mapping_ids]
    for proc in procs:
        proc.start()
    results = [out.get() for _ in procs]
    for proc in procs:
        proc.join()
    wall = time.perf_counter() - started
    common.stop_embedded_redis()
    return results, wall, sim.control.stats()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200, help="per calendar")
    parser.add_argument("--rate", type=float, default=80, help="the pace, writes a second")
    parser.add_argument("--limit", type=float, default=100,
                        help="googlesim's per-user limit, requests a second")
    args = parser.parse_args()
    import logging
    logging.disable(logging.INFO)
    sim = Sim()
    try:
        total = 4 * args.events
        print(f"Pacing benchmark: 4 workers, one Google account, {total} writes; googlesim "
              f"allows {args.limit:.0f}/s per account (burst 50)", flush=True)
        for rate in (args.rate, 0):
            sim.control.reset()
            sim.control.rate_limit(per_user_per_second=args.limit, burst=50)
            results, wall, stats = measure(sim, args.events, rate)
            limited = stats.get("rate_limited", 0)
            label = f"paced at {rate:.0f}/s" if rate else "not paced"
            created = sum(c for _, c in results)
            pace = created / wall if wall else 0
            if rate:
                row(f"{label}: refused by the rate limit", f"{limited} of {stats['batch_parts']}"
                    " parts", "0", limited == 0)
                row(f"{label}: throughput", f"{pace:.0f} writes/s ({created} in {wall:.1f} s)",
                    f"<= {rate:.0f}/s (+ one burst)", created <= rate * wall + 50 * 4)
            else:
                row(f"{label}: refused by the rate limit", f"{limited} of {stats['batch_parts']}"
                    " parts (retried with backoff)", "(what pacing avoids)", True)
                row(f"{label}: time", f"{wall:.1f} s for {created} writes", "(reference)", True)
    finally:
        sim.stop()


if __name__ == "__main__":
    main()
