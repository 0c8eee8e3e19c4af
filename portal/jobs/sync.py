"""Sync jobs on RQ: one job per mapping and direction; ids travel, never objects.

``enqueue_sync`` is the service behind *Synchronize now* (and the scheduler's fan-out): it
takes the mapping's lock, creates the ``SyncRun`` row keyed by the job id (so the outcome
outlives Redis' memory of the job) and enqueues :func:`sync_mapping` with a Retry policy.
"""
import logging
import uuid

from flask import current_app, has_app_context
from redis.exceptions import RedisError
from rq import Retry, get_current_job

from portal.core.types import utcnow
from portal.extensions import db
from portal.jobs.connection import QueueUnavailable, get_queue, get_redis
from portal.jobs.locks import DEFAULT_TTL, Lock, mapping_lock_key
from portal.sync.core.runs import (
    DIRECTION_BOTH, DIRECTIONS, RUN_FAILED, RUN_QUEUED, RUN_RETRYING, RUN_RUNNING, SyncRun,
)

log = logging.getLogger(__name__)

#: seconds between retries of a run that hit rate limits, 5xx or dropped connections
RETRY_INTERVALS = [30, 120, 600]
JOB_TIMEOUT = 3600


def enqueue_sync(user, mapping=None, direction=DIRECTION_BOTH):
    """Queue a sync of ``mapping`` (or every synced mapping of ``user``); returns SyncRun rows.

    A mapping whose lock is held (a run queued or running) is not queued again: its current
    run is returned with ``already_running = True``. Commits (the runs must exist before a
    worker picks the jobs up). Raises :class:`QueueUnavailable` when Redis does not answer.
    """
    from portal.google import services as google_services

    if direction not in DIRECTIONS:
        raise ValueError(f"unknown direction {direction!r}")
    if mapping is not None and mapping.user_id != user.id:
        raise PermissionError("not your mapping")
    mappings = [mapping] if mapping is not None else google_services.synced_mappings(user)
    runs = []
    queue = get_queue()
    for item in mappings:
        job_id = f"sync-{item.id}-{uuid.uuid4().hex[:12]}"
        lock = Lock(get_redis(), mapping_lock_key(item.id), token=job_id)
        try:
            acquired = lock.acquire() or (_holder_died(item.id, lock.holder())
                                          and lock.acquire())
        except RedisError as exc:
            log.warning("job queue unreachable: %s", exc.__class__.__name__)
            raise QueueUnavailable() from exc
        if not acquired:
            current = _current_run(item.id, lock.holder())
            if current is not None:
                current.already_running = True
                runs.append(current)
            continue
        run = SyncRun(job_id=job_id, mapping_id=item.id, user_id=user.id, direction=direction,
                      status=RUN_QUEUED)
        run.already_running = False
        db.session.add(run)
        db.session.commit()
        try:
            queue.enqueue(sync_mapping, item.id, direction, job_id=job_id,
                          job_timeout=JOB_TIMEOUT, result_ttl=24 * 3600,
                          failure_ttl=7 * 24 * 3600,
                          retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
                          description=f"sync mapping {item.id} ({direction})")
        except RedisError as exc:
            log.warning("job queue unreachable: %s", exc.__class__.__name__)
            try:
                lock.release()
            except RedisError:
                pass  # it expires by itself
            run.status = RUN_FAILED
            run.message = "The job queue was not reachable, so this sync never started; " \
                          "nothing was lost."
            run.finished_at = utcnow()
            db.session.commit()
            raise QueueUnavailable() from exc
        runs.append(run)
    return runs


def _holder_died(mapping_id, job_id):
    """True when the run holding the mapping's lock was left by a dead worker: it is then
    marked failed and the lock freed, so this sync can start at once."""
    from portal.jobs.reaper import sweep_run

    run = _current_run(mapping_id, job_id)
    if run is None or run.job_id != job_id or not sweep_run(run):
        return False
    db.session.commit()
    return True


def _current_run(mapping_id, job_id):
    run = None
    if job_id:
        run = db.session.scalars(db.select(SyncRun).where(SyncRun.job_id == job_id)).first()
    if run is None:
        run = db.session.scalars(db.select(SyncRun).where(
            SyncRun.mapping_id == mapping_id,
            SyncRun.status.in_((RUN_QUEUED, RUN_RUNNING, RUN_RETRYING)))
            .order_by(SyncRun.id.desc())).first()
    return run


def sync_mapping(mapping_id, direction=DIRECTION_BOTH):
    """RQ job: sync one mapping. Runs in the worker's app context (or makes one)."""
    if has_app_context():
        return _sync_mapping(mapping_id, direction)
    from portal import create_app

    with create_app().app_context():
        return _sync_mapping(mapping_id, direction)


def _sync_mapping(mapping_id, direction):
    from portal.google.client import TransientError
    from portal.sync.calendar.runner import run_mapping

    job = get_current_job()
    job_id = job.id if job is not None else f"direct-{mapping_id}-{uuid.uuid4().hex[:12]}"
    lock = Lock(get_redis(), mapping_lock_key(mapping_id), token=job_id, ttl=DEFAULT_TTL)
    run = db.session.scalars(db.select(SyncRun).where(SyncRun.job_id == job_id)).first()
    if not lock.acquire():
        # Someone else runs this mapping (e.g. the scheduler and a user at once).
        if run is not None:
            run.status = RUN_FAILED
            run.message = "Another sync of this calendar was already running."
            run.finished_at = utcnow()
            db.session.commit()
        return "already running"
    if run is None:
        from portal.google.models import CalendarMapping

        mapping = db.session.get(CalendarMapping, mapping_id)
        run = SyncRun(job_id=job_id, mapping_id=mapping_id,
                      user_id=mapping.user_id if mapping else None, direction=direction)
        db.session.add(run)
        db.session.commit()
    keep_lock = False
    try:
        result = run_mapping(mapping_id, direction, run=run)
        return result.status
    except TransientError as exc:
        db.session.rollback()
        run = db.session.get(SyncRun, run.id)
        final = job is None or not job.retries_left
        run.status = RUN_FAILED if final else RUN_RETRYING
        run.message = (f"Google is busy or unreachable ({exc}); "
                       + ("gave up after retries." if final else "will retry automatically."))
        run.finished_at = utcnow() if final else None
        run.progress = ""
        db.session.commit()
        if not final:
            # Hold the mapping until the retry runs, so a click meanwhile says "running".
            keep_lock = lock.extend(max(RETRY_INTERVALS) + DEFAULT_TTL)
        raise
    except Exception as exc:
        log.exception("sync of mapping %s failed", mapping_id)
        db.session.rollback()
        run = db.session.get(SyncRun, run.id)
        run.status = RUN_FAILED
        run.message = (f"The sync failed unexpectedly ({type(exc).__name__}); the error was "
                       "logged.")
        run.finished_at = utcnow()
        run.progress = ""
        db.session.commit()
        raise
    finally:
        if not keep_lock:
            lock.release()
        db.session.remove()


def current_redis_url():
    return current_app.config.get("REDIS_URL")
