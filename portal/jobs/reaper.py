"""Runs whose worker died: found, marked failed with a reason, their mapping lock freed.

A worker killed mid-run (SIGKILL, OOM, a machine gone) cannot record anything. Its run would
stay "running" and its mapping lock would block every sync of that calendar until the lock
expires. :func:`sweep_dead_runs` finds such runs from RQ's own signs of life:

- the job's worker no longer exists in Redis (its key expired), or
- the worker ran on this machine and its process is gone (seen at once), or
- the job's entry in RQ's started-job registry expired: the worker stopped sending its
  heartbeats (every ``WORKER_HEARTBEAT_INTERVAL`` seconds while a job runs), which RQ
  itself treats as an abandoned job ``interval + 60`` seconds later.

The scheduler's tick sweeps every minute, a worker sweeps when it starts, and *Synchronize
now* sweeps the one run that holds the lock it wants, so the next sync starts at once.
The dead job is recorded as failed in RQ too (never retried behind the new run's back);
jobs chained behind it are released.
"""
import logging
import os
import socket

from redis.exceptions import RedisError
from rq import Queue, Worker
from rq.exceptions import NoSuchJobError
from rq.job import Job, JobStatus
from rq.job_lifecycle import record_job_failure
from rq.registry import StartedJobRegistry

from portal.core.types import utcnow
from portal.extensions import db
from portal.jobs.connection import get_queue, get_redis
from portal.jobs.locks import Lock, run_lock_key
from portal.sync.core.runs import RUN_FAILED, RUN_RUNNING, SyncRun

log = logging.getLogger(__name__)

#: seconds between a busy worker's heartbeats (RQ's job_monitoring_interval; default 30)
WORKER_HEARTBEAT_INTERVAL = 10

#: job ids of runs made without RQ (run_mapping called directly): no worker to watch
IN_PROCESS_PREFIXES = ("inline-", "direct-")

DEAD_WORKER_MESSAGE = ("The worker running this sync stopped before it finished (it was "
                       "killed or crashed). What Google had acknowledged is kept; the next "
                       "sync finishes the rest.")


def _process_gone(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


def this_host():
    """The name RQ records as a worker's hostname (tests pretend to be another machine)."""
    return socket.gethostname()


def why_dead(job, expired_job_ids):
    """Why ``job`` (a started RQ job) can no longer be running, or None when it may be."""
    if job.get_status(refresh=False) != JobStatus.STARTED:
        return None  # queued again (an RQ retry), finished or failed: not ours to judge
    worker = Worker.find_by_key(Worker.redis_worker_namespace_prefix + (job.worker_name or ""),
                                connection=job.connection) if job.worker_name else None
    if worker is None:
        return "its worker is gone"
    if worker.hostname == this_host() and worker.pid and _process_gone(worker.pid):
        return f"its worker process {worker.pid} is gone"
    if job.id in expired_job_ids:
        return "its worker stopped sending heartbeats"
    return None


def _fail_job(job, reason):
    """Record the job as failed in RQ (no retry) and release the jobs chained behind it."""
    redis = job.connection
    try:
        with redis.pipeline() as pipe:
            StartedJobRegistry(job.origin, connection=redis).remove_executions(job, pipeline=pipe)
            record_job_failure(job, f"AbandonedJobError: {reason}", pipe)
            pipe.execute()
        Queue(job.origin, connection=redis).enqueue_dependents(job)
    except (RedisError, NoSuchJobError):
        log.warning("could not record job %s as failed in RQ", job.id, exc_info=True)


def _mark_dead(run, job, reason):
    log.warning("sync run %s (job %s) marked failed: %s", run.id, run.job_id, reason)
    run.status = RUN_FAILED
    run.message = DEAD_WORKER_MESSAGE
    run.progress = ""
    run.finished_at = utcnow()
    Lock(get_redis(), run_lock_key(run), token=run.job_id).release()
    if job is not None:
        _fail_job(job, reason)


def _expired_job_ids():
    registry = StartedJobRegistry(queue=get_queue())
    return set(registry.get_expired_job_ids(utcnow().timestamp()))


def sweep_run(run, expired_job_ids=None):
    """Mark ``run`` (status running) failed when its worker died; True when it did.
    The caller commits."""
    if run.status != RUN_RUNNING or run.job_id.startswith(IN_PROCESS_PREFIXES):
        return False
    try:
        job = Job.fetch(run.job_id, connection=get_redis())
    except NoSuchJobError:
        job = None
    if job is None:
        reason = "its job is gone from the queue"
    else:
        if expired_job_ids is None:
            expired_job_ids = _expired_job_ids()
        reason = why_dead(job, expired_job_ids)
    if reason is None:
        return False
    _mark_dead(run, job, reason)
    return True


def sweep_dead_runs():
    """Mark every running run whose worker died failed and free its lock; commits.
    Returns the ids of the runs it marked."""
    runs = db.session.scalars(db.select(SyncRun).where(SyncRun.status == RUN_RUNNING)
                              .order_by(SyncRun.id)).all()
    if not runs:
        return []
    expired = _expired_job_ids()
    swept = [run.id for run in runs if sweep_run(run, expired)]
    db.session.commit()
    return swept
