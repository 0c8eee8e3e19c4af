"""The sync engine: pure planning, no Flask, no database, no HTTP.

Given snapshots of the CRM side (activities), the Google side (events) and the links between
them, the engine returns an explicit plan: a list of :class:`Action` objects that the runner
applies (Google writes through the client, CRM writes through the models). Keeping the rules
here, as plain functions over plain data, lets every rule be tested without an app, a
database or a network, and keeps the runner a thin loop.

Vocabulary
----------
* *CRM-owned* link: the activity was created in the CRM and exported (or added into the CRM
  from a Google event); the CRM is master, but Google edits still flow back (two-way).
* *Google-owned* link: the activity was imported from Google; it is read-only in the CRM.
* *synced version*: the activity's ``version`` when Google last acknowledged a write (or the
  import last wrote it). A different current version means "changed in the CRM since".
* *etag*: the event's etag at last sync. A different etag in a listing means "changed in
  Google since" (our own writes store the returned etag, so their echo is not a change).
"""
from __future__ import annotations

import base64
import uuid
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

# -- constants ------------------------------------------------------------------------------------

OWNER_CRM = "crm"
OWNER_GOOGLE = "google"

LINK_ACTIVE = "active"
#: a CRM-owned event deleted in Google: the link stays as a memory of the synced version, so
#: the activity is not re-exported unless it is edited again
LINK_DETACHED = "detached"

CONFLICT_CRM_WINS = "crm_wins"
CONFLICT_GOOGLE_WINS = "google_wins"
CONFLICT_MOST_RECENT = "most_recent"
CONFLICT_RULES = (CONFLICT_CRM_WINS, CONFLICT_GOOGLE_WINS, CONFLICT_MOST_RECENT)

STATUS_PLANNED = "Planned"
STATUS_HELD = "Held"
STATUS_NOT_HELD = "Not Held"

#: keys in the event's ``extendedProperties.private`` pointing back at the CRM
PROP_ACTIVITY_UID = "crmActivityUid"
PROP_MARKER = "crmPortal"
MARKER_VALUE = "portal-crm"

# Action kinds. Google-side actions carry an event body; CRM-side ones carry activity fields.
INSERT_EVENT = "insert_event"
PATCH_EVENT = "patch_event"
DELETE_EVENT = "delete_event"
CREATE_ACTIVITY = "create_activity"
UPDATE_ACTIVITY = "update_activity"
DELETE_ACTIVITY = "delete_activity"
#: tie an existing activity to an event (merge by iCalUID, or relink our own event)
LINK_ACTIVITY = "link_activity"
#: forget a link (CRM-owned event deleted in Google: keep the activity; or a dead tombstone)
UNLINK = "unlink"
#: a cancelled instance of a recurring series becomes an EXDATE on the series' activity
ADD_EXCEPTION = "add_exception"
#: both sides changed: a log record with both versions; the winning action follows it
CONFLICT = "conflict"
#: both sides changed different fields: a log record of which field came from where; the
#: update and/or patch that writes the merge to both sides follows it
MERGED = "merged"
SKIP = "skip"

GOOGLE_ACTIONS = (INSERT_EVENT, PATCH_EVENT, DELETE_EVENT)

_B32_STANDARD = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B32_HEX = "0123456789abcdefghijklmnopqrstuv"
_TO_B32HEX = str.maketrans(_B32_STANDARD, _B32_HEX)


# -- snapshots ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class Attendee:
    """One attendee as Google sees it (used for kept external attendees too)."""

    email: str
    display_name: str = ""
    response_status: str = "needsAction"


@dataclass(frozen=True)
class ActivitySnapshot:
    """What the engine needs to know about a CRM activity.

    ``attendees`` are the participants' and invitees' emails (the runner resolves users and
    contacts); ``external_attendees`` are emails kept from Google that match nobody.
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
    reminder_minutes: int | None = None
    visibility: str = "default"
    show_in_calendar: bool = True
    organizer_email: str = ""
    organizer_name: str = ""
    attendees: tuple[Attendee, ...] = ()
    external_attendees: tuple[Attendee, ...] = ()
    modified_at: datetime | None = None

    @property
    def held(self):
        return self.status == STATUS_HELD

    def starts_on(self):
        """The first day, in the activity's own zone (used against Synchronize from)."""
        if self.all_day:
            return self.start_date
        if self.start_at is None:
            return None
        return self.start_at.astimezone(_zone(self.time_zone)).date()

    def ends_on(self):
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
    #: Google's attendee objects as last seen (dicts): their answers, names and flags are
    #: kept when the CRM patches the event
    google_attendees: tuple = field(default=(), compare=False, hash=False)
    #: Google's own recurrence lines as last seen; None when unknown (never recorded)
    google_recurrence: tuple | None = None
    #: EXDATE lines the import added to the activity for Google's exceptions (moved, edited
    #: or cancelled instances); never sent back, Google already has those exceptions
    google_exdates: tuple = ()
    #: the mapped field groups as of the last acknowledged sync (:func:`crm_state` /
    #: :func:`google_state`), the base of the three-way merge; None on older links, which
    #: keep the whole-record conflict rule
    base_fields: dict | None = field(default=None, compare=False, hash=False)


@dataclass(frozen=True)
class MappingSnapshot:
    """The mapping's sync settings (one activity type <-> one Google calendar of one user)."""

    id: int | None
    activity_type_id: int | None
    calendar_id: str
    user_email: str = ""
    time_zone: str = "UTC"
    sync_from: date | None = None
    conflict_rule: str = CONFLICT_CRM_WINS
    #: a CRM-owned event deleted in Google deletes the activity too (default: keep it)
    delete_in_crm_on_google_delete: bool = False
    send_updates: str = "none"


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
    #: the Google event behind an import action (for the link's etag/updated/iCalUID)
    event: EventSnapshot | None = None
    #: an etag for If-Match on patch/delete (None: unconditional)
    if_match: str | None = None
    #: for LINK_ACTIVITY/CREATE_ACTIVITY: who owns the new link
    owner: str | None = None
    #: for ADD_EXCEPTION: the EXDATE line to add
    exdate: str | None = None
    #: for CREATE_ACTIVITY/UPDATE_ACTIVITY of a series: the EXDATE lines derived from
    #: Google's exceptions (the runner remembers them on the link)
    exdates: tuple = ()
    #: for CONFLICT: {"crm": {...}, "google": {...}, "rule": ..., "winner": ...}; for a
    #: field-level merge (CONFLICT or MERGED) also "from_crm", "from_google" (field groups
    #: taken from each side) and "both_changed" (the groups the rule decided)
    conflict: dict | None = None
    #: for UNLINK of an activity kept in the CRM: the version the detached link records
    #: (the activity's own version: not re-exported unless edited again; an older one:
    #: the CRM's edit won over Google's delete and the export brings the event back)
    synced_version: int | None = None
    #: the mapped field groups this action leaves both sides agreeing on (the link's merge
    #: base once the action is applied/acknowledged); None: the runner forgets the base
    base: dict | None = None
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


def parse_rfc3339(value):
    """An RFC 3339 timestamp as an aware UTC datetime (None stays None)."""
    if not value:
        return None
    text = value.strip()
    if text.endswith(("Z", "z")):
        text = text[:-1] + "+00:00"
    parsed = datetime.fromisoformat(text)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=timezone.utc)
    return parsed.astimezone(timezone.utc)


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


# -- CRM -> Google fields -------------------------------------------------------------------------

def _attendees_payload(activity, known=()):
    """Attendee objects for the event: the activity's people, each merged with what Google
    last had for the same email (``known``), so a patch never resets someone's answer,
    display name or optional flag; the organizer's own entry Google keeps is kept too."""
    known_by_email = {}
    for item in known or ():
        if isinstance(item, dict) and item.get("email"):
            known_by_email.setdefault(item["email"].strip().lower(), item)
    seen = set()
    out = []
    organizer = (activity.organizer_email or "").lower()
    if organizer in known_by_email:
        mine = {k: v for k, v in known_by_email[organizer].items() if k != "self"}
        mine["email"] = organizer
        out.append(mine)
        seen.add(organizer)
    for attendee in tuple(activity.attendees) + tuple(activity.external_attendees):
        email = (attendee.email or "").strip().lower()
        # The organizer is the calendar owner, not an invitee of their own meeting.
        if not email or email in seen or email == organizer:
            continue
        seen.add(email)
        item = {k: v for k, v in known_by_email.get(email, {}).items() if k != "self"}
        item["email"] = email
        if not item.get("responseStatus"):
            item["responseStatus"] = attendee.response_status or "needsAction"
        if attendee.display_name and not item.get("displayName"):
            item["displayName"] = attendee.display_name
        out.append(item)
    return out


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


def event_body(activity, event_id=None, known_attendees=(), derived_exdates=()):
    """The Google event resource for an activity (used for insert and as a full patch).

    Every mapped field is present, so a patch overwrites Google's copy completely (Google
    replaces arrays such as attendees and recurrence whole). ``known_attendees``: Google's
    attendee objects as last seen (merged by email, see :func:`_attendees_payload`);
    ``derived_exdates``: EXDATE lines that mirror Google's own exceptions, left out.
    """
    start, end = event_when(activity)
    derived = set(derived_exdates or ())
    body = {
        "summary": activity.subject or "",
        "description": activity.description or "",
        "location": activity.location or "",
        "status": "cancelled" if activity.status == STATUS_NOT_HELD else "confirmed",
        "start": start,
        "end": end,
        "attendees": _attendees_payload(activity, known_attendees),
        "reminders": {"useDefault": False, "overrides": (
            [{"method": "popup", "minutes": int(activity.reminder_minutes)}]
            if activity.reminder_minutes is not None else [])},
        "visibility": activity.visibility if activity.visibility in (
            "default", "public", "private") else "default",
        "recurrence": [line for line in recurrence_lines(activity.recurrence)
                       if line not in derived],
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


def patch_body(activity, link, current=None):
    """The body of a patch of ``link``'s event: :func:`event_body` with Google's attendee
    objects kept (from ``current``, Google's fresh copy, else what the link remembers), and
    without ``recurrence`` when the series' own rule lines equal Google's: patching
    recurrence can drop Google's exceptions (moved instances), so it is sent only when the
    CRM really changed the rule."""
    if current is not None:
        known_attendees = current.get("attendees") or ()
        known_recurrence = recurrence_lines(current.get("recurrence") or ())
    else:
        known_attendees = link.google_attendees
        known_recurrence = link.google_recurrence
    body = event_body(activity, known_attendees=known_attendees,
                      derived_exdates=link.google_exdates)
    if known_recurrence is not None \
            and sorted(body["recurrence"]) == sorted(recurrence_lines(known_recurrence)):
        del body["recurrence"]
    return body


def remembered_state(resource, exdates=()):
    """What a link keeps of Google's event (see :class:`LinkSnapshot`): attendee objects,
    recurrence lines and the EXDATEs derived from its exceptions; JSON-ready."""
    resource = resource or {}
    return {"attendees": [dict(a) for a in resource.get("attendees") or ()
                          if isinstance(a, dict)],
            "recurrence": list(recurrence_lines(resource.get("recurrence") or ())),
            "exdates": list(dict.fromkeys(exdates))}


# -- Google -> CRM fields -------------------------------------------------------------------------

def activity_fields(event, default_time_zone="UTC"):
    """The CRM fields an event maps to (the reverse of :func:`event_body`).

    Returns a dict with subject, description, location, status, all_day, start_at/end_at
    (aware UTC) or start_date/end_date (inclusive), time_zone, recurrence (text),
    reminder_minutes, visibility, organizer_email and attendees (tuple of :class:`Attendee`).
    """
    resource = event.resource if isinstance(event, EventSnapshot) else event
    start = resource.get("start") or {}
    end = resource.get("end") or {}
    fields = {
        "subject": resource.get("summary") or "",
        "description": resource.get("description") or "",
        "location": resource.get("location") or "",
        "status": STATUS_NOT_HELD if resource.get("status") == "cancelled" else STATUS_PLANNED,
        "recurrence": "\n".join(recurrence_lines(resource.get("recurrence") or ())),
        "visibility": {"public": "public", "private": "private",
                       "confidential": "private"}.get(resource.get("visibility"), "default"),
    }
    if "date" in start:
        first = date.fromisoformat(start["date"])
        last = date.fromisoformat(end["date"]) - timedelta(days=1) if end.get("date") else first
        fields.update(all_day=True, start_date=first, end_date=max(first, last),
                      start_at=None, end_at=None,
                      time_zone=start.get("timeZone") or default_time_zone or "UTC")
    else:
        begin = parse_rfc3339(start.get("dateTime"))
        finish = parse_rfc3339(end.get("dateTime")) or begin
        fields.update(all_day=False, start_at=begin, end_at=max(begin, finish) if begin else finish,
                      start_date=None, end_date=None,
                      time_zone=start.get("timeZone") or end.get("timeZone")
                      or default_time_zone or "UTC")
    reminders = resource.get("reminders") or {}
    popups = [o.get("minutes") for o in reminders.get("overrides") or ()
              if o.get("method") == "popup" and isinstance(o.get("minutes"), int)]
    fields["reminder_minutes"] = min(popups) if popups and not reminders.get("useDefault") \
        else None
    organizer = resource.get("organizer") or {}
    fields["organizer_email"] = (organizer.get("email") or "").lower()
    attendees = []
    for item in resource.get("attendees") or ():
        email = (item.get("email") or "").strip().lower()
        if not email or item.get("resource") or email == fields["organizer_email"]:
            continue
        attendees.append(Attendee(email=email, display_name=item.get("displayName") or "",
                                  response_status=item.get("responseStatus") or "needsAction"))
    fields["attendees"] = tuple(attendees)
    return fields


#: the fields compared to decide whether both sides agree (and shown in conflict records)
MAPPED_FIELDS = ("subject", "description", "location", "status", "all_day", "start_at",
                 "end_at", "start_date", "end_date", "recurrence", "reminder_minutes",
                 "visibility")


def activity_as_fields(activity, derived_exdates=()):
    """The mapped fields of an activity snapshot, comparable with :func:`activity_fields`
    (``derived_exdates``: the EXDATEs that mirror Google's exceptions, left out)."""
    derived = set(derived_exdates or ())
    return {
        "subject": activity.subject, "description": activity.description,
        "location": activity.location, "status": activity.status,
        "all_day": activity.all_day,
        "start_at": None if activity.all_day else activity.start_at,
        "end_at": None if activity.all_day else activity.end_at,
        "start_date": activity.start_date if activity.all_day else None,
        "end_date": activity.end_date if activity.all_day else None,
        "recurrence": "\n".join(line for line in recurrence_lines(activity.recurrence)
                                if line not in derived),
        "reminder_minutes": activity.reminder_minutes, "visibility": activity.visibility,
        "attendees": tuple(sorted(a.email.lower() for a in tuple(activity.attendees)
                                  + tuple(activity.external_attendees)
                                  if a.email.lower() != activity.organizer_email.lower())),
    }


def comparable_event_fields(event, default_time_zone="UTC"):
    """:func:`activity_fields` reduced to what :func:`activity_as_fields` returns."""
    fields = activity_fields(event, default_time_zone)
    out = {key: fields[key] for key in MAPPED_FIELDS}
    out["attendees"] = tuple(sorted(a.email for a in fields["attendees"]))
    return out


def _jsonable(fields):
    out = {}
    for key, value in fields.items():
        if isinstance(value, (datetime, date)):
            value = value.isoformat()
        elif isinstance(value, tuple):
            value = [v.email if isinstance(v, Attendee) else v for v in value]
        out[key] = value
    return out


# -- field groups and the three-way merge ---------------------------------------------------------

#: the mapped fields as merge units: a group is taken whole from one side (start, end,
#: all-day and time zone move together, or a merge could produce an impossible time)
FIELD_GROUPS = ("subject", "description", "location", "status", "timing", "attendees",
                "reminders", "visibility", "recurrence")


def _state(fields, time_zone):
    """The field groups of a mapped-fields dict (:func:`activity_as_fields` or
    :func:`comparable_event_fields`), as JSON-native values so a stored base compares
    exactly. Times are UTC instants (zone safe); an all-day span has no zone."""
    if fields["all_day"]:
        timing = ["all_day", _iso(fields["start_date"]), _iso(fields["end_date"])]
    else:
        timing = ["timed", _iso(_utc(fields["start_at"])), _iso(_utc(fields["end_at"])),
                  time_zone or "UTC"]
    return {
        "subject": fields["subject"] or "",
        "description": fields["description"] or "",
        "location": fields["location"] or "",
        "status": fields["status"],
        "timing": timing,
        "attendees": sorted({(a or "").lower() for a in fields["attendees"]}),
        "reminders": fields["reminder_minutes"],
        "visibility": fields["visibility"] or "default",
        "recurrence": sorted(recurrence_lines(fields["recurrence"] or "")),
    }


def _iso(value):
    return value.isoformat() if value is not None else None


def _utc(value):
    return value.astimezone(timezone.utc) if value is not None else None


def crm_state(activity, derived_exdates=()):
    """The field groups of a CRM activity (EXDATEs mirroring Google's exceptions left out)."""
    return _state(activity_as_fields(activity, derived_exdates), activity.time_zone)


def google_state(event, default_time_zone="UTC"):
    """The field groups of a Google event, comparable with :func:`crm_state`."""
    fields = activity_fields(event, default_time_zone)
    out = {key: fields[key] for key in MAPPED_FIELDS}
    out["attendees"] = tuple(a.email for a in fields["attendees"])
    return _state(out, fields["time_zone"])


def _crm_group_values(activity, group):
    """The activity's own values of one group, as :func:`activity_fields` keys."""
    if group == "timing":
        return {"all_day": activity.all_day, "start_at": activity.start_at,
                "end_at": activity.end_at, "start_date": activity.start_date,
                "end_date": activity.end_date, "time_zone": activity.time_zone}
    if group == "attendees":
        return {"attendees": tuple(activity.attendees) + tuple(activity.external_attendees)}
    if group == "reminders":
        return {"reminder_minutes": activity.reminder_minutes}
    if group == "recurrence":
        return {"recurrence": "\n".join(recurrence_lines(activity.recurrence))}
    return {group: getattr(activity, group)}


def merge_fields(base, crm_now, google_now, google_wins_both):
    """Three-way merge of field groups: {group: "crm" | "google"} for the groups whose
    values differ between the sides, and the groups changed on both sides (to different
    values) since ``base``; those go to Google when ``google_wins_both``, else to the CRM."""
    sources, both = {}, []
    for group in FIELD_GROUPS:
        mine, theirs = crm_now.get(group), google_now.get(group)
        if mine == theirs:
            continue
        crm_changed = mine != base.get(group)
        google_changed = theirs != base.get(group)
        if crm_changed and google_changed:
            both.append(group)
            sources[group] = OWNER_GOOGLE if google_wins_both else OWNER_CRM
        elif google_changed:
            sources[group] = OWNER_GOOGLE
        else:
            sources[group] = OWNER_CRM
    return sources, both


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
    starts = activity.starts_on()
    return mapping.sync_from is not None and starts is not None and starts < mapping.sync_from


#: why a linked activity left this calendar although its type and flags still match
OUT_OF_SCOPE = "no longer organized by this calendar's user"


def plan_export(mapping, activities, links, out_of_scope=frozenset()):
    """Plan CRM -> Google for one mapping.

    ``activities``: snapshots of the mapping's candidates (its type, organized by its user)
    plus every activity still linked in this mapping (so a type change or an unticked *Show
    in calendar* is seen). ``links``: this mapping's links, including tombstones whose
    activity was deleted (``activity_id`` None).

    Rules: new eligible activities are inserted with our own event id; changed ones (version
    differs from the synced version) are patched unless held; deleted, hidden or re-typed
    ones are deleted from this calendar; activities starting before *Synchronize from* are
    left alone; Google-owned links are never written (the CRM copy is read-only).
    ``out_of_scope``: ids of activities that no longer belong to this mapping's user (moved
    to another organizer): their events are deleted from this calendar like hidden ones.
    """
    actions = []
    by_id = {a.id: a for a in activities if a.id is not None}
    linked_ids = set()
    for link in links:
        if link.activity_id is not None:
            linked_ids.add(link.activity_id)
        activity = by_id.get(link.activity_id) if link.activity_id is not None else None
        if link.owner == OWNER_GOOGLE:
            if activity is None and link.activity_id is None:
                # The CRM copy of a Google event is read-only, yet it was deleted (an admin,
                # a cascade): a delete is a delete on both sides, or the calendars drift.
                actions.append(Action(DELETE_EVENT, link_id=link.id, event_id=link.event_id,
                                      reason="deleted in CRM"))
            continue
        if activity is None:
            if link.activity_id is None:
                if link.state == LINK_DETACHED:
                    actions.append(Action(UNLINK, link_id=link.id, event_id=link.event_id,
                                          reason="deleted in both"))
                else:
                    actions.append(Action(DELETE_EVENT, link_id=link.id, event_id=link.event_id,
                                          reason="deleted in CRM"))
            # else: linked activity not loaded (out of scope of this run): leave it
            continue
        why_not = exportable(activity, mapping)
        if why_not is None and activity.id in out_of_scope:
            why_not = OUT_OF_SCOPE
        if why_not is not None:
            if link.state == LINK_DETACHED:
                actions.append(Action(UNLINK, link_id=link.id, activity_id=activity.id,
                                      event_id=link.event_id, reason=why_not))
            else:
                actions.append(Action(DELETE_EVENT, link_id=link.id, activity_id=activity.id,
                                      event_id=link.event_id, reason=why_not))
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
                                                  known_attendees=link.google_attendees,
                                                  derived_exdates=link.google_exdates),
                                  base=crm_state(activity, link.google_exdates),
                                  reason="edited again after deletion in Google"))
            continue
        actions.append(Action(PATCH_EVENT, activity_id=activity.id, activity_uid=activity.uid,
                              link_id=link.id, event_id=link.event_id,
                              body=patch_body(activity, link), if_match=link.etag or None,
                              base=crm_state(activity, link.google_exdates),
                              reason="changed in CRM"))
    for activity in activities:
        if activity.id in linked_ids:
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
                              base=crm_state(activity), reason="new in CRM"))
    return actions


# -- import ---------------------------------------------------------------------------------------

def _exdate_line(event, default_time_zone):
    """The EXDATE line that removes an exception's original slot from its series: a date
    for an all-day series, local time with TZID for a zoned one, UTC with Z otherwise."""
    original = event.resource.get("originalStartTime") or {}
    if original.get("date"):
        return "EXDATE;VALUE=DATE:" + original["date"].replace("-", "")
    when = parse_rfc3339(original.get("dateTime"))
    if when is None:
        return None
    tz_name = original.get("timeZone") or default_time_zone or "UTC"
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
    when = parse_rfc3339(start.get("dateTime"))
    if when is None:
        return False
    return when.astimezone(_zone(start.get("timeZone") or default_time_zone)).date() < sync_from


def _conflict_winner(rule, activity, event):
    if rule == CONFLICT_GOOGLE_WINS:
        return OWNER_GOOGLE
    if rule == CONFLICT_MOST_RECENT:
        crm_time = activity.modified_at
        google_time = event.updated
        if crm_time is not None and google_time is not None and google_time > crm_time:
            return OWNER_GOOGLE
        return OWNER_CRM
    return OWNER_CRM


def plan_import(mapping, events, links, activities, full_sync=False, other_links=()):
    """Plan Google -> CRM for one mapping.

    ``events``: what events.list returned (all pages); ``links``: this mapping's links;
    ``activities``: snapshots of the linked activities (and of those named by the events'
    back-references); ``other_links``: links of other mappings with an iCalUID among the
    events (a shared meeting already in the CRM through another user).

    ``full_sync`` says the listing was complete (a successful full list after a 410 or the
    first sync): then active links whose event is missing are treated as deleted in Google.
    A partial or failed answer must never be passed as full.
    """
    actions = []
    link_by_event = {link.event_id: link for link in links}
    activity_by_id = {a.id: a for a in activities if a.id is not None}
    activity_by_uid = {a.uid: a for a in activities}
    link_by_ical = {}
    for link in tuple(other_links) + tuple(links):
        if link.ical_uid and link.activity_id is not None:
            link_by_ical.setdefault(link.ical_uid, link)
    tz_name = mapping.time_zone
    seen_ids = set()
    claimed = set()  # activities already linked by an earlier event of this listing
    series_in_listing = {ev.id: ev for ev in events if not ev.recurring_event_id}
    exceptions = _exceptions_by_series(events, series_in_listing, link_by_event,
                                       activity_by_id, tz_name)

    for event in events:
        seen_ids.add(event.id)
        link = link_by_event.get(event.id)
        if link is not None and link.etag and event.etag == link.etag:
            continue  # our own write echoed back, or unchanged
        if event.cancelled:
            actions.extend(_plan_cancelled(mapping, event, link, activity_by_id,
                                           link_by_event, tz_name,
                                           series_ids=series_in_listing))
            continue
        if link is None:
            actions.extend(_plan_new_event(mapping, event, activity_by_uid, link_by_ical,
                                           claimed, tz_name))
            continue
        activity = activity_by_id.get(link.activity_id)
        if activity is None:
            # A tombstone: the CRM deleted it and the export has not caught up yet; the
            # export deletes the event, so Google's edit is not resurrected.
            actions.append(Action(SKIP, link_id=link.id, event_id=event.id,
                                  reason="deleted in CRM; export removes it"))
            continue
        if link.state == LINK_DETACHED:
            continue  # a revived event only happens through our own insert
        actions.extend(_plan_changed_event(mapping, event, link, activity, tz_name))

    if full_sync:
        for link in links:
            if link.event_id in seen_ids or link.state == LINK_DETACHED:
                continue
            activity = activity_by_id.get(link.activity_id)
            if activity is not None and mapping.sync_from is not None \
                    and (activity.ends_on() or mapping.sync_from) < mapping.sync_from:
                continue  # outside the listed window: absence means nothing
            gone = EventSnapshot(id=link.event_id, status="cancelled")
            actions.extend(_plan_cancelled(mapping, gone, link, activity_by_id, link_by_event,
                                           tz_name, reason="missing from a full listing"))
    actions.extend(_plan_exceptions(exceptions, actions, series_in_listing, link_by_event,
                                    activity_by_id))
    return actions


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
               and a.event is not None and not a.event.recurring_event_id}
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


def _plan_cancelled(mapping, event, link, activity_by_id, link_by_event, tz_name,
                    reason="deleted in Google", series_ids=()):
    if link is None:
        if event.recurring_event_id and (event.recurring_event_id in link_by_event
                                         or event.recurring_event_id in series_ids):
            return []  # a cancelled instance: an EXDATE on its series (_plan_exceptions)
        return [Action(SKIP, event_id=event.id, reason="deleted event never synced")]
    activity = activity_by_id.get(link.activity_id)
    if link.state == LINK_DETACHED:
        return []
    crm_changed = (link.owner == OWNER_CRM and activity is not None
                   and link.synced_version is not None
                   and activity.version != link.synced_version)
    if crm_changed and activity.status != STATUS_NOT_HELD:
        # Deleted in Google, edited in the CRM since the last sync: a conflict like any
        # other; the rule decides whether the delete or the edit survives.
        winner = _conflict_winner(mapping.conflict_rule, activity, event)
        record = Action(CONFLICT, activity_id=activity.id, link_id=link.id, event_id=event.id,
                        event=event, conflict={"rule": mapping.conflict_rule, "winner": winner,
                                               "crm": _jsonable(activity_as_fields(
                                                   activity, link.google_exdates)),
                                               "google": {"status": "cancelled"}},
                        reason=f"edited in CRM, {reason} since the last sync; {winner} wins")
        if winner == OWNER_CRM:
            return [record, Action(UNLINK, activity_id=activity.id, link_id=link.id,
                                   event_id=event.id, event=event,
                                   synced_version=link.synced_version,
                                   reason=reason + "; kept in CRM, edit re-exported")]
        actions = [record]
    else:
        actions = []
    if link.owner == OWNER_GOOGLE or mapping.delete_in_crm_on_google_delete:
        if link.activity_id is None:
            return actions + [Action(UNLINK, link_id=link.id, event_id=event.id,
                                     reason=reason)]
        return actions + [Action(DELETE_ACTIVITY, activity_id=link.activity_id,
                                 link_id=link.id, event_id=event.id, event=event,
                                 reason=reason)]
    if activity is not None and activity.status == STATUS_NOT_HELD:
        return []  # our own "Not Held" is a cancelled event: nothing was lost
    # CRM-owned: keep the activity, remember the version so it is not re-exported unedited.
    return actions + [Action(UNLINK, activity_id=link.activity_id, link_id=link.id,
                             event_id=event.id, event=event,
                             synced_version=activity.version if activity is not None else None,
                             reason=reason + "; kept in CRM")]


#: why an event cannot become an activity: the CRM needs a timed activity to end after it
#: starts, Google allows zero-length events (one such event must not stop the whole import)
NO_DURATION = "the event has no duration; the CRM needs an end after the start"


def _representable(fields):
    return fields["all_day"] or (fields["start_at"] is not None
                                 and fields["end_at"] is not None
                                 and fields["end_at"] > fields["start_at"])


def _plan_new_event(mapping, event, activity_by_uid, link_by_ical, claimed, tz_name):
    own_uid = event.activity_uid
    # An instance of our own series carries the series' back-reference: it is not the
    # series' event, but a moved or edited occurrence that becomes its own activity.
    if own_uid is not None and own_uid in activity_by_uid and not event.recurring_event_id:
        # Our own export whose link was never written (crash between Google's answer and
        # the commit): relink instead of importing a copy.
        activity = activity_by_uid[own_uid]
        if activity.id not in claimed:
            claimed.add(activity.id)
            return [Action(LINK_ACTIVITY, activity_id=activity.id, activity_uid=own_uid,
                           event_id=event.id, event=event, owner=OWNER_CRM,
                           reason="relinked own event")]
    shared = link_by_ical.get(event.ical_uid) if event.ical_uid else None
    if shared is not None and not event.recurring_event_id:
        return [Action(LINK_ACTIVITY, activity_id=shared.activity_id, event_id=event.id,
                       event=event, owner=OWNER_GOOGLE,
                       fields=activity_fields(event, tz_name),
                       reason="same meeting (iCalUID) already in CRM")]
    if _event_starts_before(event, mapping.sync_from, tz_name):
        return [Action(SKIP, event_id=event.id, reason="before Synchronize from")]
    fields = activity_fields(event, tz_name)
    if not _representable(fields):
        return [Action(SKIP, event_id=event.id, event=event, reason=NO_DURATION)]
    return [Action(CREATE_ACTIVITY, event_id=event.id, event=event, owner=OWNER_GOOGLE,
                   fields=activity_fields(event, tz_name), base=google_state(event, tz_name),
                   reason="moved or edited instance" if event.recurring_event_id
                   else "new in Google")]


def _plan_changed_event(mapping, event, link, activity, tz_name):
    fields = activity_fields(event, tz_name)
    if link.google_exdates and event.resource.get("recurrence"):
        _with_exdates(fields, link.google_exdates)
    if activity.held:
        return [Action(SKIP, activity_id=activity.id, event_id=event.id, event=event,
                       reason="held activities are no longer updated")]
    if not _representable(fields):
        return [Action(SKIP, activity_id=activity.id, event_id=event.id, event=event,
                       reason=NO_DURATION)]
    base = google_state(event, tz_name)
    crm_changed = link.synced_version is not None and activity.version != link.synced_version
    if not crm_changed:
        return [Action(UPDATE_ACTIVITY, activity_id=activity.id, link_id=link.id,
                       event_id=event.id, event=event, fields=fields, base=base,
                       reason="changed in Google")]
    crm_side = activity_as_fields(activity, link.google_exdates)
    google_side = comparable_event_fields(event, tz_name)
    if all(crm_side[key] == google_side[key] for key in crm_side):
        # Both changed to the same thing: just record that they agree.
        return [Action(UPDATE_ACTIVITY, activity_id=activity.id, link_id=link.id,
                       event_id=event.id, event=event, fields=fields, base=base,
                       reason="changed alike on both sides")]
    if isinstance(link.base_fields, dict) and link.owner == OWNER_CRM:
        return _plan_merge(mapping, event, link, activity, fields, crm_side, google_side,
                           tz_name)
    winner = _conflict_winner(mapping.conflict_rule, activity, event)
    record = Action(CONFLICT, activity_id=activity.id, link_id=link.id, event_id=event.id,
                    event=event, conflict={"rule": mapping.conflict_rule, "winner": winner,
                                           "crm": _jsonable(crm_side),
                                           "google": _jsonable(google_side)},
                    reason=f"changed on both sides; {winner} wins")
    if winner == OWNER_GOOGLE:
        return [record, Action(UPDATE_ACTIVITY, activity_id=activity.id, link_id=link.id,
                               event_id=event.id, event=event, fields=fields, base=base,
                               reason="conflict: Google wins")]
    if link.owner == OWNER_GOOGLE:
        # A read-only copy cannot win against its own source.
        return [record, Action(UPDATE_ACTIVITY, activity_id=activity.id, link_id=link.id,
                               event_id=event.id, event=event, fields=fields, base=base,
                               reason="conflict on a Google-owned activity: Google wins")]
    return [record, Action(PATCH_EVENT, activity_id=activity.id, activity_uid=activity.uid,
                           link_id=link.id, event_id=event.id, event=event,
                           body=patch_body(activity, link, current=event.resource),
                           base=crm_state(activity, link.google_exdates),
                           if_match=event.etag or None, reason="conflict: CRM wins")]


def _plan_merge(mapping, event, link, activity, fields, crm_side, google_side, tz_name):
    """Both sides changed since the last sync, and the link remembers that sync's fields:
    merge field group by field group. A group changed on one side only takes that side's
    value; one changed on both (differently) goes to the side the mapping's rule picks.
    The merge is written to the CRM (if anything came from Google) and to Google (if
    anything came from the CRM). Only a group changed on both sides makes a conflict."""
    base = link.base_fields
    crm_now = crm_state(activity, link.google_exdates)
    google_now = google_state(event, tz_name)
    winner = _conflict_winner(mapping.conflict_rule, activity, event)
    sources, both = merge_fields(base, crm_now, google_now, winner == OWNER_GOOGLE)
    from_crm = [g for g in FIELD_GROUPS if sources.get(g) == OWNER_CRM]
    from_google = [g for g in FIELD_GROUPS if sources.get(g) == OWNER_GOOGLE]
    merged = dict(fields)
    for group in from_crm:
        merged.update(_crm_group_values(activity, group))
    merged_activity = with_fields(activity, {k: v for k, v in merged.items()
                                             if k != "organizer_email"})
    if "attendees" in from_google:
        merged_activity = replace(merged_activity, attendees=tuple(fields["attendees"]),
                                  external_attendees=())
    merged_state = crm_state(merged_activity, link.google_exdates)
    record = {"rule": mapping.conflict_rule, "crm": _jsonable(crm_side),
              "google": _jsonable(google_side), "from_crm": from_crm,
              "from_google": from_google, "both_changed": both,
              "winner": winner if both else None}
    summary = (f"from CRM: {', '.join(from_crm) or 'nothing'}; "
               f"from Google: {', '.join(from_google) or 'nothing'}")
    if both:
        head = Action(CONFLICT, activity_id=activity.id, link_id=link.id, event_id=event.id,
                      event=event, conflict=record,
                      reason=f"changed on both sides ({', '.join(both)}): {winner} wins; "
                             + summary)
    else:
        head = Action(MERGED, activity_id=activity.id, link_id=link.id, event_id=event.id,
                      event=event, conflict=record,
                      reason="different fields changed on each side, both kept; " + summary)
    actions = [head]
    if from_google:
        actions.append(Action(
            UPDATE_ACTIVITY, activity_id=activity.id, link_id=link.id, event_id=event.id,
            event=event, fields=merged,
            # with a patch to follow, the link stays at the old sync until Google acknowledges
            # it (a failed patch then merges again from the same base, nothing is lost)
            synced_version=link.synced_version if from_crm else None,
            base=None if from_crm else merged_state,
            reason="merge: " + ", ".join(from_google) + " from Google"))
    if from_crm:
        actions.append(Action(
            PATCH_EVENT, activity_id=activity.id, activity_uid=activity.uid, link_id=link.id,
            event_id=event.id, event=event,
            body=patch_body(merged_activity, link, current=event.resource),
            base=merged_state, if_match=event.etag or None,
            reason="merge: " + ", ".join(from_crm) + " from CRM"))
    return actions


def with_fields(activity, fields):
    """A copy of a snapshot with imported fields applied (used by tests and the runner)."""
    allowed = {k: v for k, v in fields.items()
               if k in ActivitySnapshot.__dataclass_fields__ and k != "attendees"}
    if "recurrence" in allowed:
        allowed["recurrence"] = recurrence_lines(allowed["recurrence"])
    return replace(activity, **allowed)
