"""Activity services: permissions, queries and the one write path.

Every change to an activity goes through :func:`save_activity` or :func:`delete_activity`.
They flush (the request or job commits) and send the ``activity_saved`` /
``activity_deleting`` signals, so the Google sync can mark what needs exporting without the
views knowing about it. ``source`` tells listeners who wrote (``"crm"`` for people,
``"google"`` for imports) so an import does not echo back out.
"""
from datetime import date, datetime, timezone

from blinker import Namespace
from sqlalchemy import and_, func, inspect, or_, select, true, union_all
from sqlalchemy.orm import selectinload

from portal.accounts.models import User
from portal.core.types import utcnow
from portal.crm.calendar_view import expand_recurring, local_dates_of_range
from portal.crm.recurrence_rules import shift_exdates
from portal.crm.models import (PRIORITIES, RESPONSES, STATUSES, VISIBILITIES, Activity,
                               ActivityType, Contact, activity_invitees, activity_participants,
                               activity_responses)
from portal.extensions import db

#: the largest id an INTEGER column holds; bigger numbers in URLs are simply not found
MAX_ID = 2**31 - 1

SOURCE_CRM = "crm"
SOURCE_GOOGLE = "google"

_signals = Namespace()
#: sent after an activity was created or changed and flushed:
#: ``sender=activity, actor=User|None, source=str, created=bool, changed=set[str],
#: notify_guests=bool`` (the person asked Google to email the guests about this change)
activity_saved = _signals.signal("activity-saved")
#: sent just before an activity is deleted (its links and ids are still readable):
#: ``sender=activity, actor=User|None, source=str``
activity_deleting = _signals.signal("activity-deleting")
#: sent with a list of activities about to be shown (``sender=list``); listeners set display
#: attributes on them in bulk, one query per page: ``from_google``, ``google_html_link``,
#: ``google_synced`` and ``locked_reason`` (why nobody may change it in the CRM, or None).
#: The Google sync connects to it, so the CRM never imports the sync.
activities_shown = _signals.signal("activities-shown")

#: the attributes save_activity accepts
EDITABLE_FIELDS = (
    "subject", "activity_type", "activity_type_id", "status", "priority", "all_day",
    "start_at", "end_at", "start_date", "end_date", "time_zone", "location", "description",
    "recurrence", "reminder_minutes", "reminders", "visibility", "show_in_calendar", "organizer",
    "organizer_id", "participants", "invitees", "color", "conference", "conference_url",
    "conference_name",
)
_COLLECTIONS = ("participants", "invitees")


class ActivityError(ValueError):
    """An activity breaks a rule; ``field`` names the form field the message belongs to."""

    def __init__(self, message, field=None):
        super().__init__(message)
        self.field = field


# -- permissions ------------------------------------------------------------------------

def _is_participant(user, activity):
    return any(p.id == user.id for p in activity.participants)


def can_view(user, activity):
    """Admins see everything; others the activities they organize or take part in."""
    if user is None or activity is None or not getattr(user, "is_authenticated", True):
        return False
    if user.is_admin or activity.organizer_id == user.id:
        return True
    return _is_participant(user, activity)


def annotate(activities):
    """Set the display attributes of ``activities`` (see :data:`activities_shown`) in one
    go and return them. Activities annotated before are skipped."""
    items = [a for a in activities if a is not None and getattr(a, "id", None) is not None
             and "locked_reason" not in vars(a)]
    for activity in items:
        activity.from_google = False
        activity.google_html_link = ""
        activity.google_synced = False
        activity.google_removed = False
        activity.locked_reason = None
    if items:
        activities_shown.send(items)
    return activities


def locked_reason(activity):
    """Why nobody, admins included, may change ``activity`` in the CRM (e.g. it was imported
    from Google, which stays its master copy), or None."""
    if activity is None or getattr(activity, "id", None) is None:
        return None
    annotate([activity])
    return activity.locked_reason


def can_edit(user, activity):
    """Admins and the organizer; participants only read. Nobody edits a locked activity
    (one imported from Google: it is changed in Google and synced back)."""
    if user is None or activity is None or not getattr(user, "is_authenticated", True):
        return False
    if not (user.is_admin or activity.organizer_id == user.id):
        return False
    return locked_reason(activity) is None


def involves(user):
    """SQL condition: ``user`` organizes or takes part in the activity.

    An id list of two indexed lookups (organizer_id; the participants' user_id), so both
    databases start from this user's activities: with an OR and a correlated EXISTS they
    scanned every activity of every user, and each calendar page was as slow as the whole
    CRM was big (bench/web_bench.py measures a month among 100,000 other users' rows).
    """
    return Activity.id.in_(union_all(select(Activity.id).where(Activity.organizer_id == user.id),
                                     _participations(user)))


def _participations(user):
    """The ids of the activities ``user`` takes part in (not organizes)."""
    return select(activity_participants.c.activity_id).where(
        activity_participants.c.user_id == user.id)


def visible_to(user):
    """SQL condition: ``user`` may see the activity."""
    return true() if user.is_admin else involves(user)


def get_visible(user, activity_id):
    """The activity if ``user`` may see it, else None (the view answers 404 either way)."""
    if not 0 < activity_id <= MAX_ID:
        return None
    activity = db.session.get(Activity, activity_id)
    return activity if can_view(user, activity) else None


def calendar_owners(user):
    """Users whose calendars ``user`` may open: admins any user, others themselves and the
    organizers of activities they take part in."""
    if user.is_admin:
        return db.session.scalars(select(User).order_by(User.active.desc(), User.name)).all()
    organizer_ids = select(Activity.organizer_id).where(Activity.id.in_(_participations(user)))
    return db.session.scalars(select(User).where(
        or_(User.id == user.id, and_(User.id.in_(organizer_ids), User.active.is_(True))))
        .order_by(User.name)).all()


def may_open_calendar(user, owner):
    return owner is not None and (user.is_admin or owner.id == user.id
                                  or any(u.id == owner.id for u in calendar_owners(user)))


def assignable_users(user, activity=None):
    """Users who can be picked as organizer or participant: active users, plus whoever is
    already on the activity (so editing never silently drops a deactivated person)."""
    users = db.session.scalars(select(User).where(User.active.is_(True))
                               .order_by(User.name)).all()
    if activity is not None:
        known = {u.id for u in users}
        extra = [u for u in [activity.organizer, *activity.participants]
                 if u is not None and u.id not in known]
        users = sorted({u.id: u for u in [*users, *extra]}.values(), key=lambda u: u.name)
    return users


def invitable_contacts(user, activity=None):
    """Contacts ``user`` may invite: their own (admins: all), plus those already invited."""
    query = select(Contact).order_by(Contact.last_name, Contact.first_name)
    if not user.is_admin:
        query = query.where(Contact.owner_id == user.id)
    contacts = list(db.session.scalars(query))
    if activity is not None:
        known = {c.id for c in contacts}
        contacts += [c for c in activity.invitees if c.id not in known]
    return contacts


# -- invitations ------------------------------------------------------------------------

ANSWER_LABELS = {"accepted": "Yes", "tentative": "Maybe", "declined": "No",
                 "needsAction": "No answer yet"}


def can_answer(user, activity):
    """Participants answer an invitation; so does an organizer whose meeting someone else
    organizes in Google (they are only a guest there)."""
    if user is None or activity is None or not getattr(user, "is_authenticated", True):
        return False
    if _is_participant(user, activity):
        return True
    return activity.organizer_id == user.id and locked_reason(activity) is not None


def answer_of(activity, user):
    """``user``'s answer to ``activity`` (``needsAction`` when they have not answered)."""
    status = db.session.scalar(select(activity_responses.c.response_status).where(
        activity_responses.c.activity_id == activity.id,
        activity_responses.c.user_id == user.id))
    return status or "needsAction"


def answers(activity):
    """Everyone's answers: ({user id: status}, {contact id: status})."""
    users = dict(db.session.execute(select(activity_responses.c.user_id,
                                           activity_responses.c.response_status).where(
        activity_responses.c.activity_id == activity.id)).all())
    contacts = dict(db.session.execute(select(activity_invitees.c.contact_id,
                                              activity_invitees.c.response_status).where(
        activity_invitees.c.activity_id == activity.id)).all())
    return users, contacts


def answer_invitation(activity, user, status):
    """Record ``user``'s answer (accepted, tentative or declined). The activity's version
    moves, so the user's own copy in Google gets the answer with the next sync (Google lets
    a guest change only that)."""
    if status not in RESPONSES or status == "needsAction":
        raise ActivityError("Answer yes, maybe or no.", "answer")
    if not can_answer(user, activity):
        raise ActivityError("You are not invited to this activity.", "answer")
    table = activity_responses
    if answer_of(activity, user) == status:
        return activity
    exists_ = db.session.scalar(select(table.c.user_id).where(
        table.c.activity_id == activity.id, table.c.user_id == user.id))
    if exists_ is None:
        db.session.execute(table.insert().values(activity_id=activity.id, user_id=user.id,
                                                 response_status=status, answered_at=utcnow()))
    else:
        db.session.execute(table.update().where(
            table.c.activity_id == activity.id, table.c.user_id == user.id).values(
            response_status=status, answered_at=utcnow()))
    # Writing a column forces the row UPDATE, which bumps the version: the sync sees it.
    activity.modified_at = utcnow()
    db.session.flush()
    return activity


# -- queries ----------------------------------------------------------------------------

def overlaps(start_utc, end_utc, first_date, last_date):
    """SQL condition: timed activities overlapping [start_utc, end_utc), all-day ones
    overlapping ``first_date``..``last_date`` (inclusive)."""
    timed = and_(Activity.all_day.is_(False), Activity.start_at < end_utc,
                 or_(Activity.end_at > start_utc,
                     and_(Activity.start_at >= start_utc,
                          or_(Activity.end_at.is_(None), Activity.end_at <= Activity.start_at))))
    all_day = and_(Activity.all_day.is_(True), Activity.start_date <= last_date,
                   func.coalesce(Activity.end_date, Activity.start_date) >= first_date)
    return or_(timed, all_day)


def repeats_before(end_utc, last_date):
    """SQL condition: a recurring activity whose series starts before the range ends (its
    occurrences are worked out in Python, see :func:`occurrences_in_range`)."""
    return and_(Activity.recurrence.is_not(None), Activity.recurrence != "",
                or_(and_(Activity.all_day.is_(False), Activity.start_at < end_utc),
                    and_(Activity.all_day.is_(True), Activity.start_date <= last_date)))


def starts_first():
    """Order by start: timed instants and all-day dates in one sequence."""
    return func.coalesce(Activity.start_at, Activity.start_date)


#: the columns calendar grids draw (an activity's text, people and reminders are not shown)
GRID_COLUMNS = (Activity.id, Activity.subject, Activity.status, Activity.all_day,
                Activity.start_at, Activity.end_at, Activity.start_date, Activity.end_date,
                Activity.time_zone, Activity.recurrence, Activity.location,
                Activity.organizer_id, Activity.origin, Activity.conference_url,
                Activity.conference_name,
                # the colour the calendar marks it with (see Activity.display_color), read in
                # the same query: a scalar subquery, so the grid's query stays one
                func.coalesce(func.nullif(Activity.color, ""), select(ActivityType.color)
                              .where(ActivityType.id == Activity.activity_type_id)
                              .scalar_subquery()).label("display_color"))


def activities_in_range(user, start_utc, end_utc, owner=None, *, zone_name=None,
                        include_hidden=False):
    """Activities to show in ``owner``'s calendar between two UTC instants, as ``user`` may
    see them.

    ``owner`` defaults to ``user``; their calendar holds what they organize or take part in.
    Another person's calendar only shows what ``user`` may see too (admins see all of it).
    Timed activities overlapping [start_utc, end_utc) are included, and all-day ones whose
    dates overlap the local dates of that range in ``zone_name`` (default: ``user``'s zone).
    Activities with *Show in calendar* off are left out unless ``include_hidden``.
    """
    owner = owner or user
    first_date, last_date = local_dates_of_range(start_utc, end_utc,
                                                 zone_name or user.time_zone or "UTC")
    # Only what a calendar grid draws, as plain rows: a month holds hundreds of activities,
    # and building ORM objects for them cost more than the query.
    query = (select(*GRID_COLUMNS)
             .where(involves(owner), or_(overlaps(start_utc, end_utc, first_date, last_date),
                                         repeats_before(end_utc, last_date)))
             .order_by(starts_first(), Activity.id))
    if owner.id != user.id:
        query = query.where(visible_to(user))
    if not include_hidden:
        query = query.where(Activity.show_in_calendar.is_(True))
    # Core execution (after the flush the ORM would do): no ORM row loading for plain
    # columns, a third of this function's time with a month of 1,000 activities.
    db.session.flush()
    result = db.session.connection().execute(query)
    keys = list(result.keys())
    # All rows in one fetch (not one DBAPI call a row), each straight into an object.
    new = object.__new__
    activities = []
    for row in result.all():
        activity = new(GridActivity)
        activity.__dict__ = dict(zip(keys, row))
        activities.append(activity)
    return activities


class GridActivity:
    """An activity as a calendar grid shows it: the :data:`GRID_COLUMNS` as attributes, plus
    what :func:`annotate` adds."""

    def __init__(self, values):
        self.__dict__.update(values)

    def __repr__(self):
        return f"<GridActivity {self.id} {self.subject!r}>"


def occurrences_in_range(user, start_utc, end_utc, owner=None, *, zone_name=None,
                         annotated=True):
    """What ``owner``'s calendar shows between two UTC instants: the activities of
    :func:`activities_in_range`, with every recurring one replaced by its occurrences in the
    range (each an ``Occurrence`` of the series). ``annotated``: with the display
    attributes of :func:`annotate`; a page that draws only some of them (a month cell draws
    three) annotates those itself."""
    zone_name = zone_name or user.time_zone or "UTC"
    items = activities_in_range(user, start_utc, end_utc, owner=owner, zone_name=zone_name)
    if annotated:
        annotate(items)
    return expand_recurring(items, start_utc, end_utc, zone_name)


def list_query(user, *, activity_type_id=None, status=None, start_utc=None, end_utc=None,
               first_date=None, last_date=None, descending=False):
    """The activity list: what ``user`` may see, filtered, ordered by start."""
    query = select(Activity).where(visible_to(user))
    if activity_type_id:
        query = query.where(Activity.activity_type_id == activity_type_id)
    if status:
        query = query.where(Activity.status == status)
    if start_utc is not None or end_utc is not None:
        start_utc = start_utc or datetime(1900, 1, 1, tzinfo=timezone.utc)
        end_utc = end_utc or datetime(3000, 1, 1, tzinfo=timezone.utc)
        last_date = last_date or date(2999, 12, 31)
        # A series that started earlier still repeats in the range: list it too (once).
        query = query.where(or_(overlaps(start_utc, end_utc, first_date or date(1900, 1, 1),
                                         last_date),
                                repeats_before(end_utc, last_date)))
    order = starts_first()
    query = query.order_by(order.desc() if descending else order.asc(),
                           Activity.id.desc() if descending else Activity.id)
    return query.options(selectinload(Activity.activity_type), selectinload(Activity.organizer))


# -- writes -----------------------------------------------------------------------------

def check_activity(activity):
    """Rules every saved activity obeys, whoever wrote it; raises :class:`ActivityError`."""
    if not (activity.subject or "").strip():
        raise ActivityError("Enter a subject.", "subject")
    if activity.activity_type is None and activity.activity_type_id is None:
        raise ActivityError("Choose an activity type.", "activity_type_id")
    if activity.status not in STATUSES:
        raise ActivityError("Choose a status from the list.", "status")
    if activity.priority not in PRIORITIES:
        raise ActivityError("Choose a priority from the list.", "priority")
    if activity.visibility not in VISIBILITIES:
        raise ActivityError("Choose a visibility from the list.", "visibility")
    if activity.organizer is None and activity.organizer_id is None:
        raise ActivityError("Choose an organizer.", "organizer_id")
    problem = activity.reminders.problem()
    if problem:
        raise ActivityError(problem, "reminder_minutes")
    if activity.all_day:
        if activity.start_date is None or activity.end_date is None:
            raise ActivityError("Enter the first and last day.", "start_date")
        if isinstance(activity.start_date, datetime) or isinstance(activity.end_date, datetime):
            raise ActivityError("All-day activities cover whole dates.", "start_date")
        if activity.end_date < activity.start_date:
            raise ActivityError("The last day cannot be before the first day.", "end_date")
    else:
        if activity.start_at is None or activity.end_at is None:
            raise ActivityError("Enter a start and an end.", "start_date")
        if activity.start_at.tzinfo is None or activity.end_at.tzinfo is None:
            raise ActivityError("Times must carry a time zone.", "start_date")
        if activity.end_at < activity.start_at:
            # Equal is allowed: Google has zero-length events (a deadline, a reminder).
            raise ActivityError("The end cannot be before the start.", "end_date")


def _changed_fields(activity):
    state = inspect(activity)
    if state.transient or state.pending:
        return set(EDITABLE_FIELDS) - {"activity_type", "organizer"}
    return {attr.key for attr in state.attrs if attr.history.has_changes()}


def save_activity(activity, *, actor=None, source=SOURCE_CRM, notify_guests=False, **values):
    """Create or update ``activity`` with ``values`` (model attribute names), check the
    rules, flush, and tell listeners what changed. Returns the activity.

    New activities get the actor as creator and, unless given, as organizer. All-day
    activities drop their instants and timed ones their dates. ``participants`` never
    repeats the organizer. Any change, including only participants or invitees, bumps
    ``modified_at`` and so the version. ``notify_guests``: the person asked for the guests
    to be emailed about this change (Google does it when the change is exported).
    """
    unknown = set(values) - set(EDITABLE_FIELDS)
    if unknown:
        raise TypeError(f"save_activity got unknown fields: {', '.join(sorted(unknown))}")
    # No autoflush while reading relationships below: the changes must stay pending so
    # they can be listed for the signal, and a half-applied activity must not be flushed.
    with db.session.no_autoflush:
        created = activity.id is None
        before = (activity.all_day, activity.start_at, activity.start_date)
        type_before = activity.activity_type_id
        for key, value in values.items():
            if key in _COLLECTIONS:
                value = list(value)
            setattr(activity, key, value)
        if created:
            if actor is not None:
                activity.created_by = activity.created_by or actor
                if activity.organizer is None and activity.organizer_id is None:
                    activity.organizer = actor
            activity.status = activity.status or STATUSES[0]
            activity.priority = activity.priority or "Medium"
            activity.visibility = activity.visibility or VISIBILITIES[0]
            if activity.show_in_calendar is None:
                activity.show_in_calendar = True
        if activity.all_day:
            activity.start_at = activity.end_at = None
            if activity.start_date is not None and activity.end_date is None:
                activity.end_date = activity.start_date
        else:
            activity.start_date = activity.end_date = None
        if not created and source == SOURCE_CRM:
            _move_exdates_with_the_series(activity, before)
            if "color" not in values and _type_changed(values, type_before):
                # A new type brings its own colour, in the CRM and (next export) in Google,
                # even over a colour Google had given the event.
                activity.color = None
        organizer = activity.organizer
        organizer_id = organizer.id if organizer is not None else activity.organizer_id
        if any(p.id == organizer_id for p in activity.participants):
            activity.participants = [p for p in activity.participants if p.id != organizer_id]
        check_activity(activity)

        changed = _changed_fields(activity)
    if not created and not changed:
        return activity  # nothing to export, so nothing to tell the guests either
    if not created:
        activity.modified_at = utcnow()
    db.session.add(activity)
    db.session.flush()
    activity_saved.send(activity, actor=actor, source=source, created=created, changed=changed,
                        notify_guests=notify_guests)
    return activity


def _type_changed(values, type_before):
    if values.get("activity_type") is not None:
        new = values["activity_type"].id
    else:
        new = values.get("activity_type_id")
    return new is not None and new != type_before


def _move_exdates_with_the_series(activity, before):
    """A series moved in the CRM (10:00 -> 11:00, or to another day): the occurrences taken
    out of it (EXDATEs) move with it, or they would come back at the new time."""
    was_all_day, old_start_at, old_start_date = before
    if "EXDATE" not in (activity.recurrence or "").upper() or was_all_day != activity.all_day:
        return
    old = old_start_date if activity.all_day else old_start_at
    new = activity.start_date if activity.all_day else activity.start_at
    if old is None or new is None or old == new:
        return
    activity.recurrence = shift_exdates(activity.recurrence, old, new, all_day=activity.all_day,
                                        zone_name=activity.time_zone or "UTC")


def delete_activity(activity, *, actor=None, source=SOURCE_CRM):
    """Delete ``activity`` (after telling listeners) and flush."""
    activity_deleting.send(activity, actor=actor, source=source)
    db.session.delete(activity)
    db.session.flush()

