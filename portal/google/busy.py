"""Busy times for the activity form: when the chosen people are busy in Google Calendar on
one day, from one freeBusy query asked with the *viewer's* token.

Why the viewer's token: freeBusy is how Google itself shows a colleague's availability when
you invite them. The portal never acts with one user's grant on another user's behalf; Google
decides what the viewer may see (inside one Workspace domain everyone's free/busy is usually
visible; elsewhere only calendars shared with the viewer). Calendars Google will not show
the viewer answer with an error of their own: shown as "not shared", never guessed.

A page waits for this, so: one request for everyone (never one per person), a short timeout
(``BUSY_TIMES_TIMEOUT``), no retries, and any failure becomes "busy times unavailable"
rather than an error page."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from flask import current_app
from sqlalchemy import select

from portal.core.timezones import local_to_utc, zone
from portal.extensions import db
from portal.google import freebusy
from portal.google import services as google_services
from portal.google.models import STATUS_CONNECTED, GoogleConnection

log = logging.getLogger(__name__)

BUSY = "busy"
NOT_SHARED = "not_shared"
NOT_CONNECTED = "not_connected"
STATE_LABELS = {NOT_SHARED: "not shared", NOT_CONNECTED: "not connected to Google"}
UNAVAILABLE = "Busy times unavailable (Google did not answer in time). The form works as usual."
CONNECT_FIRST = "Connect your Google account to see when people are busy."
NOT_SET_UP = "Google sync is not set up, so busy times cannot be shown."


@dataclass
class PersonBusy:
    user_id: int
    name: str
    state: str
    #: [("09:00", "10:30"), ...] in the viewer's zone, within the day
    blocks: list = field(default_factory=list)

    @property
    def label(self):
        if self.state == BUSY:
            return ", ".join(f"{a}–{b}" for a, b in self.blocks) or "free all day"
        return STATE_LABELS.get(self.state, self.state)


@dataclass
class BusyTimes:
    day: object
    zone_name: str
    people: list = field(default_factory=list)
    #: said instead of (or above) the people: not connected, Google unavailable...
    message: str = ""
    #: False in an installation without Google credentials: the form shows no busy times
    google_set_up: bool = True

    def as_json(self):
        return {"date": self.day.isoformat(), "zone": self.zone_name, "message": self.message,
                "people": [{"id": p.user_id, "name": p.name, "state": p.state,
                            "label": p.label,
                            "busy": [{"start": a, "end": b} for a, b in p.blocks]}
                           for p in self.people]}


def _google_emails(users):
    """{user id: Google account email} of ``users`` connected to Google (one query)."""
    ids = [u.id for u in users]
    if not ids:
        return {}
    rows = db.session.execute(select(GoogleConnection.user_id, GoogleConnection.google_email)
                              .where(GoogleConnection.user_id.in_(ids),
                                     GoogleConnection.status == STATUS_CONNECTED))
    return {user_id: email.lower() for user_id, email in rows if email}


def _blocks(periods, day_start, day_end, tz):
    out = []
    for start, end in sorted(periods):
        start, end = max(start, day_start), min(end, day_end)
        if end <= start:
            continue
        label_end = "24:00" if end >= day_end else end.astimezone(tz).strftime("%H:%M")
        out.append((start.astimezone(tz).strftime("%H:%M"), label_end))
    return out


def busy_times(viewer, users, day, zone_name, timeout=None):
    """:class:`BusyTimes` of ``users`` (CRM users, in order, once each) on ``day`` in
    ``zone_name``, from at most one freeBusy request made with ``viewer``'s connection."""
    users = list({u.id: u for u in users if u is not None}.values())
    result = BusyTimes(day=day, zone_name=zone_name)
    if not google_services.is_configured():
        result.message, result.google_set_up = NOT_SET_UP, False
        return result
    if not users:
        return result
    emails = _google_emails(users)
    if not google_services.connection_usable(viewer):
        result.message = CONNECT_FIRST
        return result
    tz = zone(zone_name)
    day_start = local_to_utc(datetime.combine(day, time()), zone_name)
    day_end = local_to_utc(datetime.combine(day + timedelta(days=1), time()), zone_name)
    answers = {}
    if emails:
        if timeout is None:
            timeout = current_app.config.get("BUSY_TIMES_TIMEOUT", 2)
        try:
            client = google_services.client_for(viewer, timeout=timeout)
            answers = freebusy.query(client, day_start, day_end, list(emails.values()),
                                     time_zone="UTC")
        except Exception as exc:  # noqa: BLE001 - the form must load whatever Google does
            log.warning("freeBusy for user %s failed: %s", viewer.id, exc.__class__.__name__)
            result.message = UNAVAILABLE
            return result
    for user in users:
        email = emails.get(user.id)
        if email is None:
            result.people.append(PersonBusy(user.id, user.name, NOT_CONNECTED))
            continue
        answer = answers.get(email)
        if answer is None or answer.error:
            result.people.append(PersonBusy(user.id, user.name, NOT_SHARED))
            continue
        result.people.append(PersonBusy(user.id, user.name, BUSY,
                                        _blocks(answer.busy, day_start, day_end, tz)))
    return result
