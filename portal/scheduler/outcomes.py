"""What became of the jobs a cron task's last run enqueued, read from the SyncRun rows
(keyed by RQ job id, so the answer survives Redis forgetting the jobs)."""
from collections import Counter
from dataclasses import dataclass, field

from sqlalchemy import select

from portal.extensions import db


@dataclass
class RunSummary:
    total: int = 0
    by_status: dict = field(default_factory=dict)
    runs: list = field(default_factory=list)

    @property
    def text(self):
        """"3 runs: 2 succeeded, 1 reconnect needed" in the run pages' words."""
        if not self.total:
            return "No runs started."
        from portal.sync.wording import status_label

        parts = ", ".join(f"{n} {status_label(status).lower()}"
                          for status, n in sorted(self.by_status.items()))
        return f"{self.total} {'run' if self.total == 1 else 'runs'}: {parts}"


def spawned_run_summary(task, with_runs=False):
    job_ids = task.job_ids
    if not job_ids:
        return RunSummary()
    try:
        from portal.sync.core.runs import SyncRun
    except ImportError:  # the sync feature is not installed
        return RunSummary(total=len(job_ids), by_status={"enqueued": len(job_ids)})
    runs = db.session.scalars(select(SyncRun).where(SyncRun.job_id.in_(job_ids))).all()
    counts = Counter(run.status for run in runs)
    missing = len(job_ids) - len(runs)
    if missing:
        counts["unknown"] += missing
    return RunSummary(total=len(job_ids), by_status=dict(counts),
                      runs=runs if with_runs else [])
