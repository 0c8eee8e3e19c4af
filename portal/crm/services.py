"""Activity-type and CRM services. Services flush; the request commits."""
from sqlalchemy import select

from portal.crm.models import ActivityType
from portal.extensions import db

DEFAULT_ACTIVITY_TYPES = ("Call", "Meeting", "Task")
#: their colours (as migration 20261210_02 gives them): Google's Blueberry, Basil and
#: Tangerine, so the exported colour is exactly the one the CRM shows
DEFAULT_TYPE_COLORS = {"Call": "#5484ed", "Meeting": "#51b749", "Task": "#ffb878"}


def ensure_default_activity_types():
    """Seed Call, Meeting, Task when the picklist is empty."""
    if db.session.scalar(select(ActivityType.id).limit(1)) is None:
        for position, name in enumerate(DEFAULT_ACTIVITY_TYPES):
            db.session.add(ActivityType(name=name, position=position,
                                        color=DEFAULT_TYPE_COLORS[name]))
        db.session.flush()


def active_activity_types():
    return db.session.scalars(select(ActivityType).where(ActivityType.active.is_(True))
                              .order_by(ActivityType.position, ActivityType.name)).all()
