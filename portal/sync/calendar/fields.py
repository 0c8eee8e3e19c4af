"""Calendar fields both ways: an activity as a Google event body or patch, a Google event
as activity fields, and both described as field groups in the CRM's own terms (the states
the three-way merge compares), with who may change what."""
from __future__ import annotations

import base64
import uuid
from dataclasses import replace
from datetime import date, timedelta, timezone

from portal.core.colors import color_of_id, known_color_id
from portal.crm.reminders import Reminders
from portal.sync.core import merge as m
from portal.sync.core.merge import BASE_VERSION, Rights
from portal.sync.calendar.times import zone_or_utc, event_time, rfc3339
from portal.sync.calendar.plan import (
    ANSWER, FIELD_GROUPS, GROUP_FIELDS, MARKER_VALUE, NEEDS_ACTION, NO_TITLE, ORIGIN_GOOGLE,
    PERSONAL_GROUPS, PROP_ACTIVITY_UID, PROP_MARKER, ROLE_GUEST, ROLE_ORGANIZER, SHARED_GROUPS,
    STATUS_NOT_HELD, STATUS_PLANNED, _TO_B32HEX,
)
from portal.sync.calendar import conference as conf
from portal.sync.calendar.snapshots import NOBODY, ActivitySnapshot, Attendee, EventSnapshot


# -- identifiers ----------------------------------------------------------------------------------

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
    tz = zone_or_utc(tz_name)
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
    if activity.color_id:
        body["colorId"] = activity.color_id
    if wants_meet(activity):
        body["conferenceData"] = conf.create_request(activity)
    if activity.organizer_email:
        organizer = {"email": activity.organizer_email.lower()}
        if activity.organizer_name:
            organizer["displayName"] = activity.organizer_name
        body["organizer"] = organizer
    if event_id:
        body["id"] = event_id
    return body


def wants_meet(activity):
    """A conference the CRM must ask Google for: ticked, and none known yet (a conference
    Google gave, Meet or another, is Google's and never replaced)."""
    return bool(activity.conference) and not activity.conference_url


#: :func:`_conference_body`'s "leave conferenceData out of the patch"
_LEAVE_OUT = object()


def _conference_body(activity, base):
    """The ``conferenceData`` of a patch of the conference group, or :data:`_LEAVE_OUT`.

    Ticked where the base had none: ask for a Meet. Unticked where the base had one: None
    (sent as null, which removes it). Anything else (no base knowing of conferences, an
    imported one) sends nothing, so Google's conference is never dropped by a patch."""
    if activity.conference and not base.get("conference"):
        return conf.create_request(activity)
    if not activity.conference and base.get("conference"):
        return None
    return _LEAVE_OUT


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
    if "color" in groups and activity.color_id:
        # Never a clearing null: the CRM only ever chooses a colour, and an event without
        # one of its own stays as Google shows it.
        body["colorId"] = activity.color_id
    if "conference" in groups:
        data = _conference_body(activity, base)
        if data is not _LEAVE_OUT:
            body["conferenceData"] = data
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
        "conference": conf.has_conference(resource),
        # the event's own colour: its palette colour is kept on the activity ("" none)
        "color_id": known_color_id(resource.get("colorId")),
    }
    fields["color"] = color_of_id(fields["color_id"]) or ""
    fields["conference_url"], fields["conference_name"] = conf.join_link(resource)
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


def answers_of(fields):
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
        "color": activity.color_id,
        "conference": conf.state(activity.conference, activity.conference_url),
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
        "color": fields["color_id"],
        "conference": conf.state(fields.get("conference"), fields.get("conference_url")),
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


def usable_base(link, crm_now=None):
    """The link's base if it is one this engine wrote, else None.

    A base remembered before a group existed (``color``, added later) gets the CRM's
    current value for it: Google's copy then counts as the changed side, so a colour the
    user chose in Google is imported, never overwritten by the type's colour."""
    base = m.usable(link.base_fields)
    if base is not None and crm_now is not None:
        missing = [g for g in LATER_GROUPS if g not in base and g in crm_now]
        if missing:
            base = dict(base)
            for group in missing:
                base[group] = crm_now[group]
    if base is not None and "conference" not in base:
        # A base from before conferences were synced knew of none: a conference Google has
        # since is Google's change (imported), never a conflict the CRM could win by
        # removing it.
        base = dict(base, conference=False)
    return base


def type_colour_as_agreed(crm_now, base, activity, link):
    """``crm_now`` with the colour last agreed while the activity is unchanged since its last
    sync and takes its colour from its type: an admin recolouring a type is no edit of its
    activities (no false conflict, no Google colour overwritten); the new colour goes out
    with the activity's next change in the CRM."""
    if base is None or "color" not in base or getattr(activity, "own_color", True) \
            or link.synced_version is None or activity.version != link.synced_version:
        return crm_now
    return dict(crm_now, color=base["color"])


#: groups added after bases were first remembered (see :func:`usable_base`)
LATER_GROUPS = ("color",)


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
            # The CRM kept at most one reminder before: Google's whole set wins; it had no
            # colours either: Google's stays.
            base["reminders"] = crm_now["reminders"]
            base["color"] = crm_now["color"]
    elif activity.origin == ORIGIN_GOOGLE:
        base = dict(crm_now)
    else:
        base = dict(google_now)
    base[ANSWER] = crm_now.get(ANSWER)
    # Conferences: what Google has is what both agreed on (never removed by a first sync).
    base.setdefault("conference", google_now.get("conference", False))
    base["v"] = BASE_VERSION
    return base


def _legacy_base(fields):
    """The groups an older link's remembered fields still describe the same way."""
    if not isinstance(fields, dict):
        return {}
    same = ("subject", "description", "location", "status", "timing", "recurrence",
            "visibility")
    return {group: fields[group] for group in same if group in fields}
