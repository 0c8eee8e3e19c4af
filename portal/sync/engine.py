"""The sync engine: pure planning, no Flask, no database, no HTTP.

Given snapshots of the CRM side (activities), the Google side (events) and the links between
them, the engine returns an explicit plan: a list of :class:`Action` objects that the runner
applies (Google writes through the client, CRM writes through the models). Keeping the rules
here, as plain functions over plain data, lets every rule be tested without an app, a
database or a network, and keeps the runner a thin loop.

Vocabulary
----------
* *origin*: where an activity was made. One made in the CRM (``crm``) is exported as a new
  event; one made in Google (``google``) is only ever written back to its own event, never
  copied into another calendar.
* *owner* of a link: who made the event (``crm``: our export, ``google``: someone in Google).
* *role* of a link: ``organizer`` when the link's calendar holds the organizer's copy of the
  meeting (Google lets this user change it), ``guest`` for a copy of someone else's meeting,
  which carries only this user's own answer (and their own reminders, which stay theirs).
* *field groups*: the units the sync compares and writes (``subject``, ``timing``,
  ``attendees``, ``reminders``, the user's ``answer``...). Both sides are described in the
  CRM's own terms (:func:`crm_state`, :func:`google_state`), so a value the CRM shows coarser
  than Google (a confidential event shown as private, an empty title) compares equal and is
  never written back.
* *base*: the field groups both sides agreed on at the last sync, remembered on the link.
  A group differing from the base changed on that side; a patch sends only the groups the
  CRM changed, so whatever else Google holds (colours, conference data, attachments, other
  reminders, a tentative status) survives.
* *authority*: a meeting's shared fields come from the organizer's copy when the organizer
  syncs it in the CRM; otherwise from the guests' copies. A guest's copy contributes its
  guest's answer; reminders are personal and only the CRM organizer's copy carries the
  activity's reminders.
"""
from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from portal.crm.calendar_view import series_last_day
from portal.crm.reminders import Reminders
from portal.sync.core import merge as m
from portal.sync.core.merge import (BASE_VERSION, CONFLICT_CRM_WINS, CONFLICT_GOOGLE_WINS,
                                    CONFLICT_MOST_RECENT, CONFLICT_RULES, Rights)

# -- constants ------------------------------------------------------------------------------------

OWNER_CRM = "crm"
OWNER_GOOGLE = "google"
ORIGIN_CRM = "crm"
ORIGIN_GOOGLE = "google"

LINK_ACTIVE = "active"
#: the event was deleted in Google and the activity kept: the link stays as a memory of the
#: synced version, so the activity is not re-exported unless it is edited again
LINK_DETACHED = "detached"

ROLE_ORGANIZER = "organizer"
ROLE_GUEST = "guest"


STATUS_PLANNED = "Planned"
STATUS_HELD = "Held"
STATUS_NOT_HELD = "Not Held"

NEEDS_ACTION = "needsAction"
ANSWERS = ("needsAction", "accepted", "tentative", "declined")

#: what the CRM shows for an event without a title (the CRM needs a subject)
NO_TITLE = "(no title)"

#: keys in the event's ``extendedProperties.private`` pointing back at the CRM
PROP_ACTIVITY_UID = "crmActivityUid"
PROP_MARKER = "crmPortal"
MARKER_VALUE = "portal-crm"

# Action kinds. Google-side actions carry an event body; CRM-side ones carry activity fields.
INSERT_EVENT = "insert_event"
PATCH_EVENT = "patch_event"
DELETE_EVENT = "delete_event"
#: move the event to another calendar of the same user (events.move: same id, guests kept)
MOVE_EVENT = "move_event"
CREATE_ACTIVITY = "create_activity"
UPDATE_ACTIVITY = "update_activity"
DELETE_ACTIVITY = "delete_activity"
#: tie an existing activity to an event (our own event, the same meeting, a reconnect)
LINK_ACTIVITY = "link_activity"
#: the link follows an event the user moved to another of their mapped calendars
MOVE_LINK = "move_link"
#: nothing to write on either side: remember Google's copy and the new base on the link
REBASE = "rebase"
#: forget a link, or keep it detached (the event is gone in Google, the activity kept)
UNLINK = "unlink"
#: a cancelled instance of a recurring series becomes an EXDATE on the series' activity
ADD_EXCEPTION = "add_exception"
#: both sides changed a group: a log record with both versions; the winning action follows
CONFLICT = "conflict"
#: each side changed different groups: a log record of what came from where
MERGED = "merged"
SKIP = "skip"

GOOGLE_ACTIONS = (INSERT_EVENT, PATCH_EVENT, DELETE_EVENT, MOVE_EVENT)

#: the groups of a meeting every copy shares (only the organizer, or guests allowed to
#: modify it, may change them in Google)
SHARED_GROUPS = ("subject", "description", "location", "status", "timing", "recurrence",
                 "attendees", "visibility")
#: personal to each copy: the CRM keeps its organizer's
PERSONAL_GROUPS = ("reminders",)
#: the link's user's own answer to the invitation (guest copies only)
ANSWER = "answer"
FIELD_GROUPS = SHARED_GROUPS + PERSONAL_GROUPS + (ANSWER,)

#: the activity fields each group covers (what an import writes)
GROUP_FIELDS = {
    "subject": ("subject",), "description": ("description",), "location": ("location",),
    "status": ("status",),
    "timing": ("all_day", "start_at", "end_at", "start_date", "end_date", "time_zone"),
    "recurrence": ("recurrence",), "attendees": ("attendees",),
    "visibility": ("visibility",), "reminders": ("reminders",), ANSWER: ("answer",),
}


_B32_STANDARD = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B32_HEX = "0123456789abcdefghijklmnopqrstuv"
_TO_B32HEX = str.maketrans(_B32_STANDARD, _B32_HEX)


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
        return self.start_at.astimezone(_zone(self.time_zone)).date()

    def ends_on(self):
        """The last day it covers; for a series, the start of its last occurrence (None:
        it never ends)."""
        if self.recurring:
            return series_last_day(self)
        if self.all_day:
            return self.end_date or self.start_date
        if self.end_at is None:
            return self.starts_on()
        return self.end_at.astimezone(_zone(self.time_zone)).date()


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


@dataclass
class Action:
    """One step of a plan. Only the fields relevant to ``kind`` are set."""

    kind: str
    activity_id: int | None = None
    activity_uid: uuid.UUID | None = None
    link_id: int | None = None
    event_id: str | None = None
    #: the event body to insert or patch
    body: dict | None = None
    #: the activity fields to create or update (from :func:`activity_fields`)
    fields: dict | None = None
    #: for UPDATE_ACTIVITY: the field groups to write (None: all of them)
    groups: tuple | None = None
    #: the Google event behind an import action (for the link's etag/updated/iCalUID)
    event: EventSnapshot | None = None
    #: an etag for If-Match on patch/delete (None: unconditional)
    if_match: str | None = None
    #: for LINK_ACTIVITY/CREATE_ACTIVITY: who owns the new link
    owner: str | None = None
    #: the link's role after this action
    role: str | None = None
    #: for CREATE_ACTIVITY/LINK_ACTIVITY: the CRM organizer the meeting belongs to
    organizer_id: int | None = None
    #: for ADD_EXCEPTION: the EXDATE line to add
    exdate: str | None = None
    #: for CREATE_ACTIVITY/UPDATE_ACTIVITY of a series: the EXDATE lines derived from
    #: Google's exceptions (the runner remembers them on the link)
    exdates: tuple = ()
    #: for CONFLICT/MERGED: {"crm": {...}, "google": {...}, "rule", "winner", "from_crm",
    #: "from_google", "both_changed"}
    conflict: dict | None = None
    #: for UNLINK of an activity kept in the CRM: the version the detached link records
    #: (the activity's own version: not re-exported unless edited again; an older one:
    #: the CRM's edit won over Google's delete and the export brings the event back)
    synced_version: int | None = None
    #: the field groups both sides agree on once the action is applied/acknowledged (the
    #: link's next base); None: leave the remembered one
    base: dict | None = None
    #: for MOVE_EVENT/MOVE_LINK: where the link goes ({"mapping_id", "calendar_id",
    #: "activity_type_id"})
    target: dict | None = None
    #: for UPDATE/REBASE from a copy the activity's shared fields come from: Google's
    #: answers of everyone on the meeting, {identity: responseStatus}
    answers: dict | None = None
    reason: str = ""

    @property
    def is_google_write(self):
        return self.kind in GOOGLE_ACTIONS


# -- helpers --------------------------------------------------------------------------------------

def _zone(name):
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


def parse_rfc3339(value, default_zone="UTC"):
    """An RFC 3339 timestamp as an aware UTC datetime (None stays None). A time without an
    offset is read in ``default_zone`` (Google's events carry their zone beside it)."""
    if not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=_zone(default_zone))
    return parsed.astimezone(timezone.utc)


def event_time(when, default_zone):
    """An event's ``start``/``end``/``originalStartTime`` dateTime as aware UTC: its own
    offset, else its ``timeZone``, else ``default_zone`` (the calendar's)."""
    when = when or {}
    return parse_rfc3339(when.get("dateTime"), when.get("timeZone") or default_zone)


def rfc3339(value):
    """An aware datetime as RFC 3339 with its own offset."""
    return value.isoformat()


def google_event_id(activity_uid):
    """The Google event id for an activity: base32hex of the UUID's 16 bytes, lower case.

    Deterministic, so an insert retried after a crash hits 409 instead of creating a second
    event. 26 characters of ``[0-9a-v]``, inside Google's 5-1024 limit.
    """
    if not isinstance(activity_uid, uuid.UUID):
        activity_uid = uuid.UUID(str(activity_uid))
    encoded = base64.b32encode(activity_uid.bytes).decode("ascii").rstrip("=")
    return encoded.translate(_TO_B32HEX)


def recurrence_lines(text_or_lines):
    """RRULE/EXDATE lines from the CRM's newline-separated text (blank lines dropped)."""
    if isinstance(text_or_lines, str):
        text_or_lines = text_or_lines.splitlines()
    return tuple(line.strip() for line in text_or_lines if line and line.strip())


def role_of(event, mapping):
    """``organizer`` when the user may change the meeting in Google (their calendar holds
    the organizer's copy), else ``guest``."""
    organizer = event.resource.get("organizer") or {}
    if organizer.get("self") or event.organizer_email in mapping.emails:
        return ROLE_ORGANIZER
    if not organizer:
        return ROLE_ORGANIZER  # no organizer given: the calendar's own event
    return ROLE_GUEST


# -- CRM -> Google fields -------------------------------------------------------------------------

def _attendee_entry(attendee):
    item = {"email": attendee.email.strip().lower(),
            "responseStatus": attendee.response_status or NEEDS_ACTION}
    if attendee.display_name:
        item["displayName"] = attendee.display_name
    return item


def event_when(activity):
    """The ``start`` and ``end`` objects for an activity.

    Timed: RFC 3339 in the activity's IANA zone plus ``timeZone`` (so recurrences repeat at
    the same wall-clock time across DST). All-day: dates with Google's exclusive end.
    """
    if activity.all_day:
        first = activity.start_date
        last = activity.end_date or first
        if last < first:
            last = first
        return {"date": first.isoformat()}, {"date": (last + timedelta(days=1)).isoformat()}
    tz_name = activity.time_zone or "UTC"
    tz = _zone(tz_name)
    start = activity.start_at.astimezone(tz)
    end = (activity.end_at or activity.start_at).astimezone(tz)
    if end < start:
        end = start
    return ({"dateTime": rfc3339(start), "timeZone": tz_name},
            {"dateTime": rfc3339(end), "timeZone": tz_name})


def _recurrence_body(activity, derived_exdates=()):
    derived = set(derived_exdates or ())
    return [line for line in recurrence_lines(activity.recurrence) if line not in derived]


def _status_body(activity, base_status=None):
    """The event's status for the activity's, or None to leave Google's alone: Held is
    not a Google state, and Google's tentative has no CRM state."""
    if activity.status == STATUS_NOT_HELD:
        return "cancelled"
    if base_status == STATUS_NOT_HELD:
        return "confirmed"
    return None


def event_body(activity, event_id=None, derived_exdates=()):
    """The Google event resource for a new event of an activity (insert)."""
    start, end = event_when(activity)
    body = {
        "summary": activity.subject or "",
        "description": activity.description or "",
        "location": activity.location or "",
        "status": "cancelled" if activity.status == STATUS_NOT_HELD else "confirmed",
        "start": start,
        "end": end,
        "attendees": [_attendee_entry(a) for a in activity.everyone],
        "reminders": activity.reminders.to_google(),
        "visibility": activity.visibility if activity.visibility in (
            "default", "public", "private") else "default",
        "recurrence": _recurrence_body(activity, derived_exdates),
        "extendedProperties": {"private": {PROP_ACTIVITY_UID: str(activity.uid),
                                           PROP_MARKER: MARKER_VALUE}},
    }
    if activity.organizer_email:
        organizer = {"email": activity.organizer_email.lower()}
        if activity.organizer_name:
            organizer["displayName"] = activity.organizer_name
        body["organizer"] = organizer
    if event_id:
        body["id"] = event_id
    return body


def _known_attendees(link, current):
    """Google's attendee objects (its fresh copy, else what the link remembers), without
    the read-only ``self`` flag."""
    items = current.get("attendees") or () if current is not None else link.google_attendees
    return [{k: v for k, v in a.items() if k != "self"} for a in items if isinstance(a, dict)]


def _attendees_with_changes(known, activity, base, now, people):
    """Google's attendee list with the CRM's changes since ``base`` applied: people the CRM
    removed go, people it added come (waiting for their answer); everyone else, the
    organizer's own entry, resources, answers, names and flags stay as Google has them."""
    removed = set(base or ()) - set(now)
    added = [a for a in activity.everyone if a.identity in set(now) - set(base or ())]
    out = [item for item in known
           if people.key_for(item.get("email")) not in removed or item.get("organizer")
           or item.get("resource")]
    present = {people.key_for(item.get("email")) for item in out}
    for attendee in added:
        if attendee.identity not in present:
            out.append(_attendee_entry(replace(attendee, response_status=NEEDS_ACTION)))
    return out


def _with_answer(known, mapping, answer):
    out = []
    for item in known:
        item = dict(item)
        if item.get("self") or (item.get("email") or "").lower() in mapping.emails:
            item["responseStatus"] = answer
        out.append(item)
    return out


def patch_for(activity, groups, link, mapping, base=None, current=None, people=NOBODY):
    """The body of a patch sending only ``groups`` of ``activity`` to ``link``'s event.

    ``current``: Google's fresh copy when the plan has one (else what the link remembers)
    for the lists Google replaces whole (attendees). ``base``: the groups as last agreed."""
    base = base or {}
    body = {}
    if "subject" in groups:
        body["summary"] = activity.subject or ""
    if "description" in groups:
        body["description"] = activity.description or ""
    if "location" in groups:
        body["location"] = activity.location or ""
    if "status" in groups:
        status = _status_body(activity, base.get("status"))
        if status:
            body["status"] = status
    if "timing" in groups:
        body["start"], body["end"] = event_when(activity)
    if "recurrence" in groups or ("timing" in groups and activity.recurring):
        # A series' timeZone is needed with its rule; its EXDATEs follow its time.
        body["recurrence"] = _recurrence_body(activity, link.google_exdates)
        if "timing" not in groups and not activity.all_day and body["recurrence"]:
            body["start"], body["end"] = event_when(activity)
    if "visibility" in groups:
        body["visibility"] = activity.visibility if activity.visibility in (
            "default", "public", "private") else "default"
    if "reminders" in groups:
        body["reminders"] = activity.reminders.to_google()
    known = _known_attendees(link, current)
    if "attendees" in groups:
        now = crm_state(activity)["attendees"]
        known = _attendees_with_changes(known, activity, base.get("attendees"), now, people)
        body["attendees"] = known
    if ANSWER in groups:
        body["attendees"] = _with_answer(known, mapping,
                                         activity.answer_of(mapping.user_id))
    return body


def remembered_state(resource, exdates=()):
    """What a link keeps of Google's event (see :class:`LinkSnapshot`): attendee objects,
    recurrence lines, the EXDATEs derived from its exceptions and whether guests may modify
    it; JSON-ready."""
    resource = resource or {}
    return {"attendees": [dict(a) for a in resource.get("attendees") or ()
                          if isinstance(a, dict)],
            "recurrence": list(recurrence_lines(resource.get("recurrence") or ())),
            "exdates": list(dict.fromkeys(exdates)),
            "guestsCanModify": bool(resource.get("guestsCanModify")),
            "organizer": (resource.get("organizer") or {}).get("email") or ""}


# -- Google -> CRM fields -------------------------------------------------------------------------

def activity_fields(event, default_time_zone="UTC", people=NOBODY, emails=(), self_key=None):
    """The CRM fields an event maps to (the reverse of :func:`event_body`).

    Returns a dict with subject, description, location, status, all_day, start_at/end_at
    (aware UTC) or start_date/end_date (inclusive), time_zone, recurrence (text),
    reminders (:class:`Reminders`), visibility, organizer_email, organizer_name,
    organizer_key, external_organizer (an :class:`Attendee` when the organizer is nobody in
    the CRM), attendees (:class:`Attendee` tuple: everyone but the organizer, resources
    left out), answer (the answer of the attendee with one of ``emails``, or marked self)
    and guests_can_modify. A time without offset is read in its ``timeZone``, else in
    ``default_time_zone`` (the calendar's). ``self_key``: who the calendar's user is (their
    entries are theirs whatever address Google shows).
    """
    resource = event.resource if isinstance(event, EventSnapshot) else event
    start = resource.get("start") or {}
    end = resource.get("end") or {}
    fields = {
        "subject": resource.get("summary") if (resource.get("summary") or "").strip()
        else NO_TITLE,
        "description": resource.get("description") or "",
        "location": resource.get("location") or "",
        "status": STATUS_NOT_HELD if resource.get("status") == "cancelled" else STATUS_PLANNED,
        "recurrence": "\n".join(recurrence_lines(resource.get("recurrence") or ())),
        "visibility": {"public": "public", "private": "private",
                       "confidential": "private"}.get(resource.get("visibility"), "default"),
        "reminders": Reminders.from_google(resource.get("reminders")),
        "guests_can_modify": bool(resource.get("guestsCanModify")),
    }
    zone_name = start.get("timeZone") or end.get("timeZone") or default_time_zone or "UTC"
    if "date" in start:
        first = date.fromisoformat(start["date"])
        last = date.fromisoformat(end["date"]) - timedelta(days=1) if end.get("date") else first
        fields.update(all_day=True, start_date=first, end_date=max(first, last),
                      start_at=None, end_at=None, time_zone=zone_name)
    else:
        begin = event_time(start, zone_name)
        finish = event_time(end, zone_name) or begin
        fields.update(all_day=False, start_at=begin,
                      end_at=max(begin, finish) if begin else finish,
                      start_date=None, end_date=None, time_zone=zone_name)
    emails = {e.lower() for e in emails or ()}

    def key_of(email, is_self=False):
        if self_key and (is_self or email in emails):
            return self_key
        return people.key_for(email)

    organizer = resource.get("organizer") or {}
    organizer_email = (organizer.get("email") or "").strip().lower()
    fields["organizer_email"] = organizer_email
    fields["organizer_name"] = organizer.get("displayName") or ""
    fields["organizer_key"] = key_of(organizer_email, bool(organizer.get("self"))) \
        if organizer_email else ""
    attendees, answer, organizer_entry = [], None, None
    for item in resource.get("attendees") or ():
        if not isinstance(item, dict):
            continue
        email = (item.get("email") or "").strip().lower()
        if not email or item.get("resource"):
            continue
        status = item.get("responseStatus") or NEEDS_ACTION
        if item.get("self") or email in emails:
            answer = status
        entry = Attendee(email=email, display_name=item.get("displayName") or "",
                         response_status=status, key=key_of(email, bool(item.get("self"))))
        if email == organizer_email or item.get("organizer"):
            organizer_entry = entry
            continue
        attendees.append(entry)
    fields["answer"] = answer
    external = None
    if organizer_email and fields["organizer_key"].startswith("email:"):
        external = organizer_entry or Attendee(organizer_email, fields["organizer_name"],
                                               "accepted", fields["organizer_key"])
    elif organizer_email and fields["organizer_key"] != self_key:
        # The organizer is someone else in the CRM: they take part in the meeting (and are
        # left out again where they are its CRM organizer).
        attendees.append(organizer_entry or Attendee(
            organizer_email, fields["organizer_name"], "accepted", fields["organizer_key"]))
    fields["external_organizer"] = external
    fields["attendees"] = tuple(attendees)
    return fields


def _google_edit_time(event, link):
    """When Google's copy was last edited, for "most recent wins": its ``updated``, unless
    guests answered since the last sync (an answer moves ``updated`` too, so the time of
    the edit itself is then unknown and the CRM's dated edit wins)."""
    before = {(a.get("email") or "").lower(): a.get("responseStatus")
              for a in link.google_attendees if isinstance(a, dict)}
    if before:
        for item in event.resource.get("attendees") or ():
            email = (item.get("email") or "").lower()
            if email in before and item.get("responseStatus") != before[email]:
                return None
    return event.updated


def _answers(fields):
    """{identity: responseStatus} of everyone on the meeting (organizer included)."""
    out = {a.identity: a.response_status for a in fields["attendees"]}
    if fields.get("external_organizer") is not None:
        out[fields["external_organizer"].identity] = fields["external_organizer"].response_status
    return out


def with_fields(activity, fields, groups=None):
    """A copy of a snapshot with imported fields applied (all of them, or ``groups``')."""
    wanted = set()
    for group in (groups if groups is not None else FIELD_GROUPS):
        wanted.update(GROUP_FIELDS.get(group, ()))
    allowed = {k: v for k, v in fields.items()
               if k in wanted and k in ActivitySnapshot.__dataclass_fields__
               and k != "attendees"}
    if "recurrence" in allowed:
        allowed["recurrence"] = recurrence_lines(allowed["recurrence"])
    out = replace(activity, **allowed)
    if "attendees" in wanted and "attendees" in fields:
        out = replace(out, attendees=tuple(fields["attendees"]), external_attendees=())
    return out


# -- field groups ---------------------------------------------------------------------------------

def _iso(value):
    return value.isoformat() if value is not None else None


def _utc(value):
    return value.astimezone(timezone.utc) if value is not None else None


def _timing(all_day, start_at, end_at, start_date, end_date, time_zone):
    if all_day:
        return ["all_day", _iso(start_date), _iso(end_date or start_date)]
    return ["timed", _iso(_utc(start_at)), _iso(_utc(end_at)), time_zone or "UTC"]


def crm_state(activity, user_id=None, derived_exdates=()):
    """The field groups of a CRM activity as JSON-native values that compare exactly.

    Times are UTC instants; the attendees are identities (see :class:`People`), never the
    organizer; EXDATEs mirroring Google's exceptions are left out; ``answer`` is
    ``user_id``'s own (None without a user)."""
    derived = set(derived_exdates or ())
    return {
        "subject": activity.subject or "",
        "description": activity.description or "",
        "location": activity.location or "",
        "status": activity.status,
        "timing": _timing(activity.all_day, activity.start_at, activity.end_at,
                          activity.start_date, activity.end_date, activity.time_zone),
        "recurrence": sorted(line for line in recurrence_lines(activity.recurrence)
                             if line not in derived),
        "attendees": sorted({a.identity for a in activity.everyone}),
        "visibility": activity.visibility or "default",
        "reminders": activity.reminders.state(),
        ANSWER: activity.answer_of(user_id) if user_id is not None else None,
    }


def google_state(event, mapping, people=NOBODY, organizer_key="", user_id=None):
    """The field groups of a Google event in the CRM's terms (as an import would write
    them), comparable with :func:`crm_state`. ``organizer_key``: the activity's CRM
    organizer (never one of its attendees); ``user_id``: whose answer to read."""
    fields = activity_fields(event, mapping.zone_for_events, people, mapping.emails,
                             f"user:{mapping.user_id}" if mapping.user_id is not None else None)
    return _state_of_fields(fields, organizer_key, user_id)


def _state_of_fields(fields, organizer_key, user_id):
    attendees = {a.identity for a in fields["attendees"]}
    attendees.discard(organizer_key)
    return {
        "subject": fields["subject"],
        "description": fields["description"],
        "location": fields["location"],
        "status": fields["status"],
        "timing": _timing(fields["all_day"], fields["start_at"], fields["end_at"],
                          fields["start_date"], fields["end_date"], fields["time_zone"]),
        "recurrence": sorted(recurrence_lines(fields["recurrence"])),
        "attendees": sorted(attendees),
        "visibility": fields["visibility"],
        "reminders": fields["reminders"].state(),
        ANSWER: (fields["answer"] or NEEDS_ACTION) if user_id is not None else None,
    }


def rights(link, activity, mapping, ctx, guests_can_modify=None):
    """What ``link`` may carry for ``activity``. The organizer's copy carries the shared
    fields both ways; guests' copies carry them into the CRM only while the organizer's
    copy is not linked, and back to Google only when guests may modify the meeting and the
    user is its CRM organizer; only the CRM organizer's copy carries the reminders; a guest's
    copy carries that guest's answer. Export off: nothing is written; import off: nothing
    read."""
    if guests_can_modify is None:
        guests_can_modify = link.guests_can_modify
    organizer_copy = link.role == ROLE_ORGANIZER
    crm_organizer = activity.organizer_id is not None and activity.organizer_id == mapping.user_id
    others_organize = activity.id in ctx.organizer_linked and not organizer_copy
    read, write = set(), set()
    if organizer_copy or not others_organize:
        read.update(SHARED_GROUPS)
    if organizer_copy or (guests_can_modify and crm_organizer and not others_organize):
        write.update(SHARED_GROUPS)
    if crm_organizer:
        read.update(PERSONAL_GROUPS)
        write.update(PERSONAL_GROUPS)
    if not organizer_copy:
        read.add(ANSWER)
        write.add(ANSWER)
    return Rights(frozenset(read) if mapping.import_enabled else frozenset(),
                  frozenset(write) if mapping.export_enabled else frozenset())


def _answer_user(link, mapping):
    return mapping.user_id if link.role == ROLE_GUEST else None


def usable_base(link):
    """The link's base if it is one this engine wrote, else None."""
    return m.usable(link.base_fields)


def first_base(link, activity, crm_now, google_now):
    """The base of a link that has none (an older link, a relink after forgotten links).

    An older link still knows the version Google last acknowledged: unchanged since, only
    Google changed; changed since, every difference is a change on both sides and the rule
    decides. A relinked event never acknowledged has its master side win every difference:
    the CRM for activities made in the CRM, Google for those made there. Answers always
    come from Google."""
    if link.synced_version is not None:
        if activity.version == link.synced_version:
            base = dict(crm_now)
        else:
            base = _legacy_base(link.base_fields)
            # The CRM kept at most one reminder before: Google's whole set wins.
            base["reminders"] = crm_now["reminders"]
    elif activity.origin == ORIGIN_GOOGLE:
        base = dict(crm_now)
    else:
        base = dict(google_now)
    base[ANSWER] = crm_now.get(ANSWER)
    base["v"] = BASE_VERSION
    return base


def _legacy_base(fields):
    """The groups an older link's remembered fields still describe the same way."""
    if not isinstance(fields, dict):
        return {}
    same = ("subject", "description", "location", "status", "timing", "recurrence",
            "visibility")
    return {group: fields[group] for group in same if group in fields}


# -- export ---------------------------------------------------------------------------------------

def exportable(activity, mapping):
    """Why an activity is not exported to this mapping's calendar, or None when it is."""
    if not activity.show_in_calendar:
        return "not shown in calendar"
    if mapping.activity_type_id is not None and activity.activity_type_id != mapping.activity_type_id:
        return "type not mapped to this calendar"
    if activity.all_day and activity.start_date is None:
        return "no date"
    if not activity.all_day and activity.start_at is None:
        return "no start time"
    return None


def before_sync_from(activity, mapping):
    """True when the activity (for a series: its last occurrence) is before *Synchronize
    from*: such activities are left alone both ways."""
    if mapping.sync_from is None:
        return False
    if activity.recurring:
        last = activity.ends_on()
        return last is not None and last < mapping.sync_from
    starts = activity.starts_on()
    return starts is not None and starts < mapping.sync_from


#: why a linked activity left this calendar although its type and flags still match
OUT_OF_SCOPE = "no longer organized by this calendar's user"


def plan_export(mapping, activities, links, out_of_scope=frozenset(), ctx=None):
    """Plan CRM -> Google for one mapping.

    ``activities``: snapshots of the mapping's candidates (its type, organized by its user)
    plus every linked activity that changed (so a type change or an unticked *Show in
    calendar* is seen). ``links``: this mapping's links, including tombstones whose activity
    was deleted (``activity_id`` None).

    Rules: new eligible activities made in the CRM are inserted with our own event id
    (activities made in Google never are: they are only written to their own event);
    changed ones send the groups the CRM changed since the last sync and this link may write
    (see :func:`rights`), unless held; deleted, hidden or re-typed ones leave this calendar
    (re-typed ones move to the calendar of their new type when the user maps it); a guest's
    copy is never deleted or moved, only unlinked; activities before *Synchronize from* are
    left alone. ``out_of_scope``: ids of activities no longer this user's (handed to another
    organizer): their events leave this calendar like hidden ones.
    """
    ctx = ctx or Context()
    actions = []
    by_id = {a.id: a for a in activities if a.id is not None}
    linked_ids = set()
    for link in links:
        if link.activity_id is not None:
            linked_ids.add(link.activity_id)
        activity = by_id.get(link.activity_id) if link.activity_id is not None else None
        if activity is None:
            if link.activity_id is None:
                actions.extend(_plan_tombstone(mapping, link))
            continue  # linked activity not loaded (unchanged): nothing to do
        if link.role == ROLE_GUEST:
            actions.extend(_plan_guest_export(mapping, link, activity, ctx))
            continue
        why_not = exportable(activity, mapping)
        if why_not is None and activity.id in out_of_scope:
            why_not = OUT_OF_SCOPE
        if why_not is not None:
            actions.extend(_plan_leaving(mapping, link, activity, why_not))
            continue
        if activity.version == link.synced_version:
            continue  # unchanged since Google acknowledged it: nothing to send
        if before_sync_from(activity, mapping):
            actions.append(Action(SKIP, activity_id=activity.id, event_id=link.event_id,
                                  reason="before Synchronize from"))
            continue
        if activity.held:
            actions.append(Action(SKIP, activity_id=activity.id, event_id=link.event_id,
                                  reason="held activities are no longer updated"))
            continue
        if link.state == LINK_DETACHED:
            # Deleted in Google, edited again in the CRM: bring it back under the same id
            # (the client turns the 409 into a fetch and an undeleting patch).
            actions.append(Action(INSERT_EVENT, activity_id=activity.id,
                                  activity_uid=activity.uid, link_id=link.id,
                                  event_id=link.event_id,
                                  body=event_body(activity, link.event_id,
                                                  derived_exdates=link.google_exdates),
                                  base=_sent_base(activity, link, None),
                                  reason="edited again after deletion in Google"))
            continue
        actions.extend(_plan_changed_activity(mapping, link, activity, ctx))
    for activity in activities:
        if activity.id in linked_ids or activity.origin == ORIGIN_GOOGLE:
            continue
        if exportable(activity, mapping) is not None or activity.id in out_of_scope:
            continue
        if before_sync_from(activity, mapping):
            continue
        if activity.status == STATUS_NOT_HELD:
            # Not Held maps to a cancelled event: creating one would only make a tombstone.
            actions.append(Action(SKIP, activity_id=activity.id, reason="not held"))
            continue
        event_id = google_event_id(activity.uid)
        actions.append(Action(INSERT_EVENT, activity_id=activity.id, activity_uid=activity.uid,
                              event_id=event_id, body=event_body(activity, event_id),
                              base=_sent_base(activity, None, None), role=ROLE_ORGANIZER,
                              reason="new in CRM"))
    return actions


def _sent_base(activity, link, user_id):
    state = crm_state(activity, user_id, link.google_exdates if link is not None else ())
    state["v"] = BASE_VERSION
    return state


def _plan_tombstone(mapping, link):
    """The activity was deleted in the CRM."""
    if link.state == LINK_DETACHED:
        return [Action(UNLINK, link_id=link.id, event_id=link.event_id,
                       reason="deleted in both")]
    if link.role == ROLE_GUEST:
        # Someone else's meeting: the CRM copy is gone, their event stays theirs.
        return [Action(UNLINK, link_id=link.id, event_id=link.event_id,
                       reason="deleted in CRM; the organizer's event stays in Google")]
    return [Action(DELETE_EVENT, link_id=link.id, event_id=link.event_id,
                   if_match=link.etag or None, reason="deleted in CRM")]


def _plan_leaving(mapping, link, activity, why_not):
    """A linked activity no longer belongs in this calendar."""
    if link.state == LINK_DETACHED:
        return [Action(UNLINK, link_id=link.id, activity_id=activity.id,
                       event_id=link.event_id, reason=why_not)]
    if activity.activity_type_id != mapping.activity_type_id and activity.show_in_calendar:
        target = mapping.calendar_for_type(activity.activity_type_id)
        if target is not None and target[1] != mapping.calendar_id:
            return [Action(MOVE_EVENT, link_id=link.id, activity_id=activity.id,
                           event_id=link.event_id,
                           target={"mapping_id": target[0], "calendar_id": target[1],
                                   "activity_type_id": activity.activity_type_id},
                           reason="type changed: moved to the calendar of its new type")]
    if activity.origin == ORIGIN_GOOGLE:
        # Made in Google: the event is the user's own; leaving the sync does not delete it.
        return [Action(UNLINK, link_id=link.id, activity_id=activity.id,
                       event_id=link.event_id, reason=why_not + "; left in Google")]
    return [Action(DELETE_EVENT, link_id=link.id, activity_id=activity.id,
                   event_id=link.event_id, reason=why_not)]


def _plan_changed_activity(mapping, link, activity, ctx):
    """An organizer's copy whose activity changed in the CRM: send what changed."""
    allowed = rights(link, activity, mapping, ctx)
    crm_now = crm_state(activity, None, link.google_exdates)
    base = usable_base(link)
    if base is None:
        # No base: send every group this link may write (the CRM is master here).
        groups = [g for g in SHARED_GROUPS + PERSONAL_GROUPS if g in allowed.write]
        base = {}
    else:
        groups = [g for g in FIELD_GROUPS if g in allowed.write and crm_now[g] != base.get(g)]
    return [_patch_or_rebase(mapping, link, activity, groups, base, crm_now, ctx,
                             "changed in CRM")]


def _plan_guest_export(mapping, link, activity, ctx):
    if link.state == LINK_DETACHED or activity.version == link.synced_version:
        return []
    if activity.held:
        return [Action(SKIP, activity_id=activity.id, event_id=link.event_id,
                       reason="held activities are no longer updated")]
    allowed = rights(link, activity, mapping, ctx)
    crm_now = crm_state(activity, mapping.user_id, link.google_exdates)
    base = usable_base(link)
    if base is None:
        # Nothing agreed yet: the next import of this copy sets the base; never push a
        # guessed answer at Google.
        return [Action(REBASE, activity_id=activity.id, link_id=link.id,
                       event_id=link.event_id, synced_version=activity.version,
                       reason="waiting for Google's copy")]
    groups = m.changed_groups(FIELD_GROUPS, base, crm_now, allowed)
    return [_patch_or_rebase(mapping, link, activity, groups, base, crm_now, ctx,
                             "your answer changed in CRM" if groups == [ANSWER]
                             else "changed in CRM")]


def _patch_or_rebase(mapping, link, activity, groups, base, crm_now, ctx, reason):
    if not groups:
        return Action(REBASE, activity_id=activity.id, link_id=link.id,
                      event_id=link.event_id, synced_version=activity.version,
                      reason="nothing this calendar carries changed")
    new_base = dict(base)
    for group in groups:
        new_base[group] = crm_now[group]
    new_base["v"] = BASE_VERSION
    return Action(PATCH_EVENT, activity_id=activity.id, activity_uid=activity.uid,
                  link_id=link.id, event_id=link.event_id,
                  body=patch_for(activity, groups, link, mapping, base, people=ctx.people),
                  if_match=link.etag or None, base=new_base,
                  reason=reason + ": " + ", ".join(groups))


# -- import ---------------------------------------------------------------------------------------

def _exdate_line(event, default_time_zone):
    """The EXDATE line that removes an exception's original slot from its series: a date
    for an all-day series, local time with TZID for a zoned one, UTC with Z otherwise."""
    original = event.resource.get("originalStartTime") or {}
    if original.get("date"):
        return "EXDATE;VALUE=DATE:" + original["date"].replace("-", "")
    tz_name = original.get("timeZone") or default_time_zone or "UTC"
    when = event_time(original, tz_name)
    if when is None:
        return None
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        tz_name, tz = "UTC", ZoneInfo("UTC")
    if tz_name in ("UTC", "Etc/UTC", "GMT", "Etc/GMT"):
        return "EXDATE:" + when.strftime("%Y%m%dT%H%M%SZ")
    return f"EXDATE;TZID={tz_name}:" + when.astimezone(tz).strftime("%Y%m%dT%H%M%S")


def _with_exdates(fields, lines):
    """``fields`` with EXDATE ``lines`` appended to its recurrence (each once)."""
    current = list(recurrence_lines(fields.get("recurrence") or ""))
    current += [line for line in lines if line not in current]
    fields["recurrence"] = "\n".join(current)
    return fields


def _event_starts_before(event, sync_from, default_time_zone):
    if sync_from is None or event.resource.get("recurrence"):
        return False  # a series overlapping the window is wanted even if it began earlier
    start = event.resource.get("start") or {}
    if start.get("date"):
        return date.fromisoformat(start["date"]) < sync_from
    zone_name = start.get("timeZone") or default_time_zone
    when = event_time(start, zone_name)
    if when is None:
        return False
    return when.astimezone(_zone(zone_name)).date() < sync_from


#: why an event cannot become an activity: the CRM needs a timed activity not to end
#: before it starts (one such event must not stop the whole import)
NO_DURATION = "the event ends before it starts"


def _representable(fields):
    return fields["all_day"] or (fields["start_at"] is not None
                                 and fields["end_at"] is not None
                                 and fields["end_at"] >= fields["start_at"])


def plan_import(mapping, events, links, activities, full_sync=False, other_links=(),
                ctx=None):
    """Plan Google -> CRM for one mapping.

    ``events``: what events.list returned (all pages); ``links``: this mapping's links;
    ``activities``: snapshots of the linked activities and of those the events may be
    (back-references, event ids, iCalUIDs); ``other_links``: links of other mappings with an
    event id or iCalUID among the events (the same meeting in someone else's calendar, or
    an event the user moved from another of their calendars).

    ``full_sync`` says the listing was complete (a successful full list after a 410 or the
    first sync): then active links whose event is missing are treated as deleted in Google.
    A partial or failed answer must never be passed as full.
    """
    ctx = ctx or Context()
    planner = _ImportPlanner(mapping, links, activities, other_links, ctx)
    actions = []
    seen_ids = set()
    series_in_listing = {ev.id: ev for ev in events if not ev.recurring_event_id}
    exceptions = _exceptions_by_series(events, series_in_listing, planner.link_by_event,
                                       planner.activity_by_id, mapping.zone_for_events)
    for event in events:
        seen_ids.add(event.id)
        actions.extend(planner.plan_event(event, series_in_listing))
    if full_sync:
        for link in links:
            if link.event_id in seen_ids or link.state == LINK_DETACHED:
                continue
            activity = planner.activity_by_id.get(link.activity_id)
            if activity is not None and mapping.sync_from is not None:
                last = activity.ends_on()
                if last is not None and last < mapping.sync_from:
                    continue  # outside the listed window: absence means nothing
            gone = EventSnapshot(id=link.event_id, status="cancelled")
            actions.extend(planner.plan_cancelled(gone, link, "missing from a full listing"))
    actions.extend(_plan_exceptions(exceptions, actions, series_in_listing,
                                    planner.link_by_event, planner.activity_by_id))
    return actions


class _ImportPlanner:
    """The per-listing indexes and rules of :func:`plan_import`."""

    def __init__(self, mapping, links, activities, other_links, ctx):
        self.mapping = mapping
        self.ctx = ctx
        self.link_by_event = {link.event_id: link for link in links}
        self.activity_by_id = {a.id: a for a in activities if a.id is not None}
        self.activity_by_uid = {a.uid: a for a in activities}
        self.activity_by_event_id = {}
        self.activity_by_ical = {}
        for activity in activities:
            if activity.google_event_id:
                self.activity_by_event_id.setdefault(activity.google_event_id, activity)
            if activity.ical_uid:
                self.activity_by_ical.setdefault(activity.ical_uid, activity)
        self.moved_from = {}   # event id -> the user's own link in another mapping
        self.link_by_ical = {}
        for link in other_links:
            if link.activity_id is None:
                continue
            if mapping.user_id is not None and link.user_id == mapping.user_id:
                self.moved_from.setdefault(link.event_id, link)
            elif link.ical_uid:
                self.link_by_ical.setdefault(link.ical_uid, link)
        self.claimed = set()  # activities already linked by an earlier event of this listing

    # -- one event ------------------------------------------------------------------------
    def plan_event(self, event, series_ids):
        link = self.link_by_event.get(event.id)
        if link is not None and link.etag and event.etag == link.etag:
            return []  # our own write echoed back, or unchanged
        if event.cancelled:
            if link is None:
                series = event.recurring_event_id
                if series and (series in self.link_by_event or series in series_ids):
                    return []  # a cancelled instance: an EXDATE on its series
                return [Action(SKIP, event_id=event.id, reason="deleted event never synced")]
            return self.plan_cancelled(event, link)
        if link is None:
            return self.plan_new(event)
        activity = self.activity_by_id.get(link.activity_id)
        if activity is None:
            return self.plan_edit_of_deleted(event, link)
        if link.state == LINK_DETACHED:
            return []  # a revived event only happens through our own insert
        return self.plan_changed(event, link, activity)

    def fields(self, event):
        user = self.mapping.user_id
        return activity_fields(event, self.mapping.zone_for_events, self.ctx.people,
                               self.mapping.emails, f"user:{user}" if user is not None else None)

    # -- new events -----------------------------------------------------------------------
    def _match(self, event):
        """The activity this unlinked event already is, and how it was recognised."""
        if event.recurring_event_id:
            # An instance: only its own id (a moved occurrence's activity) identifies it.
            found = self.activity_by_event_id.get(event.id)
            return (found, "same occurrence already in CRM") if found else (None, "")
        own_uid = event.activity_uid
        if own_uid is not None and own_uid in self.activity_by_uid:
            return self.activity_by_uid[own_uid], "relinked own event"
        for table, key, why in ((self.activity_by_event_id, event.id, "same event"),
                                (self.activity_by_ical, event.ical_uid,
                                 "same meeting (iCalUID) already in CRM")):
            if key and key in table:
                return table[key], why
        shared = self.link_by_ical.get(event.ical_uid) if event.ical_uid else None
        if shared is not None and shared.activity_id in self.activity_by_id:
            return self.activity_by_id[shared.activity_id], "same meeting (iCalUID) already in CRM"
        return None, ""

    def plan_new(self, event):
        mapping = self.mapping
        moved = self.moved_from.get(event.id)
        if moved is not None and moved.activity_id in self.activity_by_id:
            # The user moved it here from another of their calendars: the link follows.
            activity = self.activity_by_id[moved.activity_id]
            target = {"mapping_id": mapping.id, "calendar_id": mapping.calendar_id,
                      "activity_type_id": mapping.activity_type_id}
            head = Action(MOVE_LINK, activity_id=activity.id, link_id=moved.id,
                          event_id=event.id, event=event, target=target,
                          reason="moved in Google from another calendar")
            moved_here = replace(moved, mapping_id=mapping.id, calendar_id=mapping.calendar_id)
            activity = replace(activity, activity_type_id=mapping.activity_type_id)
            return [head] + self.plan_changed(event, moved_here, activity, force=True)
        activity, why = self._match(event)
        role = role_of(event, mapping)
        if activity is None and event.activity_uid is not None \
                and not event.recurring_event_id and self.ctx.known_uids is not None \
                and event.activity_uid not in self.ctx.known_uids:
            # The portal made it, for an activity deleted in the CRM since (its tombstone
            # was forgotten): importing it would bring the deleted activity back.
            return [Action(SKIP, event_id=event.id, event=event,
                           reason="made by the CRM for an activity deleted since")]
        if activity is not None and activity.id not in self.claimed:
            self.claimed.add(activity.id)
            return self.plan_link(event, activity, role, why)
        if _event_starts_before(event, mapping.sync_from, mapping.zone_for_events):
            return [Action(SKIP, event_id=event.id, reason="before Synchronize from")]
        fields = self.fields(event)
        if not _representable(fields):
            return [Action(SKIP, event_id=event.id, event=event, reason=NO_DURATION)]
        organizer_id = self.crm_organizer(event, role)
        if organizer_id != mapping.user_id:
            # The meeting's organizer keeps their own reminders; ours are not theirs.
            fields["reminders"] = Reminders()
        base = _state_of_fields(fields, f"user:{organizer_id}" if organizer_id else "",
                                mapping.user_id if role == ROLE_GUEST else None)
        base["v"] = BASE_VERSION
        return [Action(CREATE_ACTIVITY, event_id=event.id, event=event, owner=OWNER_GOOGLE,
                       role=role, organizer_id=organizer_id, fields=fields, base=base,
                       answers=_answers(fields),
                       reason="moved or edited instance" if event.recurring_event_id
                       else "new in Google")]

    def crm_organizer(self, event, role):
        """Whose meeting this is in the CRM: the user's own; else the CRM user who imports
        the organizer's calendar, whoever syncs first; else (the organizer does not sync)
        the user who syncs it (Creatio's rule)."""
        if role == ROLE_ORGANIZER:
            return self.mapping.user_id
        owner = self.ctx.syncing_calendars.get(event.organizer_email)
        return owner if owner is not None else self.mapping.user_id

    def plan_link(self, event, activity, role, why):
        """An existing activity is this event: tie them, then reconcile as a relink."""
        mapping = self.mapping
        owner = OWNER_CRM if event.activity_uid == activity.uid else (
            OWNER_GOOGLE if activity.origin == ORIGIN_GOOGLE else OWNER_CRM)
        organizer_id = None
        if role == ROLE_ORGANIZER and activity.organizer_id != mapping.user_id \
                and activity.origin == ORIGIN_GOOGLE:
            # The organizer's own copy arrives: the meeting is theirs in the CRM too.
            organizer_id = mapping.user_id
        link = LinkSnapshot(id=None, mapping_id=mapping.id, activity_id=activity.id,
                            event_id=event.id, calendar_id=mapping.calendar_id,
                            ical_uid=event.ical_uid, owner=owner, role=role,
                            guests_can_modify=event.guests_can_modify)
        if organizer_id is not None:
            activity = replace(activity, organizer_id=organizer_id)
        head = Action(LINK_ACTIVITY, activity_id=activity.id, activity_uid=activity.uid,
                      event_id=event.id, event=event, owner=owner, role=role,
                      organizer_id=organizer_id, reason=why)
        return [head] + self.plan_changed(event, link, activity, force=True)

    # -- changed events -------------------------------------------------------------------
    def plan_changed(self, event, link, activity, force=False):
        """A linked event changed in Google (or was just linked: ``force``)."""
        mapping = self.mapping
        fields = self.fields(event)
        if activity.held:
            return [Action(SKIP, activity_id=activity.id, event_id=event.id, event=event,
                           reason="held activities are no longer updated")]
        if not _representable(fields):
            return [Action(SKIP, activity_id=activity.id, event_id=event.id, event=event,
                           reason=NO_DURATION)]
        role = role_of(event, mapping)
        link = replace(link, role=role, guests_can_modify=event.guests_can_modify)
        allowed = rights(link, activity, mapping, self.ctx)
        user = _answer_user(link, mapping)
        crm_now = crm_state(activity, user, link.google_exdates)
        google_now = _state_of_fields(fields, activity.organizer_key, user)
        if link.google_exdates and event.resource.get("recurrence"):
            # Written back with the EXDATEs mirroring Google's exceptions (compared without).
            _with_exdates(fields, link.google_exdates)
        base = usable_base(link)
        if base is None:
            base = first_base(link, activity, crm_now, google_now)
        winner = m.winner(mapping.conflict_rule, activity.modified_at,
                          _google_edit_time(event, link))
        result = m.merge(FIELD_GROUPS, base, crm_now, google_now, allowed, winner)
        from_crm, from_google, both = result.from_crm, result.from_google, result.both
        new_base = result.base
        answers = _answers(fields) if "attendees" in allowed.read else None
        common = dict(activity_id=activity.id, link_id=link.id, event_id=event.id, event=event,
                      role=role)
        actions = []
        record = m.record(mapping.conflict_rule, crm_now, google_now, result, winner)
        summary = m.summary(result)
        if both:
            actions.append(Action(CONFLICT, conflict=record, **common,
                                  reason=f"changed on both sides ({', '.join(both)}): "
                                         f"{winner} wins; " + summary))
        elif from_crm and from_google:
            actions.append(Action(MERGED, conflict=record, **common,
                                  reason="different fields changed on each side, both kept; "
                                         + summary))
        if from_google:
            actions.append(Action(
                UPDATE_ACTIVITY, fields=fields, groups=tuple(from_google), answers=answers,
                # with a patch to follow, the link records this sync only once Google
                # acknowledged it (a failed patch then merges again from the same base)
                synced_version=link.synced_version if from_crm else None,
                base=None if from_crm else new_base,
                reason="changed in Google: " + ", ".join(from_google), **common))
        if from_crm:
            merged = with_fields(activity, fields, from_google) if from_google else activity
            actions.append(Action(
                PATCH_EVENT, activity_uid=activity.uid,
                body=patch_for(merged, from_crm, link, mapping, base, event.resource,
                               self.ctx.people),
                base=new_base, if_match=event.etag or None,
                reason=("conflict: CRM wins: " if set(both) & set(from_crm) else
                        "changed in CRM: ") + ", ".join(from_crm), **common))
        if not from_google and not from_crm:
            actions.append(Action(REBASE, synced_version=activity.version, base=new_base,
                                  answers=answers,
                                  reason="linked" if force else "nothing to carry over",
                                  **common))
        return actions

    # -- deletes --------------------------------------------------------------------------
    def plan_cancelled(self, event, link, reason="deleted in Google"):
        mapping = self.mapping
        if link.state == LINK_DETACHED:
            return []
        activity = self.activity_by_id.get(link.activity_id)
        if activity is None:
            return [Action(UNLINK, link_id=link.id, event_id=event.id,
                           reason="deleted in both")]
        moved = self.ctx.moved.get(event.id)
        if moved is not None:
            target_mapping, type_id, calendar_id = moved
            return [Action(MOVE_LINK, activity_id=activity.id, link_id=link.id,
                           event_id=event.id,
                           target={"mapping_id": target_mapping, "calendar_id": calendar_id,
                                   "activity_type_id": type_id},
                           reason="moved in Google to another calendar")]
        allowed = rights(link, activity, mapping, self.ctx)
        common = dict(activity_id=activity.id, link_id=link.id, event_id=event.id, event=event)
        if link.role == ROLE_GUEST and not set(SHARED_GROUPS) <= allowed.read:
            # A guest's copy went (the organizer removed them, or the user took it out of
            # their calendar): the organizer's copy says what became of the meeting.
            return [Action(UNLINK, reason=reason + "; your copy of someone else's meeting",
                           **common)]
        if activity.held:
            return [Action(UNLINK, synced_version=activity.version,
                           reason=reason + "; held, kept in CRM", **common)]
        actions = []
        base = usable_base(link)
        crm_changed = link.synced_version is not None and activity.version != link.synced_version
        if crm_changed and base is not None:
            crm_now = crm_state(activity, _answer_user(link, mapping), link.google_exdates)
            crm_changed = any(crm_now[g] != base.get(g) for g in allowed.write)
        if crm_changed and activity.status != STATUS_NOT_HELD and allowed.write:
            # Deleted in Google, edited in the CRM since the last sync: a conflict like any
            # other; the rule decides whether the delete or the edit survives.
            winner = m.winner(mapping.conflict_rule, activity.modified_at,
                                      event.updated)
            actions.append(Action(
                CONFLICT, conflict={"rule": mapping.conflict_rule, "winner": winner,
                                    "crm": m.jsonable(crm_state(activity)),
                                    "google": {"status": "cancelled"}},
                reason=f"edited in CRM, {reason} since the last sync; {winner} wins",
                **common))
            if winner == OWNER_CRM and link.role == ROLE_ORGANIZER:
                return actions + [Action(UNLINK, synced_version=link.synced_version,
                                         reason=reason + "; kept in CRM, edit re-exported",
                                         **common)]
        if mapping.delete_in_crm_on_google_delete:
            return actions + [Action(DELETE_ACTIVITY, reason=reason, **common)]
        if activity.status == STATUS_NOT_HELD and link.owner == OWNER_CRM:
            return actions  # our own "Not Held" is a cancelled event: nothing was lost
        return actions + [Action(UNLINK, synced_version=activity.version,
                                 reason=reason + "; kept in CRM", **common)]

    def plan_edit_of_deleted(self, event, link):
        """The activity was deleted in the CRM and the event edited in Google since: a
        conflict; the rule decides whether the delete or the edit survives."""
        mapping = self.mapping
        if link.role == ROLE_GUEST or link.state == LINK_DETACHED:
            return []
        winner = m.winner(mapping.conflict_rule, link.crm_deleted_at, event.updated)
        record = Action(CONFLICT, link_id=link.id, event_id=event.id, event=event,
                        conflict={"rule": mapping.conflict_rule, "winner": winner,
                                  "crm": {"status": "deleted"},
                                  "google": m.jsonable(self.fields(event))},
                        reason=f"deleted in CRM, edited in Google since; {winner} wins")
        fields = self.fields(event)
        if winner == OWNER_GOOGLE and mapping.import_enabled and _representable(fields):
            base = _state_of_fields(fields, f"user:{mapping.user_id}", None)
            base["v"] = BASE_VERSION
            return [record, Action(CREATE_ACTIVITY, link_id=link.id, event_id=event.id,
                                   event=event, owner=link.owner, role=link.role,
                                   organizer_id=mapping.user_id, fields=fields, base=base,
                                   answers=_answers(fields),
                                   reason="conflict: Google's edit wins over the CRM delete")]
        # The CRM's delete wins: remember Google's copy so the export's delete matches it.
        return [record, Action(REBASE, link_id=link.id, event_id=event.id, event=event,
                               reason="conflict: the CRM delete wins")]


def _exceptions_by_series(events, series_in_listing, link_by_event, activity_by_id, tz_name):
    """{series event id: [EXDATE lines]} for every exception (moved, edited or cancelled
    instance) in the listing, each in its series' zone."""
    out = {}
    for event in events:
        series_id = event.recurring_event_id
        if not series_id:
            continue
        zone = None
        series = series_in_listing.get(series_id)
        if series is not None:
            zone = (series.resource.get("start") or {}).get("timeZone")
        if zone is None:
            link = link_by_event.get(series_id)
            activity = activity_by_id.get(link.activity_id) if link is not None else None
            zone = activity.time_zone if activity is not None else None
        line = _exdate_line(event, zone or tz_name)
        if line and line not in out.get(series_id, ()):
            out.setdefault(series_id, []).append(line)
    return out


def _plan_exceptions(exceptions, actions, series_in_listing, link_by_event, activity_by_id):
    """Give each series an EXDATE for its exceptions' original slots, so a moved or edited
    instance (its own activity) is not shown a second time in the series, and a cancelled
    one is not shown at all. A series created or updated by this plan gets them in its
    fields; an already linked one gets ADD_EXCEPTION actions."""
    out = []
    writing = {a.event_id: a for a in actions
               if a.kind in (CREATE_ACTIVITY, UPDATE_ACTIVITY) and a.fields is not None
               and a.event is not None and not a.event.recurring_event_id
               and (a.groups is None or "recurrence" in a.groups)}
    for series_id, lines in exceptions.items():
        series = series_in_listing.get(series_id)
        if series is not None and series.cancelled:
            continue  # the whole series is gone
        action = writing.get(series_id)
        if action is not None:
            _with_exdates(action.fields, lines)
            action.exdates = tuple(dict.fromkeys(tuple(action.exdates) + tuple(lines)))
            continue
        link = link_by_event.get(series_id)
        if link is None or link.state != LINK_ACTIVE or link.activity_id is None:
            continue
        activity = activity_by_id.get(link.activity_id)
        if activity is None or activity.held:
            continue
        for line in lines:
            if line not in link.google_exdates:
                out.append(Action(ADD_EXCEPTION, activity_id=activity.id, link_id=link.id,
                                  event_id=series_id, exdate=line,
                                  reason="instance moved, edited or cancelled in Google"))
    return out
