"""Writes to one Google account are paced across every worker (a token bucket in the shared
Redis), so a big export never storms Google's per-user rate limit; Retry-After pauses the
whole account. Real Redis, googlesim enforcing a per-user rate, the real client."""
import threading
import time

from portal.extensions import db
from portal.jobs.connection import get_redis
from portal.sync.core.pacing import Pacer


def test_a_pacer_lets_a_burst_through_then_keeps_the_rate(app):
    pacer = Pacer(get_redis(app), "ann@example.com", rate=200, burst=20)
    started = time.monotonic()
    pacer.acquire(20)
    assert time.monotonic() - started < 0.1  # the burst
    pacer.acquire(40)
    assert time.monotonic() - started >= 0.18  # 40 more at 200 a second


def test_workers_on_one_account_share_one_pace(app):
    """Four workers, one account: together they stay within the account's rate."""
    redis = get_redis(app)
    done = []

    def worker():
        pacer = Pacer(redis, "Big.Account@example.com", rate=400, burst=20)
        for _ in range(5):
            pacer.acquire(20)
            done.append(time.monotonic())

    started = time.monotonic()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # 400 writes at 400/s with a burst of 20: about 0.95 s, whoever asked
    assert len(done) == 20 and max(done) - started >= 0.85
    # another account is not held back by this one
    other = Pacer(redis, "small@example.com", rate=400, burst=20)
    quick = time.monotonic()
    other.acquire(20)
    assert time.monotonic() - quick < 0.1


def test_retry_after_pauses_the_whole_account(app):
    redis = get_redis(app)
    one = Pacer(redis, "ann@example.com", rate=1000, burst=50)
    two = Pacer(redis, "ann@example.com", rate=1000, burst=50)
    one.pause(0.3)
    started = time.monotonic()
    two.acquire(1)
    assert time.monotonic() - started >= 0.25


def _export(connect_user, make_activity, sim, sync, app, rate):
    ann, mapping = connect_user()
    for n in range(120):
        make_activity(ann, subject=f"Meeting {n}")
    sim.rate_limit(per_user_per_second=60, burst=50)
    app.config["GOOGLE_WRITES_PER_SECOND"] = rate
    app.config["GOOGLE_WRITE_BURST"] = 50
    try:
        sim.stats_reset()
        run = sync(mapping, "export")
    finally:
        app.config["GOOGLE_WRITES_PER_SECOND"] = 0
        sim.rate_limit()
    return run, sim.stats()


def test_a_paced_export_never_hits_the_rate_limit(app, connect_user, make_activity, sim,
                                                  sync):
    run, stats = _export(connect_user, make_activity, sim, sync, app, rate=50)
    assert run.status == "succeeded" and run.created == 120
    assert stats.get("rate_limited", 0) == 0


def test_without_pacing_the_same_export_is_refused_by_google(app, connect_user, make_activity,
                                                             sim, sync):
    """What the pacing is for: the sandbox refuses the unpaced export's excess."""
    run, stats = _export(connect_user, make_activity, sim, sync, app, rate=0)
    assert stats.get("rate_limited", 0) > 0
    db.session.rollback()
