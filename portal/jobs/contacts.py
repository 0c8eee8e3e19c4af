"""Contacts sync jobs on RQ: one job per user's contacts sync; ids travel, never objects.

Google asks that one user's contact mutations go one after another: a Redis lock per user's
contacts sync keeps a second run (a click and the scheduler at once) from starting.
"""
import logging
import uuid

from flask import has_app_context
from rq import Retry

from portal.core.types import utcnow
from portal.extensions import db
from portal.jobs.connection import get_queue, get_redis
from portal.jobs.locks import Lock, contacts_lock_key  # noqa: F401  (named here too)
from portal.jobs.guarded import (
    JOB_TIMEOUT, RETRY_INTERVALS, current_run, guarded, holder_died,
)
from portal.sync.core.runs import (
    DIRECTION_BOTH, KIND_CONTACTS, RUN_FAILED, RUN_QUEUED, SyncRun,
)

log = logging.getLogger(__name__)


def enqueue_contacts_sync(user, settings, direction=DIRECTION_BOTH):
    """Queue a sync of ``user``'s contacts; returns the SyncRun (``already_running`` when a
    run holds the lock). Commits: the run exists before a worker can pick the job up."""
    if settings.user_id != user.id:
        raise PermissionError("not your contacts sync")
    job_id = f"contacts-{settings.id}-{uuid.uuid4().hex[:12]}"
    lock = Lock(get_redis(), contacts_lock_key(settings.id), token=job_id)
    owner = SyncRun.contact_settings_id == settings.id
    if not lock.acquire() and not (holder_died(owner, lock.holder()) and lock.acquire()):
        current = current_run(owner, lock.holder())
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
    from portal.sync.contacts.runner import run_contacts

    return guarded(contacts_lock_key(settings_id),
                   lambda run: run_contacts(settings_id, direction, run=run),
                   job_prefix=f"contacts-{settings_id}", what=f"contacts sync {settings_id}",
                   busy_message="Another sync of your contacts was already running.")


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
