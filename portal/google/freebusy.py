"""Google's freeBusy query through a :class:`GoogleClient`: no Flask, no models.

One request answers for every calendar asked about. Google answers each calendar on its
own: busy periods, or ``errors`` (``notFound`` when the asker may not see that calendar's
free/busy, e.g. someone outside their Workspace domain who never shared it); a whole-request
failure is a classified :class:`GoogleError` like any other call."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from portal.google.client import PermanentError

#: Google's limit on calendars in one query
MAX_CALENDARS = 50


@dataclass
class CalendarBusy:
    """One calendar's answer: ``busy`` [(start, end)] aware datetimes, or ``error`` (Google's
    reason, e.g. ``notFound``) when Google would not say."""

    busy: list = field(default_factory=list)
    error: str | None = None


def _instant(value):
    return datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))


def query(client, time_min, time_max, calendar_ids, time_zone="UTC"):
    """{calendar id: :class:`CalendarBusy`} between two aware datetimes, in one request.

    Raises the classified :class:`GoogleError` of a failed request (a timeout is a
    ``TransientError``); never retries (the caller is a page someone waits for)."""
    ids = list(dict.fromkeys(calendar_ids))[:MAX_CALENDARS]
    if not ids:
        return {}
    body = {"timeMin": time_min.isoformat(), "timeMax": time_max.isoformat(),
            "timeZone": time_zone, "items": [{"id": cid} for cid in ids]}
    response = client.execute(client.calendar.freebusy().query(body=body))
    calendars = response.get("calendars") if isinstance(response, dict) else None
    if not isinstance(calendars, dict):
        raise PermanentError("freeBusy answered without calendars")
    out = {}
    for cid in ids:
        entry = calendars.get(cid) or calendars.get(cid.lower()) or {}
        errors = entry.get("errors") or []
        if errors:
            first = errors[0] if isinstance(errors[0], dict) else {}
            out[cid] = CalendarBusy(error=str(first.get("reason") or "error"))
            continue
        busy = []
        for period in entry.get("busy") or ():
            try:
                busy.append((_instant(period["start"]), _instant(period["end"])))
            except (KeyError, TypeError, ValueError, AttributeError):
                continue  # one malformed period never hides the others
        out[cid] = CalendarBusy(busy=busy)
    return out
