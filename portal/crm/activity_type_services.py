"""Editing the activity-type picklist (admins). Services flush; the request commits.

Rules: names are unique ignoring case; a type used by any activity can never be deleted, only
deactivated (it then disappears from pickers but stays on its activities); an unused type may
be deleted; at least one type stays active, so new activities always have a type to take.
"""
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.crm.models import Activity, ActivityType
from portal.extensions import db
from portal.core.colors import EVENT_COLORS, is_hex_color

NAME_MAX = 64


class ActivityTypeError(ValueError):
    """A picklist rule was broken; the message is shown to the admin."""


def all_activity_types():
    """Every type, active or not, in picker order."""
    return db.session.scalars(select(ActivityType)
                              .order_by(ActivityType.position, ActivityType.id)).all()


def usage_counts():
    """{activity type id: number of activities of that type}."""
    rows = db.session.execute(select(Activity.activity_type_id, func.count())
                              .group_by(Activity.activity_type_id)).all()
    return dict(rows)


def usage_count(activity_type):
    return db.session.scalar(select(func.count()).select_from(Activity)
                             .where(Activity.activity_type_id == activity_type.id))


def _clean_name(name, exclude=None):
    name = " ".join((name or "").split())
    if not name:
        raise ActivityTypeError("Enter a name for the activity type.")
    if len(name) > NAME_MAX:
        raise ActivityTypeError(f"A name has at most {NAME_MAX} characters.")
    query = select(ActivityType).where(func.lower(ActivityType.name) == name.lower())
    if exclude is not None:
        query = query.where(ActivityType.id != exclude.id)
    clash = db.session.scalars(query.limit(1)).first()
    if clash is not None:
        state = "" if clash.active else " (deactivated; reactivate it instead)"
        raise ActivityTypeError(f"There is already an activity type named "
                                f"\u201c{clash.name}\u201d{state}.")
    return name


def _renumber(types):
    for position, activity_type in enumerate(types):
        activity_type.position = position


def add_activity_type(name):
    """A new active type at the end of the list."""
    name = _clean_name(name)
    types = all_activity_types()
    _renumber(types)
    # A colour no other type has yet, while Google's palette has one left.
    taken = {t.color for t in types}
    color = next((c for c in EVENT_COLORS.values() if c not in taken), EVENT_COLORS["1"])
    activity_type = ActivityType(name=name, position=len(types), active=True, color=color)
    db.session.add(activity_type)
    db.session.flush()
    return activity_type


def rename_activity_type(activity_type, name):
    """Rename; activities of this type (and their calendar mapping) follow, being linked by id."""
    activity_type.name = _clean_name(name, exclude=activity_type)
    db.session.flush()
    return activity_type


def set_activity_type_color(activity_type, color):
    """Give the type a colour (``#rrggbb``). Its activities that have no colour of their own
    show it at once; their events take its nearest Google colour when next exported."""
    color = (color or "").strip()
    if not is_hex_color(color):
        raise ActivityTypeError("Choose a colour as #rrggbb: a # and six hexadecimal digits, "
                                "for example #5484ed.")
    activity_type.color = color.lower()
    db.session.flush()
    return activity_type


def move_activity_type(activity_type, offset):
    """Move up (offset -1) or down (+1) in the list; at an end nothing moves."""
    types = all_activity_types()
    index = next(i for i, t in enumerate(types) if t.id == activity_type.id)
    target = index + offset
    if 0 <= target < len(types):
        types[index], types[target] = types[target], types[index]
    _renumber(types)
    db.session.flush()


def reorder_activity_types(ids):
    """Put the types in the order of ``ids``; types not named keep their order after them."""
    types = all_activity_types()
    by_id = {t.id: t for t in types}
    wanted = [by_id[i] for i in dict.fromkeys(ids) if i in by_id]
    rest = [t for t in types if t not in wanted]
    _renumber(wanted + rest)
    db.session.flush()


def set_activity_type_active(activity_type, active):
    """Deactivate (hidden from pickers, kept on activities) or reactivate a type."""
    if not active and activity_type.active:
        others = db.session.scalar(select(func.count()).select_from(ActivityType).where(
            ActivityType.active.is_(True), ActivityType.id != activity_type.id))
        if others == 0:
            raise ActivityTypeError(f"\u201c{activity_type.name}\u201d is the last active "
                                    "activity type; add or reactivate another one first.")
    activity_type.active = bool(active)
    db.session.flush()
    return activity_type


def delete_activity_type(activity_type):
    """Delete a type no activity uses; a used one must be deactivated instead."""
    used = usage_count(activity_type)
    if used:
        noun = "activity uses" if used == 1 else "activities use"
        raise ActivityTypeError(f"\u201c{activity_type.name}\u201d cannot be deleted: {used} "
                                f"{noun} it. Deactivate it instead to hide it from new "
                                "activities.")
    if activity_type.active:
        others = db.session.scalar(select(func.count()).select_from(ActivityType).where(
            ActivityType.active.is_(True), ActivityType.id != activity_type.id))
        if others == 0:
            raise ActivityTypeError(f"\u201c{activity_type.name}\u201d is the last active "
                                    "activity type; add or reactivate another one first.")
    name = activity_type.name
    try:
        # A savepoint, so a row elsewhere still pointing at the type (a calendar mapping,
        # say) turns into a message instead of a broken transaction.
        with db.session.begin_nested():
            db.session.delete(activity_type)
    except IntegrityError as exc:
        raise ActivityTypeError(f"\u201c{name}\u201d is still referenced elsewhere (for "
                                "example by a calendar mapping); deactivate it instead.") from exc
    _renumber(all_activity_types())
    db.session.flush()
