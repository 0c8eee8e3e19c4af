"""The dispatcher: RQ's cron scheduler enqueues ``tick`` every minute; a worker runs it.

``tick`` claims the due cron tasks (see services.claim_due_tasks) and runs their handlers,
which only enqueue per-mapping sync jobs; the work itself happens in the workers. Running two
dispatchers is harmless: both enqueue a tick, and only one tick wins each claim.
"""
import logging

import click
from flask import current_app
from flask.cli import with_appcontext
from redis.exceptions import RedisError
from rq.cron import CronScheduler

from portal.extensions import db
from portal.jobs.connection import QueueUnavailable, get_queue, get_redis
from portal.scheduler import services
from portal.scheduler.handlers import HANDLERS, SYNC_TOGETHER, google_calendar_both
from portal.scheduler.models import CronTask

log = logging.getLogger(__name__)

TICK_CRON = "* * * * *"  # every minute, on the minute


def tick():
    """RQ job: run every cron task that is active and due. Returns the names it ran.

    First marks the sync runs of dead workers failed and frees their locks (see
    portal/jobs/reaper.py), so their mappings are due again on this very tick. When the
    calendar export and import tasks are both due, they fan out together: one job per
    mapping does both directions."""
    from portal.jobs.reaper import sweep_dead_runs

    sweep_dead_runs()
    push_channel_upkeep()
    ran = []
    claimed = services.claim_due_tasks()
    together = [t for t in claimed if t.handler in SYNC_TOGETHER]
    if len(together) == len(SYNC_TOGETHER):
        run_claimed_together(together)
        ran += [t.name for t in together]
        claimed = [t for t in claimed if t not in together]
    for task in claimed:
        run_claimed(task)
        ran.append(task.name)
    return ran


def push_channel_upkeep():
    """Renew Google push channels before they expire and stop unneeded ones (see
    portal/google/push.py). Every tick, not a cron task: a channel missed by an hour is an
    hour of changes only polling sees. A failure is logged and never stops the tick."""
    from portal.google import push

    try:
        opened, stopped = push.reconcile()
        db.session.commit()
    except Exception:  # noqa: BLE001 - the sync crons below must run whatever happens here
        log.exception("push channel upkeep failed")
        db.session.rollback()
        return None
    return opened, stopped


def run_claimed_together(tasks):
    """Run the sync tasks' combined fan-out; record each task's own outcome."""
    try:
        outcomes = google_calendar_both(tasks)
    except Exception as exc:  # recorded on the task rows for the admin, and logged in full
        log.exception("cron tasks %s failed", ", ".join(t.name for t in tasks))
        db.session.rollback()
        for task in tasks:
            task = db.session.get(CronTask, task.id)
            services.record_outcome(task, ok=False, message=f"{type(exc).__name__}: {exc}")
    else:
        for task, outcome in outcomes.items():
            services.record_outcome(task, ok=True, message=outcome.message,
                                    job_ids=outcome.job_ids)
    db.session.commit()


def run_task_now(task_id):
    """RQ job behind the Scheduler page's *Run now*."""
    task = db.session.get(CronTask, task_id)
    if task is None:
        return None
    if not services.claim_now(task):
        return f"{task.name} was claimed by another run"
    run_claimed(task)
    return task.last_message


def run_claimed(task):
    """Run a claimed task's handler and record what it did; a failure is recorded, not lost."""
    handler = HANDLERS[task.handler]
    try:
        outcome = handler(task)
    except Exception as exc:  # recorded on the task row for the admin, and logged in full
        log.exception("cron task %s failed", task.name)
        db.session.rollback()
        task = db.session.get(CronTask, task.id)
        services.record_outcome(task, ok=False, message=f"{type(exc).__name__}: {exc}")
    else:
        services.record_outcome(task, ok=True, message=outcome.message, job_ids=outcome.job_ids)
    db.session.commit()
    return task


def enqueue_run_now(task):
    """Queue a manual run of ``task``; the page shows its outcome once a worker ran it.
    Raises :class:`QueueUnavailable` when Redis does not answer."""
    try:
        return get_queue().enqueue(run_task_now, task.id, job_timeout=600)
    except RedisError as exc:
        log.warning("job queue unreachable: %s", exc.__class__.__name__)
        raise QueueUnavailable() from exc


def build_cron_scheduler(app):
    """RQ's CronScheduler with the one-minute tick registered on the portal's queue."""
    cron = CronScheduler(connection=get_redis(app), name=f"portal-dispatcher-{id(app):x}")
    cron.register(tick, queue_name=app.config["RQ_QUEUE"], cron=TICK_CRON, job_timeout=600,
                  result_ttl=3600)
    return cron


@click.command("scheduler")
@with_appcontext
def scheduler_command():
    """Run the dispatcher: enqueue a tick every minute (one per deployment is enough)."""
    from portal.jobs.worker import require_redis

    require_redis(current_app._get_current_object())
    services.ensure_default_tasks()
    db.session.commit()
    click.echo("Dispatcher started: a tick every minute on queue "
               f"{current_app.config['RQ_QUEUE']!r}. Ctrl-C stops it.")
    build_cron_scheduler(current_app._get_current_object()).start()
