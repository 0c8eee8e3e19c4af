"""Cron tasks shown on the admin Scheduler page."""
from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column

from portal.core.types import UTCDateTime
from portal.extensions import db

STATUS_NEVER = "never"
STATUS_RUNNING = "running"
STATUS_OK = "ok"
STATUS_FAILED = "failed"


class CronTask(db.Model):
    """A periodic task the dispatcher runs when it is active and due (coreBOS's cron tasks)."""

    __tablename__ = "cron_tasks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(db.String(100), unique=True)
    description: Mapped[str] = mapped_column(db.String(255), default="")
    #: key into portal.scheduler.handlers.HANDLERS
    handler: Mapped[str] = mapped_column(db.String(64), unique=True)
    active: Mapped[bool] = mapped_column(default=True)
    #: seconds between two runs
    frequency_seconds: Mapped[int] = mapped_column(default=900)
    #: the run claiming this value wins; see services.claim_due_tasks
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_start_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    last_status: Mapped[str] = mapped_column(db.String(16), default=STATUS_NEVER)
    last_message: Mapped[str] = mapped_column(db.Text, default="")
    #: RQ job ids the last run enqueued (newline separated), to show what became of them
    last_job_ids: Mapped[str] = mapped_column(db.Text, default="")

    @property
    def job_ids(self):
        return [j for j in (self.last_job_ids or "").split("\n") if j]
