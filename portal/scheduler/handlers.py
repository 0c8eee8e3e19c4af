"""What each cron task does. A handler takes the claimed CronTask and returns an Outcome.

Handlers must be quick: they decide what is due and enqueue jobs; workers do the syncing.
"""
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import delete

from portal.core.types import utcnow
from portal.extensions import db

SYNC_RUN_RETENTION = timedelta(days=30)


@dataclass
class Outcome:
    message: str
    job_ids: list = field(default_factory=list)


def _plural(n, one, many):
    return f"{n} {one if n == 1 else many}"


def queued_words(queued, what, skipped_reauth=0):
    """"12 calendars queued", "nothing due", "1 skipped: reconnect needed"."""
    parts = [f"{_plural(queued, *what)} queued" if queued else "nothing due"]
    if skipped_reauth:
        parts.append(f"{skipped_reauth} skipped: reconnect needed")
    return "; ".join(parts)


CALENDARS = ("calendar", "calendars")


def google_calendar_export(task):
    return _fan_out("export")


def google_calendar_import(task):
    return _fan_out("import")


def _fan_out(direction):
    from portal.scheduler.fanout import enqueue_due_syncs

    result = enqueue_due_syncs(direction)
    return Outcome(queued_words(len(result.job_ids), CALENDARS, result.skipped_reauth),
                   result.job_ids)


def google_calendar_both(tasks):
    """The export and import tasks are due on the same tick: one fan-out, one job per
    mapping doing both. Returns {task: Outcome}."""
    from portal.scheduler.fanout import enqueue_due_syncs_both

    results = enqueue_due_syncs_both()
    outcomes = {}
    for task in tasks:
        direction = "export" if task.handler == "google_calendar_export" else "import"
        result = results[direction]
        message = queued_words(len(result.job_ids), CALENDARS, result.skipped_reauth)
        if result.job_ids:
            message += " (export and import together)"
        outcomes[task] = Outcome(message, result.job_ids)
    return outcomes


#: cron tasks that, due on the same tick, run as one fan-out
SYNC_TOGETHER = ("google_calendar_export", "google_calendar_import")


def clean_sync_runs(task):
    from portal.sync.core.runs import SyncRun

    cutoff = utcnow() - SYNC_RUN_RETENTION
    deleted = db.session.execute(delete(SyncRun).where(SyncRun.finished_at < cutoff)).rowcount
    return Outcome(f"{_plural(deleted, 'run', 'runs')} older than 30 days deleted"
                   if deleted else "nothing older than 30 days")


def google_contacts_sync(task):
    """One contacts sync job per user whose automatic contacts sync is due."""
    from portal.accounts.models import User
    from portal.jobs.contacts import due_contact_syncs, enqueue_contacts_sync
    from portal.sync.contacts.models import ContactSyncSettings

    due, reauth = due_contact_syncs()
    job_ids = []
    for settings_id, user_id in due:
        run = enqueue_contacts_sync(db.session.get(User, user_id),
                                    db.session.get(ContactSyncSettings, settings_id))
        if not getattr(run, "already_running", False):
            job_ids.append(run.job_id)
    return Outcome(queued_words(len(job_ids), ("user's contacts", "users' contacts"), reauth),
                   job_ids)


HANDLERS = {
    "google_calendar_export": google_calendar_export,
    "google_calendar_import": google_calendar_import,
    "clean_sync_runs": clean_sync_runs,
    "google_contacts_sync": google_contacts_sync,
}
