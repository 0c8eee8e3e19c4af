"""Contacts sync jobs on RQ: one job per user's contacts sync; ids travel, never objects.

Google asks that one user's contact mutations go one after another: a Redis lock per user's
contacts sync keeps a second run (a click and the scheduler at once) from starting.
"""
import logging
import uuid

from flask import has_app_context
from rq import Retry, get_current_job

from portal.core.types import utcnow
from portal.extensions import db
from portal.jobs.connection import get_queue, get_redis
from portal.jobs.locks import DEFAULT_TTL, Lock
from portal.jobs.sync import JOB_TIMEOUT, RETRY_INTERVALS
from portal.sync.core.runs import (
    DIRECTION_BOTH, KIND_CONTACTS, RUN_FAILED, RUN_QUEUED, RUN_RETRYING, RUN_RUNNING, SyncRun,
)

log = logging.getLogger(__name__)


def contacts_lock_key(settings_id):
    return f"portal:sync-lock:contacts:{settings_id}"


def enqueue_contacts_sync(user, settings, direction=DIRECTION_BOTH):
    """Queue a sync of ``user``'s contacts; returns the SyncRun (``already_running`` when a
    run holds the lock). Commits: the run exists before a worker can pick the job up."""
    if settings.user_id != user.id:
        raise PermissionError("not your contacts sync")
    job_id = f"contacts-{settings.id}-{uuid.uuid4().hex[:12]}"
    lock = Lock(get_redis(), contacts_lock_key(settings.id), token=job_id)
    if not lock.acquire():
        current = db.session.scalars(db.select(SyncRun).where(
            SyncRun.contact_settings_id == settings.id,
            SyncRun.status.in_((RUN_QUEUED, RUN_RUNNING, RUN_RETRYING)))
            .order_by(SyncRun.id.desc())).first()
        if current is not None:
            current.already_running = True
            return current
    run = SyncRun(job_id=job_id, kind=KIND_CONTACTS, contact_settings_id=settings.id,
                  user_id=user.id, direction=direction, status=RUN_QUEUED)
    run.already_running = False
    db.session.add(run)
    db.session.commit()
    try:
        get_queue().enqueue(sync_contacts, settings.id, direction, job_id=job_id,
                            job_timeout=JOB_TIMEOUT, result_ttl=24 * 3600,
                            failure_ttl=7 * 24 * 3600,
                            retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
                            description=f"sync contacts {settings.id} ({direction})")
    except Exception:
        lock.release()
        run.status = RUN_FAILED
        run.message = "The job queue is unavailable; try again shortly."
        db.session.commit()
        raise
    return run


def sync_contacts(settings_id, direction=DIRECTION_BOTH):
    """RQ job: sync one user's contacts."""
    if has_app_context():
        return _sync_contacts(settings_id, direction)
    from portal import create_app

    with create_app().app_context():
        return _sync_contacts(settings_id, direction)


def _sync_contacts(settings_id, direction):
    from portal.google.client import TransientError
    from portal.sync.contacts.runner import run_contacts

    job = get_current_job()
    job_id = job.id if job is not None else f"direct-contacts-{settings_id}"
    lock = Lock(get_redis(), contacts_lock_key(settings_id), token=job_id, ttl=DEFAULT_TTL)
    run = db.session.scalars(db.select(SyncRun).where(SyncRun.job_id == job_id)).first()
    if not lock.acquire():
        if run is not None:
            run.status = RUN_FAILED
            run.message = "Another sync of your contacts was already running."
            run.finished_at = utcnow()
            db.session.commit()
        return "already running"
    keep_lock = False
    try:
        return run_contacts(settings_id, direction, run=run).status
    except TransientError as exc:
        db.session.rollback()
        run = db.session.get(SyncRun, run.id) if run is not None else None
        final = job is None or not job.retries_left
        if run is not None:
            run.status = RUN_FAILED if final else RUN_RETRYING
            run.message = (f"Google is busy or unreachable ({exc}); "
                           + ("gave up after retries." if final else "will retry automatically."))
            run.finished_at = utcnow() if final else None
            run.progress = ""
            db.session.commit()
        if not final:
            keep_lock = lock.extend(max(RETRY_INTERVALS) + DEFAULT_TTL)
        raise
    except Exception as exc:
        log.exception("contacts sync %s failed", settings_id)
        db.session.rollback()
        run = db.session.get(SyncRun, run.id) if run is not None else None
        if run is not None:
            run.status = RUN_FAILED
            run.message = (f"The sync failed unexpectedly ({type(exc).__name__}); the error "
                           "was logged.")
            run.finished_at = utcnow()
            run.progress = ""
            db.session.commit()
        raise
    finally:
        if not keep_lock:
            lock.release()
        db.session.remove()


def due_contact_syncs(now=None):
    """[(settings id, user id)] whose automatic contacts sync is due, and how many users
    need to reconnect (skipped)."""
    from datetime import timedelta

    from sqlalchemy import func, select

    from portal.accounts.models import User
    from portal.google.models import STATUS_CONNECTED, STATUS_NEEDS_REAUTH, GoogleConnection
    from portal.sync.contacts.models import ContactSyncSettings

    now = now or utcnow()
    last_run = (select(SyncRun.contact_settings_id, func.max(SyncRun.created_at).label("at"))
                .where(SyncRun.kind == KIND_CONTACTS).group_by(SyncRun.contact_settings_id)
                .subquery())
    rows = db.session.execute(
        select(ContactSyncSettings.id, ContactSyncSettings.user_id,
               ContactSyncSettings.period_minutes, last_run.c.at, GoogleConnection.status)
        .join(User, User.id == ContactSyncSettings.user_id)
        .outerjoin(GoogleConnection, GoogleConnection.user_id == ContactSyncSettings.user_id)
        .outerjoin(last_run, last_run.c.contact_settings_id == ContactSyncSettings.id)
        .where(ContactSyncSettings.tag_id.is_not(None),
               ContactSyncSettings.auto_sync.is_(True), User.active.is_(True))).all()
    due, reauth = [], 0
    for settings_id, user_id, period, last_at, status in rows:
        if status == STATUS_NEEDS_REAUTH:
            reauth += 1
            continue
        if status != STATUS_CONNECTED:
            continue
        if last_at is not None and last_at.replace(tzinfo=now.tzinfo) > now - timedelta(
                minutes=period):
            continue
        due.append((settings_id, user_id))
    return due, reauth
