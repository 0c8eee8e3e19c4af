"""Cron-task bookkeeping: seeding, atomic claiming of due tasks, recording outcomes.

Claiming is an UPDATE guarded by the ``next_due_at`` value the dispatcher read, so when two
dispatchers tick at once exactly one of them wins each due task (the database is the lock;
no clock agreement between machines is needed beyond "now").
"""
import logging
from datetime import timedelta

from sqlalchemy import or_, select, update

from portal.core.types import utcnow
from portal.extensions import db
from portal.scheduler.models import STATUS_FAILED, STATUS_OK, STATUS_RUNNING, CronTask

log = logging.getLogger(__name__)

MIN_FREQUENCY_MINUTES = 5
MAX_FREQUENCY_MINUTES = 7 * 24 * 60

#: (name, handler, frequency in seconds, description)
DEFAULT_TASKS = (
    ("Google Calendar export", "google_calendar_export", 15 * 60,
     "Sends changed CRM activities to each user's mapped Google calendars."),
    ("Google Calendar import", "google_calendar_import", 15 * 60,
     "Brings changes made in Google Calendar back into the CRM."),
    ("Clean old sync runs", "clean_sync_runs", 24 * 60 * 60,
     "Deletes synchronization run logs older than 30 days."),
    ("Google Contacts sync", "google_contacts_sync", 15 * 60,
     "Syncs each user's tagged contacts with their Google Contacts, both ways."),
)


class SchedulerError(ValueError):
    """A cron-task setting was refused; the message is shown to the admin."""


def ensure_default_tasks():
    """Create the standard tasks that are missing (the migration seeds them too)."""
    existing = set(db.session.scalars(select(CronTask.handler)))
    for name, handler, seconds, description in DEFAULT_TASKS:
        if handler not in existing:
            db.session.add(CronTask(name=name, handler=handler, frequency_seconds=seconds,
                                    description=description))
    db.session.flush()


def all_tasks():
    return db.session.scalars(select(CronTask).order_by(CronTask.id)).all()


def set_active(task, active):
    task.active = bool(active)
    if task.active:
        # A task switched back on runs at the next tick rather than after a stale due time.
        task.next_due_at = None
    db.session.flush()


def set_frequency(task, minutes):
    """Change how often ``task`` runs; refuses values outside the allowed range."""
    if minutes is None or not MIN_FREQUENCY_MINUTES <= minutes <= MAX_FREQUENCY_MINUTES:
        raise SchedulerError(f"The frequency must be between {MIN_FREQUENCY_MINUTES} minutes "
                             f"and {MAX_FREQUENCY_MINUTES // 1440} days.")
    task.frequency_seconds = minutes * 60
    if task.last_start_at is not None:
        task.next_due_at = task.last_start_at + timedelta(seconds=task.frequency_seconds)
    db.session.flush()


def claim_due_tasks(now=None):
    """Claim every active task that is due; returns the claimed tasks (committed).

    Each claim moves ``next_due_at`` forward only if it still holds the value read here,
    so a second dispatcher reading the same row claims nothing.
    """
    now = now or utcnow()
    due = db.session.execute(
        select(CronTask.id, CronTask.next_due_at, CronTask.frequency_seconds).where(
            CronTask.active.is_(True),
            or_(CronTask.next_due_at.is_(None), CronTask.next_due_at <= now))).all()
    claimed = []
    for task_id, seen_due, frequency in due:
        if _claim(task_id, seen_due, now, frequency):
            claimed.append(task_id)
    db.session.commit()
    return [db.session.get(CronTask, task_id) for task_id in claimed]


def claim_now(task, now=None):
    """Claim ``task`` for a manual run whatever its due time (Run now)."""
    now = now or utcnow()
    claimed = _claim(task.id, task.next_due_at, now, task.frequency_seconds)
    db.session.commit()
    db.session.refresh(task)
    return claimed


def _claim(task_id, seen_due, now, frequency):
    guard = CronTask.next_due_at.is_(None) if seen_due is None else CronTask.next_due_at == seen_due
    result = db.session.execute(
        update(CronTask).where(CronTask.id == task_id, guard).values(
            next_due_at=now + timedelta(seconds=frequency), last_start_at=now,
            last_end_at=None, last_status=STATUS_RUNNING, last_message="", last_job_ids=""))
    return result.rowcount == 1


def record_outcome(task, *, ok, message, job_ids=()):
    task.last_end_at = utcnow()
    task.last_status = STATUS_OK if ok else STATUS_FAILED
    task.last_message = message[:2000]
    task.last_job_ids = "\n".join(job_ids)
    db.session.flush()
