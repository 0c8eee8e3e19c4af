"""Runs and their log, shared by every kind of sync (a calendar mapping's or a user's
contacts): what ran, when, how it ended, and one line per record it touched."""
from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.types import UTCDateTime, utcnow
from portal.extensions import db

RUN_QUEUED = "queued"
RUN_RUNNING = "running"
RUN_SUCCEEDED = "succeeded"
RUN_FAILED = "failed"
RUN_RETRYING = "retrying"
RUN_NEEDS_REAUTH = "needs_reauth"
RUN_STATUSES = (RUN_QUEUED, RUN_RUNNING, RUN_SUCCEEDED, RUN_FAILED, RUN_RETRYING,
                RUN_NEEDS_REAUTH)
RUN_FINISHED = (RUN_SUCCEEDED, RUN_FAILED, RUN_NEEDS_REAUTH)

DIRECTION_EXPORT = "export"
DIRECTION_IMPORT = "import"
DIRECTION_BOTH = "both"
DIRECTIONS = (DIRECTION_EXPORT, DIRECTION_IMPORT, DIRECTION_BOTH)

KIND_CALENDAR = "calendar"
KIND_CONTACTS = "contacts"


class SyncRun(db.Model):
    """One sync of one calendar mapping (or of a user's contacts) in one direction, keyed by
    the RQ job id so the outcome stays visible after Redis forgot the job."""

    __tablename__ = "sync_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the RQ job id
    job_id: Mapped[str] = mapped_column(db.String(64), unique=True)
    mapping_id: Mapped[int | None] = mapped_column(
        db.ForeignKey("calendar_mappings.id", ondelete="SET NULL"), index=True)
    user_id: Mapped[int] = mapped_column(db.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    #: "calendar" (a mapping's activities) or "contacts" (the user's tagged contacts)
    kind: Mapped[str] = mapped_column(db.String(16), default=KIND_CALENDAR)
    #: for a contacts run: the user's contacts sync settings
    contact_settings_id: Mapped[int | None] = mapped_column(
        db.ForeignKey("contact_sync_settings.id", ondelete="SET NULL"), index=True)
    #: export | import | both
    direction: Mapped[str] = mapped_column(db.String(8), default=DIRECTION_BOTH)
    #: queued | running | succeeded | failed | retrying | needs_reauth
    status: Mapped[str] = mapped_column(db.String(16), default=RUN_QUEUED)
    #: what the run is doing now (shown live on the run page)
    progress: Mapped[str] = mapped_column(db.String(255), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created: Mapped[int] = mapped_column(default=0)
    updated: Mapped[int] = mapped_column(default=0)
    deleted: Mapped[int] = mapped_column(default=0)
    skipped: Mapped[int] = mapped_column(default=0)
    conflicts: Mapped[int] = mapped_column(default=0)
    errors: Mapped[int] = mapped_column(default=0)
    #: deleted in Google and kept in the CRM (the user's choice): not counted as deleted
    kept: Mapped[int] = mapped_column(default=0, server_default="0")
    #: which try this is (RQ retries a run that met Google errors); see jobs/guarded.py
    attempt: Mapped[int] = mapped_column(default=1, server_default="1")
    #: when a retrying run tries again
    retry_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: a summary for the user (never a token)
    message: Mapped[str] = mapped_column(db.Text, default="")

    mapping = relationship("CalendarMapping")
    contact_settings = relationship("ContactSyncSettings")
    user = relationship("User")
    entries = relationship("SyncRunEntry", order_by="SyncRunEntry.id",
                           cascade="all, delete-orphan", back_populates="run")

    @property
    def finished(self):
        return self.status in RUN_FINISHED

    def __repr__(self):
        return f"<SyncRun {self.job_id} {self.direction} {self.status}>"


class SyncRunEntry(db.Model):
    """One line of a run's log: what happened to one event or activity."""

    __tablename__ = "sync_run_entries"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(db.ForeignKey("sync_runs.id", ondelete="CASCADE"),
                                        index=True)
    #: the engine's action kind (insert_event, update_activity, conflict, skip, error...)
    action: Mapped[str] = mapped_column(db.String(32))
    activity_id: Mapped[int | None] = mapped_column()
    #: for a contacts run: the contact (and ``event_id`` holds the person's resource name)
    contact_id: Mapped[int | None] = mapped_column()
    event_id: Mapped[str | None] = mapped_column(db.String(1024))
    subject: Mapped[str] = mapped_column(db.Text, default="")
    detail: Mapped[str] = mapped_column(db.Text, default="")
    #: conflicts: {"crm": {...}, "google": {...}, "rule", "winner"} as JSON text
    versions: Mapped[str | None] = mapped_column(db.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    run = relationship("SyncRun", back_populates="entries")
