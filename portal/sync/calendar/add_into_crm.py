"""*Add into CRM*: show a mapped Google calendar's events in the CRM calendar when its import
is off, and turn one of them into a CRM activity on request.

Only mappings with a calendar and *Import* off take part (with import on, the sync brings
every event in anyway). Events are fetched live for the visible range and never stored; an
event already linked to an activity (in any of the user's mappings, or through its series or
its iCalUID) is not offered again. Adding one creates a CRM-owned activity of the mapping's
type, organized by the user, and an ``EventLink`` owned by the CRM with no acknowledged
version, so the next export patches the Google event from the CRM (the CRM is master from
then on) instead of inserting a second one.

Google failures never escape as exceptions from :func:`fetch_unlinked_events`: they become
notices for the page (not connected, reconnect needed, rate limit, unreachable...).
"""
import json
import re
from dataclasses import dataclass, field
from datetime import date, datetime

from sqlalchemy import and_, or_, select

from portal.core.types import utcnow
from portal.crm import activities as crm
from portal.crm.models import Activity
from portal.extensions import db
from portal.google import calendar_events as ce
from portal.google import services as google_services
from portal.google.client import (GoogleError, PermanentError, RateLimited, ReauthorizationNeeded,
                                  TransientError, classify_error)
from portal.sync.calendar import crm_writes, engine
from portal.sync.calendar.directory import Directory, emails_of_user, snapshot
from portal.sync.calendar.models import LINK_ACTIVE, OWNER_CRM, EventLink, ExternalAttendee

#: a page waits at most this long for Google (seconds); the CRM calendar must still render
FETCH_TIMEOUT = 10
#: events shown per calendar and range (one events.list page)
MAX_EVENTS = 250
#: Google event ids (instances add ``_20261110T090000Z``); anything else is refused
EVENT_ID_RE = re.compile(r"^[A-Za-z0-9_\-@.]{1,1024}$")


class AddIntoCrmError(Exception):
    """A user-facing reason the event could not be added (nothing was written)."""


@dataclass
class GoogleCalendarEvent:
    """A Google event shown (not stored) in the CRM calendar, shaped like an activity for
    the grid: ``all_day``, ``start_at``/``end_at`` (aware UTC) or ``start_date``/``end_date``
    (inclusive)."""

    mapping_id: int
    calendar_name: str
    event_id: str
    subject: str
    all_day: bool
    start_at: datetime | None = None
    end_at: datetime | None = None
    start_date: date | None = None
    end_date: date | None = None
    location: str = ""
    html_link: str = ""
    recurring: bool = False
    is_google_event: bool = True
    #: what the grid's layout reads on every item (the id breaks ties in a day's order)
    id: None = None
    status: str = "Planned"


@dataclass
class GoogleEventsResult:
    """What the calendar shows from Google: events and notices (problems, in plain words)."""

    events: list = field(default_factory=list)
    notices: list = field(default_factory=list)
    #: mappings that were asked (import off, with a calendar)
    mappings: list = field(default_factory=list)


def add_into_crm_mappings(user):
    """The user's mappings whose events can be offered: a calendar, import off."""
    return [m for m in google_services.user_mappings(user)
            if m.calendar_id and not m.import_enabled]


def _known_event_ids(user, mappings):
    """Event ids, series ids and iCalUIDs the user's links already cover."""
    links = db.session.execute(select(EventLink.mapping_id, EventLink.event_id,
                                      EventLink.ical_uid, EventLink.calendar_id)
                               .where(EventLink.user_id == user.id)).all()
    by_calendar, uids = {}, set()
    calendars = {m.id: m.calendar_id for m in mappings}
    for mapping_id, event_id, ical_uid, calendar_id in links:
        by_calendar.setdefault(calendars.get(mapping_id) or calendar_id, set()).add(event_id)
        if ical_uid:
            uids.add(ical_uid)
    return by_calendar, uids


def _shown(mapping, resource, user_zone):
    fields = engine.activity_fields(resource, user_zone)
    return GoogleCalendarEvent(
        mapping_id=mapping.id, calendar_name=mapping.calendar_summary or mapping.calendar_id,
        event_id=resource["id"], subject=fields["subject"] or "(no title)",
        all_day=fields["all_day"], start_at=fields["start_at"], end_at=fields["end_at"],
        start_date=fields["start_date"], end_date=fields["end_date"],
        location=fields["location"], html_link=resource.get("htmlLink") or "",
        recurring=bool(resource.get("recurringEventId")))


def _notice_for(error, mapping=None):
    where = f" ({mapping.calendar_summary or mapping.calendar_id})" if mapping else ""
    if isinstance(error, ReauthorizationNeeded):
        return "Google no longer accepts the portal's access: reconnect your Google account " \
               "to see its events."
    if isinstance(error, RateLimited):
        return f"Google is busy right now (rate limit){where}; try again in a minute."
    if isinstance(error, TransientError):
        return f"Google could not be reached{where}; its events are not shown. Try again later."
    return f"Google refused to list the calendar's events{where}: {error}."


def fetch_unlinked_events(user, start, end):
    """The events of the user's import-off calendars in [start, end) (aware datetimes) that
    no link covers yet, as :class:`GoogleCalendarEvent` items, plus notices for whatever
    went wrong. Never raises for a Google or connection problem."""
    result = GoogleEventsResult(mappings=add_into_crm_mappings(user))
    if not result.mappings:
        return result
    try:
        client = google_services.client_for(user, timeout=FETCH_TIMEOUT)
    except google_services.NotConnected as exc:
        result.notices.append(f"{exc} Connect it to see your Google events here.")
        return result
    known, known_uids = _known_event_ids(user, result.mappings)
    zone_name = user.time_zone or "UTC"
    for mapping in result.mappings:
        try:
            # One page, no retry loop: a page view must not sit through a backoff.
            response = client.execute(client.calendar.events().list(
                calendarId=mapping.calendar_id, timeMin=start.isoformat(),
                timeMax=end.isoformat(), singleEvents=True, orderBy="startTime",
                maxResults=MAX_EVENTS, showDeleted=False))
        except Exception as exc:  # noqa: BLE001 - classified; the calendar must render
            error = classify_error(exc)
            if isinstance(error, ReauthorizationNeeded):
                google_services.mark_needs_reauth(
                    user, f"Google refused access ({error.reason or error.status}); "
                          "please reconnect.")
                result.notices.append(_notice_for(error))
                return result
            result.notices.append(_notice_for(error, mapping))
            continue
        linked = known.get(mapping.calendar_id, set())
        items = response.get("items", [])
        for resource in items:
            if resource.get("status") == "cancelled" or not resource.get("id"):
                continue
            if resource["id"] in linked or resource.get("recurringEventId") in linked \
                    or (resource.get("iCalUID") and resource["iCalUID"] in known_uids):
                continue
            if engine.EventSnapshot.from_resource(resource).activity_uid is not None:
                continue  # the portal wrote it: it already is a CRM activity
            result.events.append(_shown(mapping, resource, zone_name))
        if response.get("nextPageToken"):
            result.notices.append(f"Only the first {len(items)} Google events of "
                                  f"{mapping.calendar_summary or mapping.calendar_id} "
                                  "are shown; pick a shorter view to see the rest.")
    return result


def add_event_into_crm(user, mapping, event_id):
    """Create a CRM-owned activity from the Google event ``event_id`` of ``mapping``'s
    calendar and link it (the next export patches the event from the CRM). An instance of a
    recurring event adds its whole series. Flushes; the caller commits.

    Raises :class:`AddIntoCrmError` with a message for the user (bad id, import on, already
    in the CRM, gone in Google, Google unreachable...)."""
    if mapping is None or mapping.user_id != user.id or not mapping.calendar_id:
        raise AddIntoCrmError("That calendar is not set up for syncing.")
    if mapping.import_enabled:
        raise AddIntoCrmError("This calendar is imported automatically: its events reach the "
                              "CRM with the next sync.")
    if not isinstance(event_id, str) or not EVENT_ID_RE.match(event_id):
        raise AddIntoCrmError("That is not a Google event id.")
    _refuse_if_linked(mapping, [event_id])
    try:
        client = google_services.client_for(user, timeout=FETCH_TIMEOUT)
    except google_services.NotConnected as exc:
        raise AddIntoCrmError(f"{exc} Connect it first.") from None
    backoff = ce.Backoff(attempts=2, base=0.2, cap=1.0)
    try:
        event = ce.get_event(client.calendar, mapping.calendar_id, event_id, backoff=backoff)
        if event.get("recurringEventId"):
            # An occurrence: the CRM keeps series as one recurring activity.
            event = ce.get_event(client.calendar, mapping.calendar_id,
                                 event["recurringEventId"], backoff=backoff)
    except ReauthorizationNeeded as exc:
        google_services.mark_needs_reauth(
            user, f"Google refused access ({exc.reason or exc.status}); please reconnect.")
        raise AddIntoCrmError(_notice_for(exc)) from None
    except PermanentError as exc:
        if exc.status in (404, 410):
            raise AddIntoCrmError("That event no longer exists in Google Calendar.") from None
        raise AddIntoCrmError(_notice_for(exc, mapping)) from None
    except GoogleError as exc:
        raise AddIntoCrmError(_notice_for(exc, mapping)) from None
    if event.get("status") == "cancelled":
        raise AddIntoCrmError("That event was deleted in Google Calendar.")
    _refuse_if_linked(mapping, [event["id"]], event.get("iCalUID"))

    directory = Directory(owner_id=user.id)
    emails = emails_of_user(user) | {mapping.calendar_id.lower()}
    directory.lookup({a.get("email") for a in event.get("attendees") or ()
                      if isinstance(a, dict)} | {(event.get("organizer") or {}).get("email")}
                     | emails)
    snapshot_mapping = engine.MappingSnapshot(
        id=mapping.id, activity_type_id=mapping.activity_type_id,
        calendar_id=mapping.calendar_id, user_email=user.email, user_id=user.id,
        user_emails=tuple(emails), time_zone=user.time_zone or "UTC")
    fields = engine.activity_fields(event, user.time_zone or "UTC", directory.people(), emails,
                                    f"user:{user.id}")
    participants, invitees, unknown = crm_writes.people_for(fields, directory, user.id)
    participants = [p for p in participants if p.active]
    values = crm_writes.values_for(fields, [g for g in engine.FIELD_GROUPS
                                            if g not in ("attendees", "subject", "status")])
    activity = Activity(origin=engine.ORIGIN_CRM, ical_uid=event.get("iCalUID") or None,
                        google_event_id=event["id"])
    try:
        crm.save_activity(
            activity, actor=user, source=crm.SOURCE_CRM, **values,
            subject=fields["subject"], status=fields["status"],
            activity_type_id=mapping.activity_type_id, organizer=user,
            participants=participants, invitees=invitees, show_in_calendar=True)
    except crm.ActivityError as exc:
        if activity in db.session:  # pulled in through a contact's activities backref
            db.session.expunge(activity)
        raise AddIntoCrmError(f"The event cannot become an activity: {exc}") from None
    crm_writes.set_externals(activity.id, unknown, fields.get("external_organizer"))
    crm_writes.apply_answers(activity, engine.answers_of(fields), skip_users={user.id})
    if fields.get("answer"):
        crm_writes.set_answer(activity.id, user.id, fields["answer"])
    db.session.flush()
    role = engine.role_of(engine.EventSnapshot.from_resource(event), snapshot_mapping)
    # What both sides hold now: the next export sends only what someone changes later, so
    # Google's reminders, colours, attachments... are never rewritten.
    externals = db.session.scalars(select(ExternalAttendee).where(
        ExternalAttendee.activity_id == activity.id)).all()
    answers = {user.id: fields["answer"]} if fields.get("answer") else {}
    base = engine.crm_state(snapshot(activity, externals, answers),
                            user.id if role == engine.ROLE_GUEST else None)
    base["v"] = engine.BASE_VERSION
    state = engine.remembered_state(event)
    state["fields"] = base
    db.session.add(EventLink(
        mapping_id=mapping.id, user_id=user.id, activity_id=activity.id,
        calendar_id=mapping.calendar_id, event_id=event["id"],
        ical_uid=event.get("iCalUID") or "", etag=event.get("etag") or "",
        google_updated_at=engine.parse_rfc3339(event.get("updated")),
        synced_version=activity.version, owner=OWNER_CRM, state=LINK_ACTIVE, role=role,
        html_link=event.get("htmlLink") or "", recurring_event_id="", synced_at=utcnow(),
        event_state=json.dumps(state, ensure_ascii=False)))
    db.session.flush()
    return activity


def _refuse_if_linked(mapping, event_ids, ical_uid=None):
    """Raise when a link of this mapping covers one of ``event_ids`` (a tombstone too: the
    next export deletes that event), or any of the user's links has the same iCalUID."""
    condition = and_(EventLink.mapping_id == mapping.id, EventLink.event_id.in_(event_ids))
    if ical_uid:
        condition = or_(condition, and_(EventLink.ical_uid == ical_uid,
                                        EventLink.activity_id.is_not(None)))
    link = db.session.scalars(select(EventLink).where(EventLink.user_id == mapping.user_id,
                                                      condition)).first()
    if link is not None:
        raise AddIntoCrmError("That event is already in the CRM." if link.activity_id
                              else "That event was deleted in the CRM; the next sync removes "
                                   "it from Google too.")
