"""Contacts sync state: each user's settings (which private tag, which Google label) and
the links between CRM contacts and Google people."""
from datetime import datetime

from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.core.types import UTCDateTime, utcnow
from portal.extensions import db

LINK_ACTIVE = "active"
LINK_DETACHED = "detached"
OWNER_CRM = "crm"
OWNER_GOOGLE = "google"


class ContactSyncSettings(db.Model):
    """One user's contacts sync: "Send all contacts with a tag from the CRM to Google"."""

    __tablename__ = "contact_sync_settings"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(db.ForeignKey("users.id", ondelete="CASCADE"),
                                         unique=True)
    #: the user's own private tag whose contacts sync (None: contacts sync is off)
    tag_id: Mapped[int | None] = mapped_column(db.ForeignKey("tags.id", ondelete="SET NULL"))
    #: "Synchronize contacts automatically", and how often (minutes)
    auto_sync: Mapped[bool] = mapped_column(default=False)
    period_minutes: Mapped[int] = mapped_column(default=60)
    #: crm_wins | google_wins | most_recent
    conflict_rule: Mapped[str] = mapped_column(db.String(16), default="crm_wins")
    #: a person deleted in Google deletes the contact (else the link goes, the contact stays)
    delete_in_crm_when_deleted_in_google: Mapped[bool] = mapped_column(default=False)
    #: the Google contact group (label) named after the tag, once found or created
    group_resource_name: Mapped[str | None] = mapped_column(db.String(255))
    #: People connections nextSyncToken; None means a full listing next time
    sync_token: Mapped[str | None] = mapped_column(db.Text)
    last_synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    user = relationship("User")
    tag = relationship("Tag")

    @property
    def enabled(self):
        return self.tag_id is not None


class ContactLink(db.Model):
    """Ties one CRM contact to one Google person of one user's contacts sync. A CRM delete
    leaves the row with ``contact_id`` NULL (a tombstone) for the next export."""

    __tablename__ = "contact_links"
    __table_args__ = (
        db.UniqueConstraint("settings_id", "resource_name",
                            name="uq_contact_links_settings_id_resource_name"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    settings_id: Mapped[int] = mapped_column(
        db.ForeignKey("contact_sync_settings.id", ondelete="CASCADE"), index=True)
    user_id: Mapped[int] = mapped_column(db.ForeignKey("users.id", ondelete="CASCADE"),
                                         index=True)
    contact_id: Mapped[int | None] = mapped_column(
        db.ForeignKey("contacts.id", ondelete="SET NULL"), index=True)
    #: people/c123...
    resource_name: Mapped[str] = mapped_column(db.String(255))
    #: the person's etag when last written or read; every update carries it
    etag: Mapped[str] = mapped_column(db.String(255), default="")
    #: the contact's version Google last acknowledged
    synced_version: Mapped[int | None] = mapped_column()
    #: "crm": the CRM made the person; "google": it came from Google
    owner: Mapped[str] = mapped_column(db.String(8), default=OWNER_CRM)
    #: "active", or "detached" when the person was deleted in Google and the contact kept
    state: Mapped[str] = mapped_column(db.String(16), default=LINK_ACTIVE)
    #: the field groups both sides agreed on at the last sync (JSON), the merge base
    base_fields: Mapped[str | None] = mapped_column(db.Text)
    last_error: Mapped[str | None] = mapped_column(db.Text)
    crm_deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    synced_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    contact = relationship("Contact")
