"""Contacts sync settings: which of the user's private tags syncs, how often, and what a
delete in Google does. Services flush; the request commits."""
from sqlalchemy import delete, select

from portal.crm.models import TAG_PRIVATE, Tag
from portal.extensions import db
from portal.google import services as google_services
from portal.google.client import CONTACTS_SCOPE
from portal.sync.contacts.models import ContactLink, ContactSyncSettings
from portal.sync.core.runs import KIND_CONTACTS, SyncRun

#: how the CRM's fields meet Google's (shown on the settings page)
FIELD_MAPPING = (
    ("First and last name", "Name (given and family name)"),
    ("Emails, with their labels", "Email addresses (work, home, other)"),
    ("Phones, with their labels", "Phone numbers (work, home, mobile, other)"),
    ("Organization and job title", "Organization (the first one)"),
    ("Street, city, postal code, region, country", "Address (the first one)"),
    ("Birthday", "Birthday"),
    ("Notes", "Notes"),
    ("The tag", "Membership of the label named after it"),
    ("(the contact's page in the CRM)", "A website entry labelled CRM, on contacts the CRM sends"),
)


class ContactsSyncError(ValueError):
    """A setting was refused; ``field`` names the form field."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


def get_settings(user, create=False):
    settings = db.session.scalars(select(ContactSyncSettings)
                                  .where(ContactSyncSettings.user_id == user.id)).first()
    if settings is None and create:
        settings = ContactSyncSettings(user_id=user.id, auto_sync=False, period_minutes=60)
        db.session.add(settings)
        db.session.flush()
    return settings


def private_tags(user):
    """The tags a user may sync: their own private ones (public and corporate tags never
    sync)."""
    return db.session.scalars(select(Tag).where(Tag.visibility == TAG_PRIVATE,
                                                Tag.owner_id == user.id)
                              .order_by(Tag.name)).all()


def has_contacts_access(user):
    conn = google_services.get_connection(user)
    return conn is not None and CONTACTS_SCOPE in conn.scope_list


def save_settings(user, *, tag_id, auto_sync, period_minutes, conflict_rule,
                  delete_in_crm_when_deleted_in_google):
    """Store the contacts sync settings. Choosing another tag starts over with that tag's
    label (the old label and its people stay in Google as they are)."""
    tag = None
    if tag_id:
        tag = db.session.get(Tag, tag_id)
        if tag is None or tag.visibility != TAG_PRIVATE or tag.owner_id != user.id:
            raise ContactsSyncError("Choose one of your own private tags.", "tag_id")
    settings = get_settings(user, create=True)
    if (tag.id if tag else None) != settings.tag_id:
        db.session.execute(delete(ContactLink).where(ContactLink.settings_id == settings.id))
        settings.group_resource_name = None
        settings.sync_token = None
    settings.tag_id = tag.id if tag else None
    settings.auto_sync = bool(auto_sync)
    settings.period_minutes = int(period_minutes)
    settings.conflict_rule = conflict_rule
    settings.delete_in_crm_when_deleted_in_google = bool(delete_in_crm_when_deleted_in_google)
    db.session.flush()
    return settings


def recent_runs(user, limit=20):
    return db.session.scalars(select(SyncRun).where(SyncRun.user_id == user.id,
                                                    SyncRun.kind == KIND_CONTACTS)
                              .order_by(SyncRun.id.desc()).limit(limit)).all()


def forget_user_links(user):
    """The "forget links" choice on disconnect: the user's contact links go too (the next
    sync matches people by email again, so nothing is duplicated). Tombstones stay: they
    are CRM deletes the next export still owes Google."""
    db.session.execute(delete(ContactLink).where(ContactLink.user_id == user.id,
                                                 ContactLink.contact_id.is_not(None)))
    for settings in db.session.scalars(select(ContactSyncSettings).where(
            ContactSyncSettings.user_id == user.id)):
        settings.sync_token = None
        settings.last_synced_at = None


def forget_account(user):
    """The user connected a different Google account: the old account's people and label
    mean nothing there. Every link goes (tombstones too), and the label is looked up (or
    made) again in the new account."""
    db.session.execute(delete(ContactLink).where(ContactLink.user_id == user.id))
    for settings in db.session.scalars(select(ContactSyncSettings).where(
            ContactSyncSettings.user_id == user.id)):
        settings.group_resource_name = None
        settings.sync_token = None
        settings.last_synced_at = None
