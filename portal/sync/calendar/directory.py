"""Who is who, for the sync: CRM users and contacts behind Google addresses, and the
snapshots the engine plans with. Reads in bulk (a constant number of queries per call).
"""
import json

from sqlalchemy import and_, select
from sqlalchemy.orm import selectinload

from portal.accounts.models import User, UserEmail
from portal.core.colors import nearest_color_id
from portal.crm.models import (Activity, Contact, ContactEmail, activity_invitees,
                               activity_responses)
from portal.extensions import db
from portal.google.models import (STATUS_CONNECTED, CalendarMapping, GoogleConnection)
from portal.sync.calendar import engine as e
from portal.sync.calendar.models import (
    LINK_ACTIVE, ROLE_GUEST, ROLE_ORGANIZER, EventLink, ExternalAttendee,
)
from portal.sync.core.bulk import chunks, in_query

def user_key(user_id):
    return f"user:{user_id}"


def contact_key(contact_id):
    return f"contact:{contact_id}"


def key_id(key, kind):
    """The row id in ``key`` ("user:3" -> 3) when it is of ``kind``, else None."""
    prefix = kind + ":"
    if key and key.startswith(prefix):
        try:
            return int(key[len(prefix):])
        except ValueError:
            return None
    return None


def emails_of_user(user):
    """Every address that is ``user``: login, other addresses, connected Google account."""
    found = {user.email.lower()}
    found.update(db.session.scalars(select(UserEmail.email).where(UserEmail.user_id == user.id)))
    google = db.session.scalar(select(GoogleConnection.google_email)
                               .where(GoogleConnection.user_id == user.id))
    if google:
        found.add(google.lower())
    return found


class Directory:
    """Users and contacts behind a set of addresses (see :meth:`lookup`), as the engine's
    :class:`portal.sync.calendar.engine.People` plus the rows to attach."""

    def __init__(self, owner_id=None):
        #: contacts of this user win over someone else's with the same address
        self.owner_id = owner_id
        self.keys = {}
        self.users = {}
        self.contacts = {}

    def lookup(self, emails):
        emails = {(x or "").strip().lower() for x in emails} - set(self.keys) - {""}
        if not emails:
            return self
        for chunk in chunks(emails):
            rows = db.session.execute(select(User.email, User).where(User.email.in_(chunk)))
            rows = list(rows) + list(db.session.execute(
                select(UserEmail.email, User).join(User, User.id == UserEmail.user_id)
                .where(UserEmail.email.in_(chunk))))
            rows += list(db.session.execute(
                select(GoogleConnection.google_email, User)
                .join(User, User.id == GoogleConnection.user_id)
                .where(GoogleConnection.google_email.in_(chunk))))
            for email, user in rows:
                self.keys[email.lower()] = user_key(user.id)
                self.users[user.id] = user
            left = [x for x in chunk if x not in self.keys]
            if not left:
                continue
            contact_rows = db.session.execute(select(ContactEmail.email, Contact).join(
                Contact, Contact.id == ContactEmail.contact_id).where(
                ContactEmail.email.in_(left))).all()
            for email, contact in sorted(contact_rows,
                                         key=lambda r: (r[1].owner_id != self.owner_id, r[1].id)):
                if email.lower() not in self.keys:
                    self.keys[email.lower()] = contact_key(contact.id)
                    self.contacts[contact.id] = contact
        return self

    def people(self):
        return e.People(dict(self.keys))


# -- snapshots --------------------------------------------------------------------------------

def load_activities(ids):
    """Full activities with everything the engine needs, in a constant number of queries."""
    if not ids:
        return []
    return in_query(lambda chunk: select(Activity).where(Activity.id.in_(chunk)).options(
        selectinload(Activity.participants), selectinload(Activity.organizer),
        selectinload(Activity.activity_type),
        selectinload(Activity.invitees).selectinload(Contact.emails)), ids)


def external_attendees(activity_ids):
    out = {}
    for chunk in chunks(activity_ids):
        for row in db.session.scalars(select(ExternalAttendee)
                                      .where(ExternalAttendee.activity_id.in_(chunk))
                                      .order_by(ExternalAttendee.id)):
            out.setdefault(row.activity_id, []).append(row)
    return out


def answers(activity_ids):
    """{activity id: {user id: answer}} and {activity id: {contact id: answer}}."""
    users, contacts = {}, {}
    for chunk in chunks(activity_ids):
        for activity_id, user_id, status in db.session.execute(
                select(activity_responses.c.activity_id, activity_responses.c.user_id,
                       activity_responses.c.response_status)
                .where(activity_responses.c.activity_id.in_(chunk))):
            users.setdefault(activity_id, {})[user_id] = status
        for activity_id, contact_id, status in db.session.execute(
                select(activity_invitees.c.activity_id, activity_invitees.c.contact_id,
                       activity_invitees.c.response_status)
                .where(activity_invitees.c.activity_id.in_(chunk))):
            contacts.setdefault(activity_id, {})[contact_id] = status
    return users, contacts


class Snapshots:
    """Engine snapshots of activity rows, with their attendees, externals and answers
    loaded in bulk."""

    def __init__(self, rows):
        ids = [a.id for a in rows]
        self.externals = external_attendees(ids)
        self.user_answers, self.contact_answers = answers(ids)

    def of(self, activity):
        return snapshot(activity, self.externals.get(activity.id, ()),
                        self.user_answers.get(activity.id, {}),
                        self.contact_answers.get(activity.id, {}))


def snapshot(activity, externals=(), user_answers=None, contact_answers=None):
    """An engine snapshot of an Activity row."""
    user_answers = user_answers or {}
    contact_answers = contact_answers or {}
    attendees = [e.Attendee(u.email, u.name, user_answers.get(u.id, e.NEEDS_ACTION),
                            user_key(u.id)) for u in activity.participants]
    attendees += [e.Attendee(c.primary_email, c.full_name,
                             contact_answers.get(c.id, e.NEEDS_ACTION), contact_key(c.id))
                  for c in activity.invitees if c.primary_email]
    organizer = None
    extra = []
    for x in externals:
        attendee = e.Attendee(x.email, x.display_name, x.response_status, e.email_key(x.email))
        if x.is_organizer:
            organizer = attendee
        else:
            extra.append(attendee)
    return e.ActivitySnapshot(
        id=activity.id, uid=activity.uid, version=activity.version, subject=activity.subject,
        activity_type_id=activity.activity_type_id, description=activity.description or "",
        location=activity.location or "", status=activity.status, all_day=activity.all_day,
        start_at=activity.start_at, end_at=activity.end_at, start_date=activity.start_date,
        end_date=activity.end_date, time_zone=activity.time_zone or "UTC",
        recurrence=e.recurrence_lines(activity.recurrence or ""),
        reminders=activity.reminders, visibility=activity.visibility,
        conference=bool(activity.conference), conference_url=activity.conference_url or "",
        conference_name=activity.conference_name or "",
        show_in_calendar=activity.show_in_calendar, organizer_id=activity.organizer_id,
        organizer_email=activity.organizer.email if activity.organizer else "",
        organizer_name=activity.organizer.name if activity.organizer else "",
        attendees=tuple(attendees), external_attendees=tuple(extra),
        external_organizer=organizer, answers=tuple(user_answers.items()),
        modified_at=activity.modified_at, origin=activity.origin or e.ORIGIN_CRM,
        ical_uid=activity.ical_uid or "", google_event_id=activity.google_event_id or "",
        color_id=google_color_id(activity), own_color=activity.color is not None)


def google_color_id(activity):
    """The Google colorId the CRM gives an activity's event: its own colour (one Google
    gave it; "" none), else its type's nearest palette colour."""
    if activity.color is not None:
        return nearest_color_id(activity.color) if activity.color else None
    activity_type = activity.activity_type
    return nearest_color_id(activity_type.color) if activity_type is not None else None


def event_state(link):
    """The link's remembered Google state (attendees, recurrence, derived EXDATEs, base)."""
    if not link.event_state:
        return None
    try:
        state = json.loads(link.event_state)
    except ValueError:
        return None
    return state if isinstance(state, dict) else None


def link_snapshot(link, existing_ids=None):
    activity_id = link.activity_id
    if existing_ids is not None and activity_id is not None and activity_id not in existing_ids:
        activity_id = None  # deleted without the FK's SET NULL (e.g. SQLite): a tombstone
    state = event_state(link) or {}
    recurrence = state.get("recurrence")
    return e.LinkSnapshot(
        google_attendees=tuple(a for a in state.get("attendees") or () if isinstance(a, dict)),
        google_recurrence=tuple(recurrence) if isinstance(recurrence, list) else None,
        google_exdates=tuple(state.get("exdates") or ()),
        base_fields=state.get("fields") if isinstance(state.get("fields"), dict) else None,
        guests_can_modify=bool(state.get("guestsCanModify")),
        id=link.id, mapping_id=link.mapping_id, activity_id=activity_id,
        event_id=link.event_id, calendar_id=link.calendar_id, ical_uid=link.ical_uid or "",
        etag=link.etag or "", updated=link.google_updated_at,
        synced_version=link.synced_version, owner=link.owner, state=link.state,
        recurring_event_id=link.recurring_event_id or "", role=link.role or ROLE_ORGANIZER,
        crm_deleted_at=link.crm_deleted_at, user_id=link.user_id)


def organizer_linked(activity_ids):
    """Activities among ``activity_ids`` whose organizer's copy is linked (active)."""
    found = set()
    for chunk in chunks(activity_ids):
        found.update(db.session.scalars(select(EventLink.activity_id).where(
            EventLink.activity_id.in_(chunk), EventLink.role == ROLE_ORGANIZER,
            EventLink.state == LINK_ACTIVE)))
    return frozenset(found)


def self_answering(activity_ids):
    """{activity id: {user ids whose own guest copy is linked}}."""
    out = {}
    for chunk in chunks(activity_ids):
        for activity_id, user_id in db.session.execute(select(
                EventLink.activity_id, EventLink.user_id).where(
                EventLink.activity_id.in_(chunk), EventLink.role == ROLE_GUEST,
                EventLink.state == LINK_ACTIVE)):
            out.setdefault(activity_id, set()).add(user_id)
    return out


def syncing_calendars(calendar_ids):
    """{calendar id: user id} for calendars a connected CRM user imports."""
    ids = {(c or "").lower() for c in calendar_ids} - {""}
    out = {}
    for chunk in chunks(ids):
        for calendar_id, user_id in db.session.execute(
                select(CalendarMapping.calendar_id, CalendarMapping.user_id)
                .join(GoogleConnection, and_(GoogleConnection.user_id == CalendarMapping.user_id,
                                             GoogleConnection.status == STATUS_CONNECTED))
                .where(CalendarMapping.calendar_id.in_(chunk),
                       CalendarMapping.import_enabled.is_(True))):
            out[calendar_id.lower()] = user_id
    return out
