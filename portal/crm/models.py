"""CRM records: activity types, activities, contacts and tags."""
import uuid
from datetime import date, datetime

from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.types import GUID, UTCDateTime, utcnow
from portal.crm.reminders import Reminders
from portal.extensions import db

STATUS_PLANNED = "Planned"
STATUS_HELD = "Held"
STATUS_NOT_HELD = "Not Held"
STATUSES = (STATUS_PLANNED, STATUS_HELD, STATUS_NOT_HELD)
PRIORITIES = ("Low", "Medium", "High")
VISIBILITIES = ("default", "public", "private")

#: Google's answers to an invitation
RESPONSE_NEEDS_ACTION = "needsAction"
RESPONSE_ACCEPTED = "accepted"
RESPONSE_TENTATIVE = "tentative"
RESPONSE_DECLINED = "declined"
RESPONSES = (RESPONSE_NEEDS_ACTION, RESPONSE_ACCEPTED, RESPONSE_TENTATIVE, RESPONSE_DECLINED)

#: where an activity was made: in the CRM, or imported from a Google event
ORIGIN_CRM = "crm"
ORIGIN_GOOGLE = "google"

TAG_PRIVATE = "private"
TAG_PUBLIC = "public"
TAG_CORPORATE = "corporate"
TAG_VISIBILITIES = (TAG_PRIVATE, TAG_PUBLIC, TAG_CORPORATE)


#: a new activity type's colour (Google's Lavender) until the admin picks one
DEFAULT_TYPE_COLOR = "#a4bdfc"


class ActivityType(db.Model):
    """A picklist value (Call, Meeting, Task...); each maps to at most one Google calendar."""

    __tablename__ = "activity_types"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(db.String(64), unique=True)
    #: order in pickers; lower first
    position: Mapped[int] = mapped_column(default=0)
    #: inactive types are hidden from pickers but kept on existing activities
    active: Mapped[bool] = mapped_column(default=True)
    #: ``#rrggbb`` shown on its activities in the calendar; exported as the nearest of
    #: Google's event colours
    color: Mapped[str] = mapped_column(db.String(7), default=DEFAULT_TYPE_COLOR)

    def __repr__(self):
        return f"<ActivityType {self.name}>"


activity_participants = db.Table(
    "activity_participants",
    db.Column("activity_id", db.ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True),
    db.Column("user_id", db.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    # "the activities a user takes part in" (calendars, the export's candidates)
    db.Index("ix_activity_participants_user_id", "user_id"),
)

activity_invitees = db.Table(
    "activity_invitees",
    db.Column("activity_id", db.ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True),
    db.Column("contact_id", db.ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    #: the contact's answer to the invitation, as Google last reported it
    db.Column("response_status", db.String(16), nullable=False,
              server_default=RESPONSE_NEEDS_ACTION),
)

#: A CRM user's answer to an activity they are invited to (participants, and an organizer
#: who is only a guest of the meeting in Google). Kept apart from the participant list so
#: the organizer's copy of a meeting can never overwrite a guest's own answer.
activity_responses = db.Table(
    "activity_responses",
    db.Column("activity_id", db.ForeignKey("activities.id", ondelete="CASCADE"), primary_key=True),
    db.Column("user_id", db.ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    db.Column("response_status", db.String(16), nullable=False),
    db.Column("answered_at", UTCDateTime, nullable=True),
)


class Activity(db.Model):
    """An event or task. Timed ones store UTC instants; all-day ones store whole dates."""

    __tablename__ = "activities"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: stable identity; the Google event id is derived from it so retries cannot duplicate
    uid: Mapped[uuid.UUID] = mapped_column(GUID, unique=True, default=uuid.uuid4)
    #: Text, not a short string: Google allows titles and places far longer than 255
    subject: Mapped[str] = mapped_column(db.Text)
    activity_type_id: Mapped[int] = mapped_column(db.ForeignKey("activity_types.id"), index=True)
    status: Mapped[str] = mapped_column(db.String(16), default=STATUS_PLANNED)
    priority: Mapped[str] = mapped_column(db.String(16), default="Medium")
    all_day: Mapped[bool] = mapped_column(default=False)
    #: timed activities: instants in UTC (None when all_day)
    start_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)
    end_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: all-day activities: first and last day, both inclusive (Google's end is exclusive)
    start_date: Mapped[date | None] = mapped_column(db.Date, index=True)
    end_date: Mapped[date | None] = mapped_column(db.Date)
    #: IANA zone the times were entered in; recurring events repeat in this zone
    time_zone: Mapped[str] = mapped_column(db.String(64), default="UTC")
    location: Mapped[str] = mapped_column(db.Text, default="")
    description: Mapped[str] = mapped_column(db.Text, default="")
    #: RRULE/EXDATE lines, newline separated, for recurring activities
    recurrence: Mapped[str] = mapped_column(db.Text, default="")
    #: Google's reminders as JSON (see portal.crm.reminders): the calendar's defaults, or up
    #: to five popup/email overrides; empty overrides mean no reminder
    reminders_json: Mapped[str] = mapped_column("reminders", db.Text,
                                                default='{"useDefault":false,"overrides":[]}')
    visibility: Mapped[str] = mapped_column(db.String(16), default="default")
    #: a video conference: a Google Meet the user asked for (created by Google when the
    #: activity is exported), or any conference (Meet, Zoom...) the Google event carries
    conference: Mapped[bool] = mapped_column(default=False, server_default=db.false())
    #: the link to join it and the conference's name, as Google last gave them (Google's
    #: data: shown as a link only through the google_href filter)
    conference_url: Mapped[str] = mapped_column(db.String(2048), default="", server_default="")
    conference_name: Mapped[str] = mapped_column(db.String(200), default="", server_default="")
    #: only activities shown in the calendar are synced with Google
    show_in_calendar: Mapped[bool] = mapped_column(default=True)
    organizer_id: Mapped[int] = mapped_column(db.ForeignKey("users.id"), index=True)
    created_by_id: Mapped[int] = mapped_column(db.ForeignKey("users.id"))
    created_at = mapped_column(UTCDateTime, default=utcnow)
    modified_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    #: bumped by SQLAlchemy on every UPDATE; also guards against lost concurrent edits
    version: Mapped[int] = mapped_column(default=1)
    #: "crm" (made here) or "google" (imported): an activity made in Google is only ever
    #: written back to its own event, never copied into another calendar
    origin: Mapped[str] = mapped_column(db.String(8), default=ORIGIN_CRM)
    #: the meeting's identity at Google (iCalUID, and the event id: an instance id for a
    #: moved occurrence), so it is found again after links are forgotten or a reconnect
    ical_uid: Mapped[str | None] = mapped_column(db.String(1024), index=True)
    google_event_id: Mapped[str | None] = mapped_column(db.String(1024))
    #: the event's own colour: None follows the activity type's; ``#rrggbb`` is one Google
    #: gave the event (kept, so a CRM edit never repaints it); "" means the event has no
    #: colour of its own in Google (it shows in its calendar's colour there)
    color: Mapped[str | None] = mapped_column(db.String(7), nullable=True)

    activity_type = relationship("ActivityType")
    organizer = relationship("User", foreign_keys=[organizer_id])
    created_by = relationship("User", foreign_keys=[created_by_id])
    participants = relationship("User", secondary=activity_participants, order_by="User.name")
    invitees = relationship("Contact", secondary=activity_invitees,
                            order_by="Contact.last_name", back_populates="activities")

    __mapper_args__ = {"version_id_col": version}
    __table_args__ = (
        # The export's "activities of this type in this user's calendar, not yet linked"
        # reads only this index (no table rows) for every activity of the type.
        db.Index("ix_activities_type_organizer_shown", "activity_type_id", "organizer_id",
                 "show_in_calendar"),
    )

    @property
    def reminders(self):
        """The activity's :class:`portal.crm.reminders.Reminders`."""
        return Reminders.loads(self.reminders_json)

    @reminders.setter
    def reminders(self, value):
        self.reminders_json = (value or Reminders()).dumps()

    @property
    def display_color(self):
        """The colour the CRM's calendar marks the activity with."""
        if self.color:
            return self.color
        return self.activity_type.color if self.activity_type is not None else None

    @property
    def reminder_minutes(self):
        """The earliest notification in minutes before the start (None: none)."""
        return self.reminders.first_popup

    @reminder_minutes.setter
    def reminder_minutes(self, minutes):
        self.reminders = Reminders.popup(minutes)

    def __repr__(self):
        return f"<Activity {self.id} {self.subject!r}>"


contact_tags = db.Table(
    "contact_tags",
    db.Column("contact_id", db.ForeignKey("contacts.id", ondelete="CASCADE"), primary_key=True),
    db.Column("tag_id", db.ForeignKey("tags.id", ondelete="CASCADE"), primary_key=True),
)


class Tag(db.Model):
    """A label on contacts: private (owner only), public (everyone) or corporate (admin-managed)."""

    __tablename__ = "tags"
    __table_args__ = (db.UniqueConstraint("name", "visibility", "owner_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(db.String(64))
    visibility: Mapped[str] = mapped_column(db.String(16), default=TAG_PRIVATE)
    owner_id: Mapped[int] = mapped_column(db.ForeignKey("users.id"), index=True)

    owner = relationship("User")


class Contact(db.Model):
    __tablename__ = "contacts"

    id: Mapped[int] = mapped_column(primary_key=True)
    uid: Mapped[uuid.UUID] = mapped_column(GUID, unique=True, default=uuid.uuid4)
    #: the user who owns (and may edit) the contact
    owner_id: Mapped[int] = mapped_column(db.ForeignKey("users.id"), index=True)
    first_name: Mapped[str] = mapped_column(db.String(100), default="")
    last_name: Mapped[str] = mapped_column(db.String(100))
    organization: Mapped[str] = mapped_column(db.String(200), default="")
    job_title: Mapped[str] = mapped_column(db.String(200), default="")
    street: Mapped[str] = mapped_column(db.String(255), default="")
    city: Mapped[str] = mapped_column(db.String(100), default="")
    postal_code: Mapped[str] = mapped_column(db.String(32), default="")
    region: Mapped[str] = mapped_column(db.String(100), default="")
    country: Mapped[str] = mapped_column(db.String(100), default="")
    birthday: Mapped[date | None] = mapped_column(db.Date)
    notes: Mapped[str] = mapped_column(db.Text, default="")
    created_at = mapped_column(UTCDateTime, default=utcnow)
    modified_at = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1)

    owner = relationship("User")
    emails = relationship("ContactEmail", cascade="all, delete-orphan",
                          order_by="ContactEmail.position")
    phones = relationship("ContactPhone", cascade="all, delete-orphan",
                          order_by="ContactPhone.position")
    tags = relationship("Tag", secondary=contact_tags, order_by="Tag.name")
    activities = relationship("Activity", secondary=activity_invitees, back_populates="invitees")

    __mapper_args__ = {"version_id_col": version}

    @property
    def full_name(self):
        return " ".join(p for p in (self.first_name, self.last_name) if p)

    @property
    def primary_email(self):
        return self.emails[0].email if self.emails else ""


class ContactEmail(db.Model):
    __tablename__ = "contact_emails"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(db.ForeignKey("contacts.id", ondelete="CASCADE"),
                                            index=True)
    #: lower-case, matched against Google attendees
    email: Mapped[str] = mapped_column(db.String(254), index=True)
    label: Mapped[str] = mapped_column(db.String(32), default="work")
    position: Mapped[int] = mapped_column(default=0)


class ContactPhone(db.Model):
    __tablename__ = "contact_phones"

    id: Mapped[int] = mapped_column(primary_key=True)
    contact_id: Mapped[int] = mapped_column(db.ForeignKey("contacts.id", ondelete="CASCADE"),
                                            index=True)
    number: Mapped[str] = mapped_column(db.String(64))
    label: Mapped[str] = mapped_column(db.String(32), default="work")
    position: Mapped[int] = mapped_column(default=0)


from portal.crm import versioning  # noqa: E402,F401  (version bumps on attendee changes)
