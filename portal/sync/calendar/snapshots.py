"""What the calendar engine reads: plain, frozen snapshots of people, activities, Google
events, links and mappings, taken by the runner so the planners never touch the database."""
from __future__ import annotations

import uuid
from dataclasses import dataclass, field
from datetime import date, datetime

from portal.crm.calendar_view import series_last_day
from portal.crm.reminders import Reminders
from portal.sync.core.merge import CONFLICT_CRM_WINS
from portal.sync.calendar.times import zone_or_utc, parse_rfc3339
from portal.sync.calendar.plan import (
    LINK_ACTIVE, MARKER_VALUE, NEEDS_ACTION, ORIGIN_CRM, OWNER_CRM, PROP_ACTIVITY_UID,
    PROP_MARKER, ROLE_ORGANIZER, STATUS_HELD, STATUS_PLANNED,
)


# -- people ---------------------------------------------------------------------------------------

def email_key(email):
    """The identity of an address that is nobody in the CRM."""
    return "email:" + (email or "").strip().lower()


@dataclass(frozen=True)
class People:
    """Who each email is in the CRM: ``{lower email: "user:<id>" | "contact:<id>"}``
    (a user's every address, a contact's every address). Anything else is itself."""

    keys: dict = field(default_factory=dict, compare=False, hash=False)

    def key_for(self, email):
        email = (email or "").strip().lower()
        return self.keys.get(email) or email_key(email)


NOBODY = People()


@dataclass(frozen=True)
class Attendee:
    """One attendee: ``key`` says who they are in the CRM (see :class:`People`)."""

    email: str
    display_name: str = ""
    response_status: str = NEEDS_ACTION
    key: str = ""

    @property
    def identity(self):
        return self.key or email_key(self.email)


# -- snapshots ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class ActivitySnapshot:
    """What the engine needs to know about a CRM activity.

    ``attendees``: participants (``user:`` keys), invitees (``contact:``) and attendees kept
    from Google that match nobody (``email:``), never the organizer. ``external_organizer``:
    the meeting's organizer in Google when that is nobody in the CRM. ``answers``: the CRM
    users' own answers, ``((user_id, status), ...)``.
    """

    id: int | None
    uid: uuid.UUID
    version: int
    subject: str
    activity_type_id: int | None = None
    description: str = ""
    location: str = ""
    status: str = STATUS_PLANNED
    all_day: bool = False
    start_at: datetime | None = None
    end_at: datetime | None = None
    start_date: date | None = None
    end_date: date | None = None
    time_zone: str = "UTC"
    recurrence: tuple[str, ...] = ()
    reminders: Reminders = Reminders()
    visibility: str = "default"
    #: a video conference (see sync/calendar/conference.py) and how to join it
    conference: bool = False
    conference_url: str = ""
    conference_name: str = ""
    show_in_calendar: bool = True
    organizer_id: int | None = None
    organizer_email: str = ""
    organizer_name: str = ""
    attendees: tuple[Attendee, ...] = ()
    external_attendees: tuple[Attendee, ...] = ()
    external_organizer: Attendee | None = None
    answers: tuple = ()
    modified_at: datetime | None = None
    origin: str = ORIGIN_CRM
    ical_uid: str = ""
    google_event_id: str = ""
    #: the Google colorId the CRM gives the event (its own colour, else its type's nearest
    #: palette colour); None: no colour of its own (the calendar's)
    color_id: str | None = None
    #: True when the colour is the activity's own (one Google gave it), False when it is
    #: its type's: an admin recolouring the type edits no activity
    own_color: bool = False

    @property
    def held(self):
        return self.status == STATUS_HELD

    @property
    def organizer_key(self):
        if self.organizer_id is not None:
            return f"user:{self.organizer_id}"
        return email_key(self.organizer_email)

    @property
    def everyone(self):
        """Every attendee but the organizer, once each."""
        seen, out = set(), []
        organizer_email = (self.organizer_email or "").lower()
        for attendee in tuple(self.attendees) + tuple(self.external_attendees):
            if attendee.identity in seen or attendee.identity == self.organizer_key \
                    or (organizer_email and attendee.email.lower() == organizer_email):
                continue
            seen.add(attendee.identity)
            out.append(attendee)
        return out

    def answer_of(self, user_id):
        for who, status in self.answers:
            if who == user_id:
                return status
        return NEEDS_ACTION

    @property
    def recurring(self):
        return any(line.upper().startswith(("RRULE", "RDATE")) for line in self.recurrence)

    def starts_on(self):
        """The first day, in the activity's own zone (used against Synchronize from)."""
        if self.all_day:
            return self.start_date
        if self.start_at is None:
            return None
        return self.start_at.astimezone(zone_or_utc(self.time_zone)).date()

    def ends_on(self):
        """The last day it covers; for a series, the start of its last occurrence (None:
        it never ends)."""
        if self.recurring:
            return series_last_day(self)
        if self.all_day:
            return self.end_date or self.start_date
        if self.end_at is None:
            return self.starts_on()
        return self.end_at.astimezone(zone_or_utc(self.time_zone)).date()


@dataclass(frozen=True)
class EventSnapshot:
    """A Google event as listed or fetched: the raw resource plus parsed bookkeeping."""

    id: str
    status: str = "confirmed"
    etag: str = ""
    updated: datetime | None = None
    ical_uid: str = ""
    recurring_event_id: str = ""
    html_link: str = ""
    resource: dict = field(default_factory=dict, compare=False, hash=False)

    @classmethod
    def from_resource(cls, resource):
        """Build a snapshot from an events.list / events.get item."""
        return cls(id=resource["id"], status=resource.get("status") or "confirmed",
                   etag=resource.get("etag") or "", updated=parse_rfc3339(resource.get("updated")),
                   ical_uid=resource.get("iCalUID") or "",
                   recurring_event_id=resource.get("recurringEventId") or "",
                   html_link=resource.get("htmlLink") or "", resource=resource)

    @property
    def cancelled(self):
        return self.status == "cancelled"

    @property
    def activity_uid(self):
        """The back-reference to the CRM activity, when the portal wrote this event."""
        private = (self.resource.get("extendedProperties") or {}).get("private") or {}
        if private.get(PROP_MARKER) != MARKER_VALUE:
            return None
        try:
            return uuid.UUID(private.get(PROP_ACTIVITY_UID, ""))
        except ValueError:
            return None

    @property
    def organizer_email(self):
        return ((self.resource.get("organizer") or {}).get("email") or "").strip().lower()

    @property
    def guests_can_modify(self):
        return bool(self.resource.get("guestsCanModify"))


@dataclass(frozen=True)
class LinkSnapshot:
    """An EventLink row as the engine sees it."""

    id: int | None
    mapping_id: int | None
    activity_id: int | None
    event_id: str
    calendar_id: str = ""
    ical_uid: str = ""
    etag: str = ""
    updated: datetime | None = None
    synced_version: int | None = None
    owner: str = OWNER_CRM
    state: str = LINK_ACTIVE
    recurring_event_id: str = ""
    role: str = ROLE_ORGANIZER
    #: Google's attendee objects as last seen (dicts): answers, names and flags a patch of
    #: the attendee list keeps
    google_attendees: tuple = field(default=(), compare=False, hash=False)
    #: Google's own recurrence lines as last seen; None when unknown (never recorded)
    google_recurrence: tuple | None = None
    #: EXDATE lines the import added to the activity for Google's exceptions (moved, edited
    #: or cancelled instances); never sent back, Google already has those exceptions
    google_exdates: tuple = ()
    #: the field groups both sides agreed on at the last sync (:func:`crm_state`); None when
    #: unknown (older links, relinks): then the origin's side is taken as the master
    base_fields: dict | None = field(default=None, compare=False, hash=False)
    guests_can_modify: bool = False
    crm_deleted_at: datetime | None = None
    #: whose calendar the link is in
    user_id: int | None = None


@dataclass(frozen=True)
class MappingSnapshot:
    """The mapping's sync settings (one activity type <-> one Google calendar of one user).

    ``user_emails``: every address of the user (CRM login, other addresses, Google account),
    so the user is recognised as organizer or attendee. ``other_calendars``: the user's other
    mappings as ``(activity_type_id, mapping_id, calendar_id, export_enabled)``, so an event
    follows an activity re-typed in the CRM."""

    id: int | None
    activity_type_id: int | None
    calendar_id: str
    user_email: str = ""
    user_id: int | None = None
    user_emails: tuple = ()
    time_zone: str = "UTC"
    #: the calendar's own zone: an event time without offset or zone is read in it
    calendar_time_zone: str = ""
    sync_from: date | None = None
    conflict_rule: str = CONFLICT_CRM_WINS
    #: an event deleted in Google deletes the activity too (default: keep it)
    delete_in_crm_on_google_delete: bool = False
    send_updates: str = "none"
    export_enabled: bool = True
    import_enabled: bool = True
    other_calendars: tuple = ()

    @property
    def emails(self):
        found = {(self.user_email or "").lower(), (self.calendar_id or "").lower()}
        found.update((e or "").lower() for e in self.user_emails)
        found.discard("")
        return found

    @property
    def zone_for_events(self):
        return self.calendar_time_zone or self.time_zone or "UTC"

    def calendar_for_type(self, type_id):
        """(mapping_id, calendar_id) of the user's mapping for ``type_id`` with a calendar
        and export on, or None."""
        for type_, mapping_id, calendar_id, export in self.other_calendars:
            if type_ == type_id and calendar_id and export:
                return mapping_id, calendar_id
        return None


@dataclass(frozen=True)
class Context:
    """What the CRM knows beyond one mapping.

    ``organizer_linked``: activities whose organizer's copy is linked in the CRM (then the
    guests' copies only carry answers). ``syncing_calendars``: ``{calendar id: user id}`` of
    calendars a CRM user imports (a meeting organized there belongs to that user).
    ``moved``: ``{event id: (mapping id, activity type id, calendar id)}`` for events deleted
    here but found in another calendar the user maps (moved in Google). ``self_answering``:
    ``{activity id: {user ids}}`` of users whose own copy is linked (their answer comes from
    it, never from someone else's copy)."""

    people: People = NOBODY
    organizer_linked: frozenset = frozenset()
    #: activity UIDs that exist in the CRM (of the events carrying our back-reference);
    #: None when the caller did not look them up
    known_uids: frozenset | None = None
    syncing_calendars: dict = field(default_factory=dict, compare=False, hash=False)
    moved: dict = field(default_factory=dict, compare=False, hash=False)
    self_answering: dict = field(default_factory=dict, compare=False, hash=False)
