"""What every sync job does around its work: hold the record's lock (one run at a time),
count attempts, and leave the run saying how it ended, so the run page tells the truth
while RQ retries after Google errors ("retrying at 14:05, attempt 2 of 4")."""
import logging
import uuid
from datetime import timedelta

from rq import get_current_job

from portal.core.types import utcnow
from portal.extensions import db
from portal.jobs.connection import get_redis
from portal.jobs.locks import DEFAULT_TTL, Lock
from portal.sync.core.runs import RUN_FAILED, RUN_QUEUED, RUN_RETRYING, RUN_RUNNING, SyncRun

log = logging.getLogger(__name__)

#: seconds between retries of a run that hit rate limits, 5xx or dropped connections
RETRY_INTERVALS = [30, 120, 600]
#: the first try and every retry
MAX_ATTEMPTS = len(RETRY_INTERVALS) + 1
JOB_TIMEOUT = 3600


def attempt_number(job):
    """Which try of the job this is (1-based), from RQ's retries left (RQ decrements them
    when it schedules a retry, so this holds while the job runs)."""
    if job is None or job.retries_left is None:
        return MAX_ATTEMPTS
    return len(RETRY_INTERVALS) - job.retries_left + 1


def guarded(lock_key, work, *, job_prefix, busy_message, what, make_run=None):
    """Run ``work(run)`` (returning the finished SyncRun) under ``lock_key``.

    The run is the SyncRun keyed by this job's id (``make_run(job_id)`` makes one when the
    job was enqueued without it). A TransientError marks the run retrying, with the time of
    the next attempt, or failed after the last, and is raised again for RQ to retry; any
    other error fails the run with its class name (the traceback goes to the log only)."""
    from portal.google.client import TransientError

    job = get_current_job()
    job_id = job.id if job is not None else f"direct-{job_prefix}-{uuid.uuid4().hex[:12]}"
    lock = Lock(get_redis(), lock_key, token=job_id, ttl=DEFAULT_TTL)
    run = db.session.scalars(db.select(SyncRun).where(SyncRun.job_id == job_id)).first()
    if not lock.acquire():
        # Someone else runs it (e.g. the scheduler and a user at once).
        if run is not None:
            _end(run, RUN_FAILED, busy_message)
        return "already running"
    if run is None and make_run is not None:
        run = make_run(job_id)
        db.session.add(run)
        db.session.commit()
    if run is not None and run.retry_at is not None:
        run.attempt = attempt_number(job)
        run.retry_at = None
        db.session.commit()
    keep_lock = False
    try:
        return work(run).status
    except TransientError as exc:
        db.session.rollback()
        attempt = attempt_number(job)
        final = job is None or not job.retries_left
        run = db.session.get(SyncRun, run.id) if run is not None else None
        if run is not None:
            if final:
                run.attempt = attempt
                _end(run, RUN_FAILED, f"Google is busy or unreachable ({exc}); gave up after "
                                      f"{attempt} attempts.")
            else:
                run.status = RUN_RETRYING
                run.attempt = attempt + 1  # the one waiting for retry_at
                run.retry_at = utcnow() + timedelta(seconds=RETRY_INTERVALS[attempt - 1])
                run.message = f"Google is busy or unreachable ({exc}); will retry automatically."
                run.progress = ""
                db.session.commit()
        if not final:
            # Hold the record until the retry runs, so a click meanwhile says "running".
            keep_lock = lock.extend(max(RETRY_INTERVALS) + DEFAULT_TTL)
        raise
    except Exception as exc:
        log.exception("%s failed", what)
        db.session.rollback()
        run = db.session.get(SyncRun, run.id) if run is not None else None
        if run is not None:
            _end(run, RUN_FAILED, f"The sync failed unexpectedly ({type(exc).__name__}); the "
                                  "error was logged.")
        raise
    finally:
        if not keep_lock:
            lock.release()
        db.session.remove()


def _end(run, status, message):
    run.status = status
    run.message = message
    run.retry_at = None
    run.progress = ""
    run.finished_at = utcnow()
    db.session.commit()


def current_run(owner, job_id=None):
    """The run holding a lock: the one of ``job_id`` (the lock's holder), else the newest
    unfinished run matching ``owner`` (e.g. ``SyncRun.mapping_id == 3``)."""
    run = None
    if job_id:
        run = db.session.scalars(db.select(SyncRun).where(SyncRun.job_id == job_id)).first()
    if run is None:
        run = db.session.scalars(db.select(SyncRun).where(
            owner, SyncRun.status.in_((RUN_QUEUED, RUN_RUNNING, RUN_RETRYING)))
            .order_by(SyncRun.id.desc())).first()
    return run


def holder_died(owner, job_id):
    """True when the run holding the lock was left by a dead worker: it is then marked
    failed and the lock freed (see portal/jobs/reaper.py), so a new sync starts at once."""
    from portal.jobs.reaper import sweep_run

    run = current_run(owner, job_id)
    if run is None or run.job_id != job_id or not sweep_run(run):
        return False
    db.session.commit()
    return True
