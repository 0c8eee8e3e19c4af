"""Calendar sync state: links between activities and Google events (with the state
last synced), and attendees from Google that match no user or contact."""
from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.types import UTCDateTime, utcnow
from portal.extensions import db

OWNER_CRM = "crm"
OWNER_GOOGLE = "google"

LINK_ACTIVE = "active"
LINK_DETACHED = "detached"

#: the link's calendar holds the organizer's copy of the meeting (Google lets this user
#: change it), or a guest's copy (the user may only answer the invitation)
ROLE_ORGANIZER = "organizer"
ROLE_GUEST = "guest"


class EventLink(db.Model):
    """Ties one activity to one Google event in one mapping's calendar.

    A CRM delete leaves the row with ``activity_id`` NULL (a tombstone): the next export turns
    it into a Google delete and then removes the row.
    """

    __tablename__ = "event_links"
    __table_args__ = (
        db.UniqueConstraint("mapping_id", "event_id", name="uq_event_links_mapping_id_event_id"),
        db.Index("ix_event_links_ical_uid", "ical_uid"),
        # "is this activity linked in this mapping?", asked per candidate by the export's
        # changed-set query: one index probe, never a scan of the mapping's links
        db.Index("ix_event_links_mapping_id_activity_id", "mapping_id", "activity_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    mapping_id: Mapped[int] = mapped_column(
        db.ForeignKey("calendar_mappings.id", ondelete="CASCADE"), index=True)
    #: the mapping's user (kept here so per-user cleanups need no join)
    user_id: Mapped[int] = mapped_column(db.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    #: NULL after the activity was deleted in the CRM (tombstone awaiting the Google delete)
    activity_id: Mapped[int | None] = mapped_column(
        db.ForeignKey("activities.id", ondelete="SET NULL"), index=True)
    calendar_id: Mapped[str] = mapped_column(db.String(255))
    event_id: Mapped[str] = mapped_column(db.String(1024))
    ical_uid: Mapped[str] = mapped_column(db.String(1024), default="")
    #: the event's etag when we last wrote or read it; a different one means Google changed it
    etag: Mapped[str] = mapped_column(db.String(255), default="")
    #: the event's ``updated`` at last sync
    google_updated_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the activity's version Google last acknowledged (None: never acknowledged)
    synced_version: Mapped[int | None] = mapped_column()
    #: "crm": created in the CRM (master); "google": imported, read-only in the CRM
    owner: Mapped[str] = mapped_column(db.String(8), default=OWNER_CRM)
    #: "active", or "detached" when the event was deleted in Google and the activity kept
    state: Mapped[str] = mapped_column(db.String(16), default=LINK_ACTIVE)
    #: "organizer": this calendar holds the organizer's copy (or guests may modify it);
    #: "guest": a copy of someone else's meeting, which only carries this user's answer
    role: Mapped[str] = mapped_column(db.String(16), default=ROLE_ORGANIZER)
    #: when the activity was deleted in the CRM (tombstones; "most recent" conflicts)
    crm_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    html_link: Mapped[str] = mapped_column(db.String(2048), default="")
    #: for a moved or edited instance: the series' event id
    recurring_event_id: Mapped[str] = mapped_column(db.String(1024), default="")
    #: what the link remembers of Google's copy, as JSON: ``attendees`` (Google's attendee
    #: objects, so a CRM patch keeps their answers), ``recurrence`` (Google's own lines, so
    #: a patch leaves an unchanged rule alone), ``exdates`` (EXDATEs the import added to
    #: the series for Google's exceptions, never sent back), ``organizer`` and
    #: ``guestsCanModify``, and the merge bases ``base_crm``/``base_google``: each side's
    #: field groups as of the last sync (see portal.sync.calendar.engine)
    event_state: Mapped[str | None] = mapped_column(db.Text)
    #: the last error Google gave for this event (a 400 is logged here and skipped)
    last_error: Mapped[str | None] = mapped_column(db.Text)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when the link was made: the activity is "in Google since" then
    created_at: Mapped[datetime | None] = mapped_column(UTCDateTime, default=utcnow)

    activity = relationship("Activity")
    mapping = relationship("CalendarMapping")

    def __repr__(self):
        return f"<EventLink {self.mapping_id}:{self.event_id} -> {self.activity_id}>"


class ExternalAttendee(db.Model):
    """An attendee from Google whose email matches no user and no contact; kept so the
    next export sends it back instead of dropping the person."""

    __tablename__ = "external_attendees"
    __table_args__ = (
        db.UniqueConstraint("activity_id", "email", name="uq_external_attendees_activity_id_email"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    activity_id: Mapped[int] = mapped_column(db.ForeignKey("activities.id", ondelete="CASCADE"),
                                             index=True)
    email: Mapped[str] = mapped_column(db.String(254))
    display_name: Mapped[str] = mapped_column(db.Text, default="")
    #: needsAction | declined | tentative | accepted
    response_status: Mapped[str] = mapped_column(db.String(16), default="needsAction")
    #: the meeting's organizer in Google (someone outside the CRM): shown, never a guest
    is_organizer: Mapped[bool] = mapped_column(default=False)


class GuestNotification(db.Model):
    """A person asked for the guests to be emailed about their latest change of an activity.

    The next export of the activity is sent with ``sendUpdates=all`` (Google mails the
    invitation, update or cancellation) and the row is deleted once Google acknowledged it.
    A row of its own, not an Activity column: writing the activity would bump its version
    and make it look changed again."""

    __tablename__ = "guest_notifications"

    activity_id: Mapped[int] = mapped_column(
        db.ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True)
    requested_by_id: Mapped[int | None] = mapped_column(
        db.ForeignKey("users.id", ondelete="SET NULL"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class ExportQueueEntry(db.Model):
    """An activity one export mapping must look at again (see
    :mod:`portal.sync.calendar.export_queue`). ``seq`` goes up with every enqueue of the
    pair, so an export removes only the entry it read, never one a later change re-queued."""

    __tablename__ = "export_queue"

    mapping_id: Mapped[int] = mapped_column(
        db.ForeignKey("calendar_mappings.id", ondelete="CASCADE"), primary_key=True)
    #: no foreign key: a deleted activity's entry is harmless (its links are tombstones)
    activity_id: Mapped[int] = mapped_column(primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(default=1)
from portal.sync.calendar import export_queue  # noqa: E402,F401  (queues changes for the export)
