"""Calendar v3 domain logic: calendars and events on the store, no Flask routing.

The route layer (calendar.py) and the control API (control.py) both call these, so a change
made "as the account owner" goes through exactly the same bookkeeping (seq, etag, updated,
change log, watch notifications) as one made through the API.
"""
import base64
import re
import secrets
from datetime import datetime, timedelta

from . import conference
from . import recurrence as rec_mod
from .errors import ApiError, bad_request, not_found
from .store import decode_token, encode_token, now_rfc3339, random_id

EVENT_ID_RE = re.compile(r"^[a-v0-9]{5,1024}$")
STATUSES = ("confirmed", "tentative", "cancelled")
RESPONSES = ("needsAction", "declined", "tentative", "accepted")
READ_ONLY = ("kind", "etag", "created", "updated", "htmlLink", "creator", "recurringEventId",
             "hangoutLink")
STRING_FIELDS = ("summary", "description", "location", "colorId", "transparency",
                 "visibility", "iCalUID", "eventType")
FAR_FUTURE = 1e13


def _copy(value):
    """A deep copy of JSON-shaped data (dicts, lists, scalars), several times quicker than
    copy.deepcopy, which matters: every write copies its event."""
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


# -- calendars ---------------------------------------------------------------------------------
def calendar_for(st, email, calendar_id):
    """The calendar ``email`` may use; ``primary`` aliases their own. 404 otherwise."""
    cid = email if calendar_id == "primary" else calendar_id
    cal = st.calendars.get(cid)
    if cal is None or cal["owner"] != email:
        raise not_found("Not Found")
    return cal


def calendar_resource(cal):
    return {"kind": "calendar#calendar", "etag": cal["etag"], "id": cal["id"],
            "summary": cal["summary"], "description": cal.get("description", ""),
            "timeZone": cal["timeZone"],
            "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]}}


def calendar_list_entry(cal):
    out = {"kind": "calendar#calendarListEntry", "etag": cal["etag"], "id": cal["id"],
           "summary": cal["summary"], "timeZone": cal["timeZone"], "accessRole": "owner",
           "colorId": "14", "backgroundColor": "#9fe1e7", "foregroundColor": "#000000",
           "selected": True, "defaultReminders": [],
           "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]}}
    if cal.get("description"):
        out["description"] = cal["description"]
    if cal.get("primary"):
        out["primary"] = True
        out["defaultReminders"] = [{"method": "popup", "minutes": 10}]
    return out


def owned_calendars(st, email):
    return sorted((c for c in st.calendars.values() if c["owner"] == email),
                  key=lambda c: (not c.get("primary"), c["summary"].lower(), c["id"]))


def insert_calendar(st, email, body):
    if not isinstance(body, dict):
        raise bad_request("Invalid value for: body", "parseError")
    summary = body.get("summary")
    if not summary:
        raise bad_request("Missing title.", "required")
    if not isinstance(summary, str):
        raise bad_request("Invalid value for: summary")
    tz = body.get("timeZone") or st.calendars[email]["timeZone"]
    if not isinstance(tz, str):
        raise bad_request("Invalid value for: timeZone")
    rec_mod.zone(tz)
    cid = random_id(32)[:52] + "@group.calendar.google.com"
    cal = {"id": cid, "owner": email, "summary": summary,
           "description": body.get("description") or "", "timeZone": tz, "primary": False,
           "etag": st.new_etag(), "seq": 0, "gen": 0}
    st.calendars[cid] = cal
    st.events[cid] = {}
    st.dirty("calendar", cid)
    return cal


def patch_calendar(st, cal, body, replace=False):
    if not isinstance(body, dict):
        raise bad_request("Invalid value for: body", "parseError")
    for key in ("summary", "description", "timeZone"):
        if key in body or replace:
            value = body.get(key)
            if value is not None and not isinstance(value, str):
                raise bad_request(f"Invalid value for: {key}")
            if key == "summary" and not value:
                raise bad_request("Missing title.", "required")
            if key == "timeZone" and value:
                rec_mod.zone(value)
            cal[key] = value or ("" if key == "description" else cal[key])
    cal["etag"] = st.new_etag()
    st.dirty("calendar", cal["id"])
    return cal


def delete_calendar(st, cal):
    if cal.get("primary"):
        raise bad_request("Cannot delete the primary calendar; use calendars.clear instead.",
                          "cannotDeletePrimaryCalendar")
    cid = cal["id"]
    for eid in list(st.events.get(cid, {})):
        st.dirty("event", f"{cid}\n{eid}")
    st.events.pop(cid, None)
    st.changes.pop(cid, None)
    st.exceptions.pop(cid, None)
    for ch_id in [k for k, ch in st.channels.items() if ch["calendarId"] == cid]:
        st.delete("channel", ch_id)
    st.delete("calendar", cid)


# -- event validation ----------------------------------------------------------------------------
def _check_when(value, what):
    if not isinstance(value, dict):
        raise bad_request(f"Invalid value for: {what}")
    has_date, has_dt = value.get("date") is not None, value.get("dateTime") is not None
    if has_date == has_dt:
        raise bad_request(f"Missing {what.split('.')[0]} time." if not has_date else
                          f"Invalid value for: {what}",
                          "required" if not has_date else "invalid")
    if has_date:
        rec_mod.parse_date(value["date"], what + ".date")
    else:
        dt = rec_mod.parse_rfc3339(value["dateTime"], what + ".dateTime")
        if dt.tzinfo is None and not value.get("timeZone"):
            raise bad_request(f"Missing time zone definition for {what} time.", "required")
    tz = value.get("timeZone")
    if tz is not None:
        if not isinstance(tz, str):
            raise bad_request(f"Invalid value for: {what}.timeZone")
        rec_mod.zone(tz)


def _check_string_map(value, what):
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise bad_request(f"Invalid value for: {what}")


def validate_event(ev, cal_tz):
    """Raise ApiError(400) the way Google does for a malformed event resource."""
    for key in STRING_FIELDS:
        if ev.get(key) is not None and not isinstance(ev[key], str):
            raise bad_request(f"Invalid value for: {key}")
    if ev.get("status") is not None and ev["status"] not in STATUSES:
        raise bad_request("Invalid value for: status")
    if "start" not in ev or ev["start"] is None:
        raise bad_request("Missing start time.", "required")
    if "end" not in ev or ev["end"] is None:
        raise bad_request("Missing end time.", "required")
    _check_when(ev["start"], "start")
    _check_when(ev["end"], "end")
    if ("date" in ev["start"]) != ("date" in ev["end"]):
        raise bad_request("Start and end times must either both be date or both be dateTime.")
    start, _ = rec_mod.start_of(ev["start"], cal_tz)
    end, _ = rec_mod.start_of(ev["end"], cal_tz)
    if end < start or ("date" in ev["start"] and end == start):
        raise bad_request("The specified time range is empty.", "timeRangeEmpty")
    if ev.get("sequence") is not None and (not isinstance(ev["sequence"], int) or
                                           isinstance(ev["sequence"], bool)):
        raise bad_request("Invalid value for: sequence")
    attendees = ev.get("attendees")
    if attendees is not None:
        if not isinstance(attendees, list):
            raise bad_request("Invalid value for: attendees")
        for a in attendees:
            if not isinstance(a, dict) or not isinstance(a.get("email"), str) or \
                    "@" not in a["email"]:
                raise bad_request("Invalid attendee email.", "invalid")
            if a.get("responseStatus", "needsAction") not in RESPONSES:
                raise bad_request("Invalid value for: attendees.responseStatus")
    if ev.get("organizer") is not None and not isinstance(ev["organizer"], dict):
        raise bad_request("Invalid value for: organizer")
    props = ev.get("extendedProperties")
    if props is not None:
        if not isinstance(props, dict):
            raise bad_request("Invalid value for: extendedProperties")
        for scope in ("private", "shared"):
            if props.get(scope) is not None:
                _check_string_map(props[scope], f"extendedProperties.{scope}")
    reminders = ev.get("reminders")
    if reminders is not None and not isinstance(reminders, dict):
        raise bad_request("Invalid value for: reminders")
    if ev.get("conferenceData") is not None and not isinstance(ev["conferenceData"], dict):
        raise bad_request("Invalid value for: conferenceData")
    recurrence = ev.get("recurrence")
    if recurrence:
        if not isinstance(recurrence, list):
            raise bad_request("Invalid value for: recurrence")
        if "dateTime" in ev["start"] and not ev["start"].get("timeZone"):
            raise bad_request("Missing time zone definition for start time.", "required")
        rec_mod.validate(ev, cal_tz)


def normalize_times(ev, cal_tz):
    """Store times as Google answers them: a dateTime without an offset (read in its
    timeZone, else the calendar's) gets the offset it has there, RFC 3339."""
    for key in ("start", "end", "originalStartTime"):
        when = ev.get(key)
        if not isinstance(when, dict) or not isinstance(when.get("dateTime"), str):
            continue
        dt = rec_mod.parse_rfc3339(when["dateTime"], key + ".dateTime")
        if dt.tzinfo is None:
            when["dateTime"] = dt.replace(
                tzinfo=rec_mod.zone(when.get("timeZone") or cal_tz)).isoformat()


def _times(res, cal_tz):
    """(start ts, end ts) used for timeMin/timeMax filters; a series spans to its last
    instance (or far future when open-ended)."""
    start, _ = rec_mod.start_of(res["start"], cal_tz)
    end, _ = rec_mod.start_of(res["end"], cal_tz)
    s, e = start.timestamp(), end.timestamp()
    if res.get("recurrence"):
        e = FAR_FUTURE
        if any("COUNT=" in line or "UNTIL=" in line for line in res["recurrence"]
               if isinstance(line, str) and line.upper().startswith("RRULE")) and \
                not any(str(line).upper().startswith("RDATE") for line in res["recurrence"]):
            occ, duration, tz = rec_mod.occurrences(res, cal_tz, None, None)
            if occ:
                last = occ[-1].replace(tzinfo=tz) if occ[-1].tzinfo is None else occ[-1]
                e = (last + duration).timestamp()
    return s, e


def _html_link(cal_id, eid):
    eid64 = base64.urlsafe_b64encode(f"{eid} {cal_id}".encode()).decode().rstrip("=")
    return "https://www.google.com/calendar/event?eid=" + eid64


# -- shared meetings ------------------------------------------------------------------------------
# Google keeps a copy of a meeting in every invited account's primary calendar: same id and
# iCalUID, the meeting's fields shared, these kept per copy (with extendedProperties.private).
PERSONAL = ("reminders", "colorId", "transparency")
# What a guest may change in their own attendee entry.
ANSWER_KEYS = ("responseStatus", "comment", "additionalGuests")
# Keys not compared as plain values when deciding whether a write changes the meeting.
_NOT_PLAIN = set(READ_ONLY) | set(PERSONAL) | {
    "id", "iCalUID", "sequence", "originalStartTime", "recurringEventId", "organizer",
    "attendees", "extendedProperties", "start", "end"}
# Server-owned keys a copy (or a guest's change to the meeting) never takes from a body.
_SERVER_OWNED = set(READ_ONLY) | {"id", "iCalUID", "organizer", "recurringEventId",
                                  "originalStartTime", "sequence"}


def forbidden_for_non_organizer():
    return ApiError(403, "forbiddenForNonOrganizer",
                    "Shared properties can only be changed by the organizer of the event.",
                    domain="calendar")


def _email(person):
    return str(person.get("email") or "").lower() if isinstance(person, dict) else ""


def _when_key(when, cal_tz):
    """A start/end compared by the instant it names (offset spelling doesn't matter)."""
    if not isinstance(when, dict):
        return when
    if when.get("date") is not None:
        return ("date", when["date"], when.get("timeZone"))
    try:
        dt, _ = rec_mod.start_of(when, cal_tz)
    except (ApiError, KeyError):
        return when
    return ("dateTime", dt.timestamp(), when.get("timeZone"))


def _attendee_map(ev):
    out = {}
    for a in ev.get("attendees") or []:
        if isinstance(a, dict):
            entry = {k: v for k, v in a.items() if k != "self"}
            entry.setdefault("responseStatus", "needsAction")
            out[_email(a)] = entry
    return out


def _props(ev, scope):
    return (ev.get("extendedProperties") or {}).get(scope) or {}


def _guest_changes(current, ev, guest, cal_tz):
    """How a write by the guest ``guest`` changes the meeting: (answer, shared, organizer):
    the changed keys of their own attendee entry among ANSWER_KEYS (None = cleared), whether
    any other shared value changed, whether the organizer changed. Values are compared, so
    re-sending unchanged shared fields is no change."""
    organizer = _email(current.get("organizer")) != _email(ev.get("organizer"))
    shared = any(current.get(k) != ev.get(k) for k in set(current) | set(ev)
                 if k not in _NOT_PLAIN)
    shared = shared or any(_when_key(current.get(k), cal_tz) != _when_key(ev.get(k), cal_tz)
                           for k in ("start", "end"))
    shared = shared or _props(current, "shared") != _props(ev, "shared")
    before, after = _attendee_map(current), _attendee_map(ev)
    answer = {}
    if set(before) != set(after):
        shared = True
    else:
        for email, entry in after.items():
            old = before[email]
            if email != guest:
                shared = shared or old != entry
                continue
            rest_old = {k: v for k, v in old.items() if k not in ANSWER_KEYS}
            rest_new = {k: v for k, v in entry.items() if k not in ANSWER_KEYS}
            shared = shared or rest_old != rest_new
            answer = {k: entry.get(k) for k in ANSWER_KEYS if old.get(k) != entry.get(k)}
    return answer, shared, organizer


def _personal(ev):
    """The per-copy fields of ``ev`` (what a guest's copy keeps of its own)."""
    out = {k: _copy(ev[k]) for k in PERSONAL if k in ev}
    private = _props(ev, "private")
    if private:
        out["extendedProperties"] = {"private": _copy(private)}
    return out


def _with_personal(shared_src, personal_src):
    """``shared_src``'s meeting fields with ``personal_src``'s per-copy fields."""
    ev = {k: _copy(v) for k, v in shared_src.items()
          if k not in PERSONAL and k != "extendedProperties"}
    for key in PERSONAL:
        if key in personal_src:
            ev[key] = _copy(personal_src[key])
    props = {}
    if _props(shared_src, "shared"):
        props["shared"] = _copy(_props(shared_src, "shared"))
    if _props(personal_src, "private"):
        props["private"] = _copy(_props(personal_src, "private"))
    if props:
        ev["extendedProperties"] = props
    return ev


def _guest_copy(org_res, guest, base):
    """The copy of the organizer's ``org_res`` for the guest calendar ``guest``; ``base``
    holds the per-copy fields to keep (None: a new copy, with default reminders)."""
    ev = _with_personal(org_res, base or {})
    ev.pop("etag", None)
    ev.pop("updated", None)
    ev.setdefault("reminders", {"useDefault": True})
    for key in ("organizer", "creator"):
        if isinstance(ev.get(key), dict):
            ev[key].pop("self", None)
            if key == "creator" and _email(ev[key]) == guest:
                ev[key]["self"] = True
    for a in ev.get("attendees") or []:
        a.pop("self", None)
        if _email(a) == guest:
            a["self"] = True
    ev["htmlLink"] = _html_link(guest, ev["id"])
    return ev


def _same_resource(a, b):
    skip = ("etag", "updated")
    return {k: v for k, v in a.items() if k not in skip} == \
        {k: v for k, v in b.items() if k not in skip}


# -- event writes ---------------------------------------------------------------------------------
class Events:
    """Event operations bound to a store and notifier."""

    def __init__(self, st, notifier=None):
        self.st = st
        self.notifier = notifier

    def _save(self, cal, res, created=False, copy_of=None, removed=None):
        """Stamp a write: new seq, etag and updated; log the change; notify watchers.
        ``copy_of``: the organizer's calendar when this is a guest's copy of a meeting;
        ``removed``: the guest deleted their copy (it stays cancelled while they decline).
        Both are kept from the previous record when not given."""
        st = self.st
        cid = cal["id"]
        cal["seq"] += 1
        res["etag"] = st.new_etag()
        res["updated"] = now_rfc3339()
        events = st.events.setdefault(cid, {})
        old = events.get(res["id"])
        if old is not None and not created:
            n = old["n"]
        else:
            cal["next_n"] = cal.get("next_n", 0) + 1
            n = cal["next_n"]
        s, e = _times(res, cal["timeZone"])
        rec = {"seq": cal["seq"], "n": n, "res": res, "s": s, "e": e,
               "u": datetime.fromisoformat(res["updated"]).timestamp()}
        if copy_of is None and old is not None:
            copy_of = old.get("copy_of")
        if removed is None and old is not None:
            removed = old.get("removed")
        if copy_of:
            rec["copy_of"] = copy_of
            st.copies.setdefault(f"{copy_of}\n{res['id']}", set()).add(cid)
        if removed:
            rec["removed"] = True
        events[res["id"]] = rec
        if created and old is not None:  # re-created (e.g. moved back): keep dict order sane
            events[res["id"]] = events.pop(res["id"])
        st.log(cid).append(cal["seq"], res["id"])
        series = res.get("recurringEventId")
        if series:
            st.exceptions.setdefault(cid, {}).setdefault(series, set()).add(res["id"])
        st.dirty("event", f"{cid}\n{res['id']}")
        st.dirty("calendar", cid)
        if self.notifier is not None:
            self.notifier.calendar_changed(cid)
        return res

    def _commit(self, cal, res, created=False, personal=None, removing=(), propagate=True,
                **meta):
        """_save, then what Google does around a write: a cancelled series takes its
        exceptions with it, and the organizer's writes reach every guest's copy."""
        was_live = self.st.events.get(cal["id"], {}).get(res["id"])
        was_live = was_live is not None and was_live["res"].get("status") != "cancelled"
        self._save(cal, res, created=created, **meta)
        if res.get("recurrence") and res.get("status") == "cancelled" and was_live:
            self._cancel_exceptions(cal, res["id"])
        if propagate:
            self._propagate(cal, res, personal or {}, removing)
        return res

    def _cancel_exceptions(self, cal, series_id):
        events = self.st.events.get(cal["id"], {})
        for iid in sorted(self.st.exceptions.get(cal["id"], {}).get(series_id, ())):
            rec = events.get(iid)
            if rec is not None and rec["res"].get("status") != "cancelled":
                ev = _copy(rec["res"])
                ev["status"] = "cancelled"
                self._commit(cal, ev)

    def _propagate(self, cal, res, personal=None, removing=()):
        """Bring every guest's copy of the organizer's ``res`` (in ``cal``) up to date: new
        copies for sandbox accounts among the attendees, updated ones keep their per-copy
        fields, a copy whose guest left the list is cancelled. ``personal``: per-copy fields
        being written by a guest now; ``removing``: guests deleting their copy now."""
        st = self.st
        eid = res["id"]
        rec = st.events.get(cal["id"], {}).get(eid)
        if rec is None or rec.get("copy_of") or \
                _email(res.get("organizer")) != cal["id"].lower():
            return
        personal = personal or {}
        known = st.copies.get(f"{cal['id']}\n{eid}", set())
        wanted = {_email(a) for a in res.get("attendees") or []
                  if _email(a) in st.accounts and _email(a) != cal["owner"]}
        for guest in sorted(known | wanted):
            gcal = st.calendars.get(guest)
            if gcal is None:
                continue
            events = st.events.setdefault(guest, {})
            old = events.get(eid)
            if old is not None and old.get("copy_of") != cal["id"]:
                continue  # the guest's own event already holds this id: leave it alone
            if guest not in wanted:
                if old is not None and old["res"].get("status") != "cancelled":
                    gone = _copy(old["res"])
                    gone["status"] = "cancelled"
                    self._commit(gcal, gone, propagate=False)
                continue
            base = personal.get(guest)
            if base is None and old is not None:
                base = old["res"]
            if base is None and res.get("recurringEventId"):  # a new exception: the series'
                master = events.get(res["recurringEventId"])
                base = master["res"] if master and master.get("copy_of") == cal["id"] else None
            new = _guest_copy(res, guest, base)
            answer = _attendee_map(new).get(guest, {}).get("responseStatus")
            gone = guest in removing or bool(old and old.get("removed") and answer == "declined")
            if gone:
                new["status"] = "cancelled"
            if old is not None and bool(old.get("removed")) == gone and \
                    _same_resource(old["res"], new):
                continue
            self._commit(gcal, new, created=old is None, propagate=False, copy_of=cal["id"],
                         removed=gone)

    def _origin(self, cal, eid):
        """The organizer's calendar id when ``eid`` in ``cal`` is (an instance of) a guest's
        copy of a meeting, else None."""
        events = self.st.events.get(cal["id"], {})
        rec = events.get(eid)
        if rec is None:
            parsed = rec_mod.parse_instance_id(eid)
            rec = events.get(parsed[0]) if parsed else None
        return rec.get("copy_of") if rec else None

    def _organizer_side(self, cal, eid):
        """(organizer's calendar, its current resource) for the guest copy ``eid``."""
        org_cal = self.st.calendars.get(self._origin(cal, eid))
        if org_cal is None:
            return None, None
        try:
            return org_cal, self._current(org_cal, eid)
        except ApiError:
            return org_cal, None

    def _new_resource(self, cal, body, actor, imported=False, conference_version=0):
        ev = _copy(body)
        for key in READ_ONLY:
            ev.pop(key, None)
        validate_event(ev, cal["timeZone"])
        normalize_times(ev, cal["timeZone"])
        conference.apply(ev, None, body, conference_version, replace=True)
        eid = ev.get("id")
        if eid is not None:
            if not isinstance(eid, str) or not EVENT_ID_RE.match(eid):
                raise bad_request("Invalid resource id value.", "invalid")
        else:
            eid = random_id(16)
            ev["id"] = eid
        now = now_rfc3339()
        ev.update(kind="calendar#event", created=now,
                  htmlLink=_html_link(cal["id"], eid))
        ev.setdefault("status", "confirmed")
        ev.setdefault("iCalUID", f"{eid}@google.com")
        ev.setdefault("sequence", 0)
        ev.setdefault("reminders", {"useDefault": True})
        ev.setdefault("eventType", "default")
        ev["creator"] = {"email": actor, "self": True} if actor == cal["owner"] else \
            {"email": actor}
        if not ev.get("organizer") or not imported and not ev["organizer"].get("email"):
            ev["organizer"] = {"email": cal["id"], "self": True}
            if not cal.get("primary"):
                ev["organizer"]["displayName"] = cal["summary"]
        self._mark_self(cal, ev)
        return ev

    @staticmethod
    def _mark_self(cal, ev):
        org = ev.get("organizer")
        if isinstance(org, dict) and org.get("email") == cal["id"]:
            org["self"] = True
        for a in ev.get("attendees") or []:
            a.setdefault("responseStatus", "needsAction")
            if a.get("email") == cal["owner"]:
                a["self"] = True

    def insert(self, cal, body, actor, conference_version=0):
        if not isinstance(body, dict):
            raise bad_request("Invalid value for: body", "parseError")
        events = self.st.events.setdefault(cal["id"], {})
        if body.get("id") in events:
            raise ApiError(409, "duplicate", "The requested identifier already exists.")
        ev = self._new_resource(cal, body, actor, conference_version=conference_version)
        return _copy(self._commit(cal, ev, created=True))

    def import_(self, cal, body, actor, conference_version=0):
        """events.import: keyed by iCalUID; importing a known iCalUID updates that event."""
        if not isinstance(body, dict):
            raise bad_request("Invalid value for: body", "parseError")
        uid = body.get("iCalUID")
        if not uid or not isinstance(uid, str):
            raise bad_request("Missing iCalUID.", "required")
        events = self.st.events.setdefault(cal["id"], {})
        existing = next((r for r in events.values() if r["res"].get("iCalUID") == uid
                         and not r["res"].get("recurringEventId")), None)
        if existing is not None:
            body = dict(body, id=existing["res"]["id"])
            return self.update(cal, existing["res"]["id"], body, actor, None, imported=True,
                               conference_version=conference_version)
        if body.get("id") in events:
            raise ApiError(409, "duplicate", "The requested identifier already exists.")
        ev = self._new_resource(cal, body, actor, imported=True,
                                conference_version=conference_version)
        return _copy(self._commit(cal, ev, created=True))

    def _current(self, cal, eid):
        """The stored resource for ``eid``; an instance of a series that has no exception
        record yet is generated (a write to it then stores the exception)."""
        events = self.st.events.get(cal["id"], {})
        rec = events.get(eid)
        if rec is not None:
            return rec["res"]
        parsed = rec_mod.parse_instance_id(eid)
        if parsed is None:
            raise not_found("Not Found")
        series_id, original = parsed
        master = events.get(series_id)
        if master is None or not master["res"].get("recurrence"):
            raise not_found("Not Found")
        inst = self._find_instance(cal, master["res"], eid)
        if inst is None:
            raise not_found("Not Found")
        return inst

    def _find_instance(self, cal, master, eid):
        _, original = rec_mod.parse_instance_id(eid)
        all_day = "date" in master["start"]
        if all_day:
            tmin = original.replace(tzinfo=rec_mod.zone(cal["timeZone"]))
        else:
            tmin = original
        occs, duration, tz = rec_mod.occurrences(master, cal["timeZone"], None,
                                                 tmin + timedelta(seconds=1))
        for occ in occs:
            if rec_mod.instance_id(master["id"], occ, all_day) == eid:
                return rec_mod.make_instance(master, occ, duration, tz)
        return None

    def get(self, cal, eid):
        return _copy(self._current(cal, eid))

    @staticmethod
    def _check_if_match(current, if_match):
        if if_match and if_match.strip() != "*" and if_match.strip() != current["etag"]:
            raise ApiError(412, "conditionNotMet", "Precondition Failed")

    def update(self, cal, eid, body, actor, if_match, imported=False, conference_version=0):
        if not isinstance(body, dict):
            raise bad_request("Invalid value for: body", "parseError")
        current = self._current(cal, eid)
        self._check_if_match(current, if_match)
        guest_copy = self._origin(cal, eid) is not None
        if guest_copy and isinstance(body.get("organizer"), dict) and \
                body["organizer"].get("email") and \
                _email(body["organizer"]) != _email(current.get("organizer")):
            raise forbidden_for_non_organizer()
        ev = _copy(body)
        for key in READ_ONLY + ("id",):
            ev.pop(key, None)
        # Server-owned fields survive a full replace; organizer too unless importing.
        for key in ("kind", "id", "created", "htmlLink", "creator", "iCalUID",
                    "recurringEventId", "originalStartTime"):
            if key in current:
                ev[key] = current[key]
        if not imported or not ev.get("organizer") or guest_copy:
            ev["organizer"] = current.get("organizer")
        ev.setdefault("status", "confirmed")
        ev.setdefault("reminders", {"useDefault": True})
        ev.setdefault("eventType", "default")
        conference.apply(ev, current, body, conference_version, replace=True)
        if guest_copy:
            return self._guest_write(cal, eid, current, ev)
        return self._finish_write(cal, current, ev)

    def patch(self, cal, eid, body, actor, if_match, conference_version=0):
        if not isinstance(body, dict):
            raise bad_request("Invalid value for: body", "parseError")
        current = self._current(cal, eid)
        self._check_if_match(current, if_match)
        ev = _copy(current)
        patch = _copy(body)
        for key in READ_ONLY + ("id", "iCalUID"):
            patch.pop(key, None)
        # As at Google, start/end merge like any object: switching between all-day and timed
        # needs the other field cleared with null, or the event ends up with both (400).
        _merge(ev, patch)
        conference.apply(ev, current, body, conference_version, replace=False)
        if self._origin(cal, eid) is not None:
            return self._guest_write(cal, eid, current, ev)
        return self._finish_write(cal, current, ev)

    def _finish_write(self, cal, current, ev, personal=None, removing=()):
        validate_event(ev, cal["timeZone"])
        normalize_times(ev, cal["timeZone"])
        conference.derive_hangout_link(ev)
        if ev.get("recurringEventId") and ev.get("recurrence"):
            raise bad_request("Invalid value for: recurrence")
        # Google bumps sequence on changes attendees must hear about (time, place, rule).
        changed = any(ev.get(k) != current.get(k) for k in ("recurrence", "location",
                                                            "status")) or \
            any(_when_key(ev.get(k), cal["timeZone"]) != _when_key(current.get(k),
                                                                   cal["timeZone"])
                for k in ("start", "end"))
        base = current.get("sequence", 0)
        sent = ev.get("sequence")
        ev["sequence"] = max(sent if isinstance(sent, int) else base, base + int(changed))
        self._mark_self(cal, ev)
        return _copy(self._commit(cal, ev, personal=personal, removing=removing))

    def _guest_write(self, cal, eid, current, ev):
        """A write by a guest to their copy: their own answer and the per-copy fields, or,
        with guestsCanModify, the meeting too; the meeting's changes go through the
        organizer's event and from there to every copy. Anything else is 403."""
        validate_event(ev, cal["timeZone"])
        normalize_times(ev, cal["timeZone"])
        guest = cal["id"].lower()
        answer, shared, organizer = _guest_changes(current, ev, guest, cal["timeZone"])
        if organizer or (shared and not current.get("guestsCanModify")):
            raise forbidden_for_non_organizer()
        personal = _personal(ev)
        org_cal, org_current = self._organizer_side(cal, eid)
        if (not answer and not shared) or org_current is None:
            self._commit(cal, _with_personal(current, personal),
                         copy_of=self._origin(cal, eid))
            return _copy(self._current(cal, eid))
        if shared:
            org_ev = _with_personal({k: v for k, v in ev.items() if k not in _SERVER_OWNED},
                                    org_current)
            for key in _SERVER_OWNED:
                if key in org_current:
                    org_ev[key] = _copy(org_current[key])
            for a in org_ev.get("attendees") or []:
                a.pop("self", None)
        else:
            org_ev = _copy(org_current)
            for a in org_ev.get("attendees") or []:
                if _email(a) == guest:
                    for key, value in answer.items():
                        if value is None:
                            a.pop(key, None)
                        else:
                            a[key] = value
        self._finish_write(org_cal, org_current, org_ev, personal={guest: personal})
        return _copy(self._current(cal, eid))

    def delete(self, cal, eid, if_match):
        current = self._current(cal, eid)
        self._check_if_match(current, if_match)
        if current.get("status") == "cancelled":
            raise ApiError(410, "deleted", "Resource has been deleted")
        if self._origin(cal, eid) is not None:
            # A guest deleting their copy declines the meeting: the organizer and the other
            # guests see the answer, the guest's copy is cancelled.
            guest = cal["id"].lower()
            org_cal, org_current = self._organizer_side(cal, eid)
            if org_current is not None and org_current.get("status") != "cancelled" and \
                    guest in _attendee_map(org_current):
                org_ev = _copy(org_current)
                for a in org_ev["attendees"]:
                    if _email(a) == guest:
                        a["responseStatus"] = "declined"
                self._finish_write(org_cal, org_current, org_ev, removing={guest})
                if self.st.events[cal["id"]].get(eid, {}).get("res", {}).get("status") == \
                        "cancelled":
                    return
            ev = _copy(current)
            ev["status"] = "cancelled"
            self._commit(cal, ev, copy_of=self._origin(cal, eid), removed=True)
            return
        ev = _copy(current)
        ev["status"] = "cancelled"
        self._commit(cal, ev)

    def move(self, cal, eid, dest, actor):
        current = self._current(cal, eid)
        if self._origin(cal, eid) is not None:
            raise forbidden_for_non_organizer()
        if current.get("status") == "cancelled" or current.get("recurringEventId"):
            raise bad_request("Cannot move this event.", "cannotChangeOrganizer"
                              if current.get("recurringEventId") else "deleted")
        if dest["id"] == cal["id"]:
            return _copy(current)
        existing = self.st.events.get(dest["id"], {}).get(eid)
        if existing is not None and existing["res"].get("status") != "cancelled":
            raise ApiError(409, "duplicate", "The requested identifier already exists.")
        # The guests' copies follow the meeting to its new organizer calendar.
        guests = self.st.copies.pop(f"{cal['id']}\n{eid}", set())
        for guest in guests:
            rec = self.st.events.get(guest, {}).get(eid)
            if rec is not None and rec.get("copy_of") == cal["id"]:
                rec["copy_of"] = dest["id"]
                self.st.dirty("event", f"{guest}\n{eid}")
        if guests:
            self.st.copies.setdefault(f"{dest['id']}\n{eid}", set()).update(guests)
        gone = _copy(current)
        gone["status"] = "cancelled"
        self._commit(cal, gone, propagate=False)
        moved = _copy(current)
        moved["organizer"] = {"email": dest["id"], "self": True}
        moved["htmlLink"] = _html_link(dest["id"], eid)
        return _copy(self._commit(dest, moved, created=True))

    def calendar_deleted(self, cal):
        """The meetings organized from a deleted calendar are cancelled in their guests'
        calendars."""
        for rec in list(self.st.events.get(cal["id"], {}).values()):
            res = rec["res"]
            if res.get("status") != "cancelled":
                gone = _copy(res)
                gone["status"] = "cancelled"
                self._propagate(cal, gone)

    # -- reads -------------------------------------------------------------------------------
    def expand(self, cal, master_res, time_min=None, time_max=None, show_deleted=False,
               single_exceptions=None):
        """Instances of a series within the window, exceptions overlaid."""
        cid = cal["id"]
        events = self.st.events.get(cid, {})
        exc_ids = self.st.exceptions.get(cid, {}).get(master_res["id"], ())
        exceptions = {i: events[i]["res"] for i in exc_ids if i in events}
        occs, duration, tz = rec_mod.occurrences(master_res, cal["timeZone"], time_min,
                                                 time_max)
        all_day = "date" in master_res["start"]
        out = []
        for occ in occs:
            iid = rec_mod.instance_id(master_res["id"], occ, all_day)
            exc = exceptions.pop(iid, None)
            if exc is not None:
                if exc.get("status") != "cancelled" or show_deleted:
                    out.append(exc)
                continue
            inst = rec_mod.make_instance(master_res, occ, duration, tz)
            inst["_start"] = occ.replace(tzinfo=tz).timestamp() if all_day else occ.timestamp()
            out.append(inst)
        return out


def _merge(target, patch):
    """Patch semantics: objects merge recursively, arrays and scalars replace, null clears."""
    for key, value in patch.items():
        if value is None:
            target.pop(key, None)
        elif isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


# -- tokens ------------------------------------------------------------------------------------------
def sync_token(st, cal, seq):
    return "CPgs" + encode_token({"c": cal["id"], "e": st.epoch, "g": cal.get("gen", 0),
                                  "s": seq})


def read_sync_token(st, cal, token):
    data = decode_token(token[4:]) if token.startswith("CPgs") else None
    if (not data or data.get("c") != cal["id"] or data.get("e") != st.epoch or
            data.get("g") != cal.get("gen", 0) or not isinstance(data.get("s"), int)):
        raise ApiError(410, "fullSyncRequired", "Sync token is no longer valid, a full sync "
                       "is required.")
    return data["s"]


def page_token(data):
    return encode_token(data)


def read_page_token(token, expect, need=None):
    """The data of a page token made by page_token; ``expect``: values it must carry,
    ``need``: {key: type} it must hold (a forged or foreign token is a 400, not a crash)."""
    data = decode_token(token)
    if not data or any(data.get(k) != v for k, v in expect.items()) or \
            any(not isinstance(data.get(k), t) or isinstance(data.get(k), bool)
                for k, t in (need or {}).items()) or \
            (isinstance(data.get("o"), int) and data["o"] < 0):
        raise bad_request("Invalid page token.", "invalid", location="pageToken")
    return data


def new_channel_resource_id():
    return secrets.token_urlsafe(20)
