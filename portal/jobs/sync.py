"""Sync jobs on RQ: one job per mapping and direction; ids travel, never objects.

``enqueue_sync`` is the service behind *Synchronize now* (and the scheduler's fan-out): it
takes the mapping's lock, creates the ``SyncRun`` row keyed by the job id (so the outcome
outlives Redis' memory of the job) and enqueues :func:`sync_mapping` with a Retry policy.
"""
import logging
import uuid

from flask import current_app, has_app_context
from redis.exceptions import RedisError
from rq import Retry

from portal.core.types import utcnow
from portal.extensions import db
from portal.jobs.connection import QueueUnavailable, get_queue, get_redis
from portal.jobs.guarded import (
    JOB_TIMEOUT, RETRY_INTERVALS, current_run, guarded, holder_died,
)
from portal.jobs.locks import Lock, mapping_lock_key
from portal.sync.core.runs import (
    DIRECTION_BOTH, DIRECTIONS, RUN_FAILED, RUN_QUEUED, SyncRun,
)

log = logging.getLogger(__name__)



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
        owner = SyncRun.mapping_id == item.id
        try:
            acquired = lock.acquire() or (holder_died(owner, lock.holder()) and lock.acquire())
        except RedisError as exc:
            log.warning("job queue unreachable: %s", exc.__class__.__name__)
            raise QueueUnavailable() from exc
        if not acquired:
            current = current_run(owner, lock.holder())
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




def sync_mapping(mapping_id, direction=DIRECTION_BOTH):
    """RQ job: sync one mapping. Runs in the worker's app context (or makes one)."""
    if has_app_context():
        return _sync_mapping(mapping_id, direction)
    from portal import create_app

    with create_app().app_context():
        return _sync_mapping(mapping_id, direction)


def _sync_mapping(mapping_id, direction):
    from portal.google.models import CalendarMapping
    from portal.sync.calendar.runner import run_mapping

    def make_run(job_id):
        mapping = db.session.get(CalendarMapping, mapping_id)
        return SyncRun(job_id=job_id, mapping_id=mapping_id,
                       user_id=mapping.user_id if mapping else None, direction=direction)

    from portal.jobs import push

    push.job_starting(mapping_id)
    try:
        return guarded(mapping_lock_key(mapping_id),
                       lambda run: run_mapping(mapping_id, direction, run=run),
                       job_prefix=str(mapping_id), what=f"sync of mapping {mapping_id}",
                       busy_message="Another sync of this calendar was already running.",
                       make_run=make_run)
    finally:
        push.job_finished(mapping_id)


def current_redis_url():
    return current_app.config.get("REDIS_URL")
