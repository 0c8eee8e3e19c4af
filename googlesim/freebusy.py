"""freeBusy.query: when calendars are busy, computed from their events.

A calendar's busy time is the union of its opaque, non-cancelled events (recurring series
expanded with their exceptions), leaving out events its owner declined; periods are
clipped to the query window, merged where they touch, and answered in the requested
``timeZone`` (default UTC). The caller may ask about their own calendars and any sandbox
account's primary calendar (the sandbox is one Workspace domain whose members share
free/busy); anything else answers ``notFound`` for that item.
"""
from datetime import datetime, timezone

from . import recurrence as rec_mod
from .errors import bad_request

MAX_CALENDARS = 50


def _when(value, name):
    if not isinstance(value, str) or not value:
        raise bad_request(f"Missing {name}.", "required", location=name)
    try:
        dt = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        dt = None
    if dt is None or dt.tzinfo is None:
        raise bad_request(f"Invalid value for: {name}", "invalid", location=name)
    return dt


def _utc(dt):
    return dt.astimezone(timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.") + \
        f"{dt.microsecond // 1000:03d}Z"


def _stamp(ts, tz):
    dt = datetime.fromtimestamp(ts, timezone.utc)
    if tz is timezone.utc:
        return dt.strftime("%Y-%m-%dT%H:%M:%SZ")
    return dt.astimezone(tz).isoformat()


def _declined_by_owner(res, owner):
    return any(isinstance(a, dict) and str(a.get("email", "")).lower() == owner and
               a.get("responseStatus") == "declined" for a in res.get("attendees") or [])


def _counts(res, owner):
    return res.get("status") != "cancelled" and res.get("transparency") != "transparent" \
        and not _declined_by_owner(res, owner)


def _span(res, cal_tz):
    start, _ = rec_mod.start_of(res["start"], cal_tz)
    end, _ = rec_mod.start_of(res["end"], cal_tz)
    return start.timestamp(), end.timestamp()


def busy_periods(st, ops, cal, tmin, tmax):
    """Merged (start ts, end ts) busy periods of ``cal`` within [tmin, tmax)."""
    lo, hi = tmin.timestamp(), tmax.timestamp()
    owner = cal["owner"]
    events = st.events.get(cal["id"], {})
    spans = []
    for rec in events.values():
        res = rec["res"]
        if res.get("status") == "cancelled" or rec["e"] <= lo or rec["s"] >= hi:
            continue
        if res.get("recurringEventId") and res["recurringEventId"] in events and \
                events[res["recurringEventId"]]["res"].get("recurrence"):
            continue  # an exception: overlaid on its series' expansion below
        if res.get("recurrence"):
            for inst in ops.expand(cal, res, tmin, tmax):
                if _counts(inst, owner):
                    spans.append(_span(inst, cal["timeZone"]))
        elif _counts(res, owner):
            spans.append(_span(res, cal["timeZone"]))
    merged = []
    for start, end in sorted((max(s, lo), min(e, hi)) for s, e in spans):
        if end <= start:
            continue
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged


def query(st, ops, email, body):
    tmin, tmax = _when(body.get("timeMin"), "timeMin"), _when(body.get("timeMax"), "timeMax")
    if tmax <= tmin:
        raise bad_request("The specified time range is empty.", "timeRangeEmpty",
                          location="timeMax")
    tz_name = body.get("timeZone") or "UTC"
    if not isinstance(tz_name, str):
        raise bad_request("Invalid value for: timeZone", "invalid", location="timeZone")
    tz = timezone.utc if tz_name == "UTC" else rec_mod.zone(tz_name)
    items = body.get("items") or []
    if not isinstance(items, list) or not all(isinstance(i, dict) and isinstance(
            i.get("id"), str) for i in items):
        raise bad_request("Invalid value for: items", "invalid")
    out = {}
    for item in items:
        if len(items) > MAX_CALENDARS:
            out[item["id"]] = {"errors": [{"domain": "global",
                                           "reason": "tooManyCalendarsRequested"}],
                               "busy": []}
            continue
        cid = email if item["id"] == "primary" else item["id"]
        cal = st.calendars.get(cid) or st.calendars.get(cid.lower())
        if cal is None or not (cal["owner"] == email or
                               (cal.get("primary") and cal["owner"] in st.accounts)):
            out[item["id"]] = {"errors": [{"domain": "global", "reason": "notFound"}],
                               "busy": []}
            continue
        out[item["id"]] = {"busy": [{"start": _stamp(s, tz), "end": _stamp(e, tz)}
                                    for s, e in busy_periods(st, ops, cal, tmin, tmax)]}
    return {"kind": "calendar#freeBusy", "timeMin": _utc(tmin), "timeMax": _utc(tmax),
            "calendars": out}
