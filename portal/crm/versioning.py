"""Keep ``Activity.version`` honest: it must change on *every* write of a synced field.

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
