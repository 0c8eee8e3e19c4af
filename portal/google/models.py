"""Google connection rows: admin credentials, each user's connection, calendar mappings and
sync settings. Secrets are stored Fernet-encrypted (``portal.core.crypto``) in ``*_encrypted``
columns and never leave the server in full."""
from datetime import date, datetime

from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.types import UTCDateTime, utcnow
from portal.extensions import db

STATUS_CONNECTED = "connected"
STATUS_NEEDS_REAUTH = "needs_reauth"
STATUS_DISCONNECTED = "disconnected"
STATUSES = (STATUS_CONNECTED, STATUS_NEEDS_REAUTH, STATUS_DISCONNECTED)

LINKS_KEEP = "keep"
LINKS_FORGET = "forget"

CONFLICT_CRM_WINS = "crm_wins"
CONFLICT_GOOGLE_WINS = "google_wins"
CONFLICT_MOST_RECENT = "most_recent"
CONFLICT_RULES = (CONFLICT_CRM_WINS, CONFLICT_GOOGLE_WINS, CONFLICT_MOST_RECENT)

RETIRED_LEAVE = "leave"
RETIRED_DELETE = "delete"
RETIRED_ACTIONS = (RETIRED_LEAVE, RETIRED_DELETE)

SYNC_PERIODS = (15, 30, 60, 240, 1440)


class GoogleCredentials(db.Model):
    """The portal's OAuth client at Google, entered once by an admin (a single row)."""

    __tablename__ = "google_credentials"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: Google API key (optional for OAuth calls); encrypted like the secret
    api_key_encrypted: Mapped[str | None] = mapped_column(db.Text)
    client_id: Mapped[str] = mapped_column(db.String(255))
    client_secret_encrypted: Mapped[str] = mapped_column(db.Text)
    #: the exact redirect URI registered at Google; ends in this portal's callback path
    redirect_url: Mapped[str] = mapped_column(db.String(500))
    #: when the client id/secret were last accepted by Google's token endpoint
    checked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(
        db.ForeignKey("users.id", ondelete="SET NULL"))

    def __repr__(self):
        return f"<GoogleCredentials {self.client_id}>"


class GoogleConnection(db.Model):
    """One user's authorization of the portal at Google (at most one row per user).

    The row outlives a disconnect (tokens cleared, status ``disconnected``) so a reconnect to
    the same Google account can keep the links, and a different account can be detected."""

    __tablename__ = "google_connections"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(db.ForeignKey("users.id", ondelete="CASCADE"),
                                         unique=True)
    #: the Google account the tokens belong to (lower-case)
    google_email: Mapped[str | None] = mapped_column(db.String(254))
    #: scopes Google granted, space separated
    scopes: Mapped[str] = mapped_column(db.Text, default="")
    refresh_token_encrypted: Mapped[str | None] = mapped_column(db.Text)
    access_token_encrypted: Mapped[str | None] = mapped_column(db.Text)
    #: when the access token expires (UTC); google-auth refreshes a little before
    token_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: connected | needs_reauth | disconnected
    status: Mapped[str] = mapped_column(db.String(16), default=STATUS_DISCONNECTED)
    #: why the connection stopped working (shown to the user; never contains a token)
    last_error: Mapped[str | None] = mapped_column(db.Text)
    connected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    disconnected_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: the choice made on the last disconnect: "keep" or "forget" the event links
    links_on_disconnect: Mapped[str | None] = mapped_column(db.String(16))

    user = relationship("User")

    @property
    def scope_list(self):
        return (self.scopes or "").split()

    def __repr__(self):
        return f"<GoogleConnection user={self.user_id} {self.google_email} {self.status}>"


class CalendarMapping(db.Model):
    """Which Google calendar one activity type of one user is synced with.

    ``calendar_id`` is None when the type is not synced (the row is kept so a pending
    ``retired_*`` instruction survives). The sync layer only syncs rows with a calendar.

    Retired calendar: when the user moves a type to another calendar (or stops syncing it),
    ``retired_calendar_id`` names the previous calendar and ``retired_action`` says what to do
    with the events the portal exported there: ``"leave"`` them in Google (just drop the links)
    or ``"delete"`` them from that calendar. The sync layer carries it out and then clears
    both columns."""

    __tablename__ = "calendar_mappings"
    __table_args__ = (
        db.UniqueConstraint("user_id", "activity_type_id",
                            name="uq_calendar_mappings_user_id_activity_type_id"),
        db.UniqueConstraint("user_id", "calendar_id",
                            name="uq_calendar_mappings_user_id_calendar_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(db.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    activity_type_id: Mapped[int] = mapped_column(
        db.ForeignKey("activity_types.id", ondelete="CASCADE"))
    calendar_id: Mapped[str | None] = mapped_column(db.String(255))
    #: the calendar's name when it was chosen (the list shown after a Google outage)
    calendar_summary: Mapped[str] = mapped_column(db.String(255), default="")
    export_enabled: Mapped[bool] = mapped_column(default=True)
    import_enabled: Mapped[bool] = mapped_column(default=True)
    #: crm_wins | google_wins | most_recent: who wins when both sides changed
    conflict_rule: Mapped[str] = mapped_column(db.String(16), default=CONFLICT_CRM_WINS)
    #: an event deleted in Google deletes the activity (else only the link goes)
    delete_in_crm_when_deleted_in_google: Mapped[bool] = mapped_column(default=False)
    #: Calendar events.list nextSyncToken for this calendar; None means a full sync
    sync_token: Mapped[str | None] = mapped_column(db.Text)
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    retired_calendar_id: Mapped[str | None] = mapped_column(db.String(255))
    #: "leave" | "delete" (see the class docstring)
    retired_action: Mapped[str | None] = mapped_column(db.String(16))
    retired_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: when the export last read every candidate of this mapping (not only its queue of
    #: changed activities); NULL: the next export must (a change the queue cannot express)
    export_scanned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    #: bumped by every request for a full scan: an export that began before one does not
    #: record its own scan as the answer to it
    export_rescans: Mapped[int] = mapped_column(default=0, server_default="0")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user = relationship("User")
    activity_type = relationship("ActivityType")

    @property
    def is_synced(self):
        return bool(self.calendar_id) and (self.export_enabled or self.import_enabled)

    def __repr__(self):
        return f"<CalendarMapping user={self.user_id} type={self.activity_type_id} " \
               f"{self.calendar_id}>"


class GoogleSyncSettings(db.Model):
    """A user's sync preferences (they outlive a disconnect)."""

    __tablename__ = "google_sync_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(db.ForeignKey("users.id", ondelete="CASCADE"),
                                         unique=True)
    #: "Synchronize calendar automatically"
    auto_sync: Mapped[bool] = mapped_column(default=False)
    #: minutes between automatic syncs: one of SYNC_PERIODS
    period_minutes: Mapped[int] = mapped_column(default=60)
    #: nothing that ends before this day is exported or imported (None: no limit)
    sync_from: Mapped[date | None] = mapped_column(db.Date)
    #: set by the sync layer when a run for this user finished without errors
    last_successful_sync_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    user = relationship("User")


class PushChannel(db.Model):
    """A Google push channel (events.watch) on a mapping's calendar: Google calls
    ``<GOOGLE_PUSH_URL>/google/notifications`` when the calendar changes, and the portal
    imports it at once instead of waiting for the polling cron (which stays the fallback).

    Google never renews a channel: the scheduler tick opens a new one before ``expires_at``
    and stops the old one (portal/google/push.py)."""

    __tablename__ = "push_channels"

    id: Mapped[int] = mapped_column(primary_key=True)
    mapping_id: Mapped[int] = mapped_column(
        db.ForeignKey("calendar_mappings.id", ondelete="CASCADE"), index=True)
    #: whose grant opened it (channels.stop must be asked with the same account)
    user_id: Mapped[int] = mapped_column(db.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    #: our id for the channel (X-Goog-Channel-ID), random, unique
    channel_id: Mapped[str] = mapped_column(db.String(64), unique=True)
    #: Google's id of the watched resource (X-Goog-Resource-ID), needed by channels.stop
    resource_id: Mapped[str] = mapped_column(db.String(255), default="")
    #: the calendar watched (a mapping moved to another calendar needs a new channel)
    calendar_id: Mapped[str] = mapped_column(db.String(255))
    #: SHA-256 of the secret token Google echoes in X-Goog-Channel-Token: enough to check a
    #: notification, useless to forge one if the database leaks
    token_hash: Mapped[str] = mapped_column(db.String(64))
    expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    mapping = relationship("CalendarMapping")

    def __repr__(self):
        return f"<PushChannel {self.channel_id} mapping={self.mapping_id}>"
