"""Keep ``Activity.version`` and ``Contact.version`` honest: they must change on *every*
write of a synced field.

SQLAlchemy bumps ``version_id_col`` only when the activities row itself is UPDATEd. Adding or
removing a participant or an invitee writes only the association tables, so without this
hook the sync would never notice an attendee change.
"""
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session

from portal.core.types import utcnow


def _attendees_changed(activity):
    state = inspect(activity)
    return any(state.attrs[name].history.has_changes() for name in ("participants", "invitees"))


@event.listens_for(Session, "before_flush")
def _touch_activities_with_new_attendees(session, flush_context, instances):
    from portal.crm.models import Activity

    for obj in session.dirty:
        if isinstance(obj, Activity) and _attendees_changed(obj):
            # Writing a column forces the row UPDATE, which bumps the version.
            obj.modified_at = utcnow()


def _contact_lists_changed(contact):
    state = inspect(contact)
    return any(state.attrs[name].history.has_changes() for name in ("emails", "phones", "tags"))


@event.listens_for(Session, "before_flush")
def _touch_contacts_with_changed_lists(session, flush_context, instances):
    """A contact's version must move when only its emails, phones or tags change (other
    rows): the contacts sync sends what changed since Google acknowledged a version."""
    from portal.crm.models import Contact, ContactEmail, ContactPhone

    touched = set()
    for obj in session.dirty:
        if isinstance(obj, Contact) and _contact_lists_changed(obj):
            touched.add(obj)
    for obj in list(session.dirty) + list(session.new) + list(session.deleted):
        if isinstance(obj, (ContactEmail, ContactPhone)) and obj.contact_id is not None:
            parent = session.get(Contact, obj.contact_id)
            if parent is not None and parent not in session.deleted and parent not in session.new:
                touched.add(parent)
    for contact in touched:
        contact.modified_at = utcnow()
