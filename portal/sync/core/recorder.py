"""A run's bookkeeping, for every sync: counts, the per-record log (written in bulk with
each commit), progress, and the commit that makes acknowledged work durable."""
import json
from dataclasses import dataclass, field

from sqlalchemy import insert

from portal.core.types import utcnow
from portal.extensions import db
from portal.sync.core.runs import SyncRunEntry


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = 0
    conflicts: int = 0
    errors: int = 0
    kept: int = 0
    entries: list = field(default_factory=list)


#: the log's word for a record deleted in Google and kept in the CRM (the user's choice)
KEPT_IN_CRM = "kept_in_crm"

COUNTERS = ("created", "updated", "deleted", "kept", "skipped", "conflicts", "errors")


class Recorder:
    """Counts and log lines of one SyncRun, flushed with each commit."""

    def __init__(self, run):
        self.run = run
        #: read once: after each commit the run is expired, and ``run.id`` would reload it
        self.run_id = run.id
        self.counts = Counts()

    def log(self, action, detail="", activity_id=None, event_id=None, subject="", versions=None,
            contact_id=None):
        self.counts.entries.append(dict(
            action=action, activity_id=activity_id, contact_id=contact_id, event_id=event_id,
            subject=(subject or "")[:255], detail=detail or "", created_at=utcnow(),
            versions=json.dumps(versions, ensure_ascii=False, default=str) if versions else None))

    def flush(self, progress=None):
        run = self.run
        for name in COUNTERS:
            setattr(run, name, getattr(self.counts, name))
        if progress is not None:
            run.progress = progress[:255]
        if self.counts.entries:
            for entry in self.counts.entries:
                entry["run_id"] = self.run_id
            # One executemany, not one INSERT per row.
            db.session.execute(insert(SyncRunEntry), self.counts.entries)
            self.counts.entries = []

    def summary(self):
        run = self.run
        return summary_of(run)


def summary_of(run):
    """A run's counts in words, leaving out what did not happen."""
    parts = [f"{run.created} created", f"{run.updated} updated", f"{run.deleted} deleted"]
    if run.kept:
        parts.append(f"{run.kept} kept in the CRM (deleted in Google)")
    parts += [f"{run.skipped} skipped", f"{run.conflicts} conflicts", f"{run.errors} errors"]
    return ", ".join(parts)
