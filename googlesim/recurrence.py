"""Recurring series -> instances, using python-dateutil's rrule.

Times recur in the event's own time zone (so 10:00 stays 10:00 across DST). RRULE/EXRULE go
through ``rrulestr``; RDATE/EXDATE are parsed here because their TZID/VALUE=DATE forms need
to match the series' (aware or naive) DTSTART exactly.
"""
import re
from datetime import date, datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from dateutil.rrule import rrulestr, rruleset

from .errors import bad_request

# Series with no COUNT/UNTIL are expanded this far past the later of now and their start.
OPEN_ENDED_HORIZON = timedelta(days=2 * 365)
MAX_INSTANCES = 5000


def zone(name):
    try:
        return ZoneInfo(name) if name else timezone.utc
    except (ZoneInfoNotFoundError, ValueError):
        raise bad_request("Invalid time zone definition for start time.", "timeRangeEmpty")


def parse_rfc3339(value, what="dateTime"):
    """Aware datetime from RFC 3339 (offset or Z required)."""
    if not isinstance(value, str):
        raise bad_request(f"Invalid value for: {what}")
    try:
        dt = datetime.fromisoformat(value.replace("z", "Z"))
    except ValueError:
        raise bad_request(f"Invalid value for: {what}")
    return dt


def parse_date(value, what="date"):
    if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        raise bad_request(f"Invalid value for: {what}")
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise bad_request(f"Invalid value for: {what}")


def start_of(when, cal_tz="UTC"):
    """(aware datetime, is_all_day) for an event's start/end object."""
    if "date" in when:
        d = parse_date(when["date"])
        return datetime.combine(d, time(), zone(when.get("timeZone") or cal_tz)), True
    dt = parse_rfc3339(when["dateTime"])
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=zone(when.get("timeZone") or cal_tz))
    return dt, False


def _fix_until(line, aware, tz):
    """dateutil insists UNTIL is UTC for an aware DTSTART and naive for a naive one."""
    m = re.search(r"UNTIL=(\d{8})(T\d{6})?(Z?)", line)
    if not m:
        return line
    d, t, z = m.group(1), m.group(2), m.group(3)
    if aware and not z:
        local = datetime.strptime(d + (t or "T235959"), "%Y%m%dT%H%M%S").replace(tzinfo=tz)
        new = local.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    elif not aware:
        new = d + (t or "T235959") if not z else d + (t or "T235959")
    else:
        return line
    return line[:m.start()] + "UNTIL=" + new + line[m.end():]


def _parse_dates(line, aware, tz):
    head, _, values = line.partition(":")
    params = dict(p.split("=", 1) for p in head.split(";")[1:] if "=" in p)
    vtz = zone(params["TZID"]) if "TZID" in params else tz
    out = []
    for v in values.split(","):
        v = v.strip()
        if not v:
            continue
        if len(v) == 8:  # VALUE=DATE
            dt = datetime.strptime(v, "%Y%m%d")
            out.append(dt.replace(tzinfo=tz) if aware else dt)
            continue
        dt = datetime.strptime(v.rstrip("Z"), "%Y%m%dT%H%M%S")
        dt = dt.replace(tzinfo=timezone.utc if v.endswith("Z") else vtz)
        out.append(dt if aware else dt.astimezone(tz).replace(tzinfo=None))
    return out


def build_set(lines, dtstart, tz):
    aware = dtstart.tzinfo is not None
    rset = rruleset()
    has_rule = False
    for raw in lines:
        if not isinstance(raw, str):
            raise bad_request("Invalid recurrence rule.")
        line = raw.strip()
        name = line.split(":", 1)[0].split(";", 1)[0].upper()
        try:
            if name in ("RRULE", "EXRULE"):
                # RFC 5545: INTERVAL and COUNT are positive (dateutil loops forever on
                # INTERVAL=0, which would hang the whole sim under its lock).
                for part in ("INTERVAL", "COUNT"):
                    m = re.search(part + r"=([^;]*)", line, re.IGNORECASE)
                    if m and not (m.group(1).isdigit() and int(m.group(1)) >= 1):
                        raise ValueError(part)
                # rrulestr reads "EXRULE:..." as a set that excludes that rule from
                # nothing (an empty set): parse the rule itself and exclude it here.
                body = line.split(":", 1)[1] if ":" in line else line
                rule = rrulestr(_fix_until("RRULE:" + body, aware, tz), dtstart=dtstart)
                (rset.rrule if name == "RRULE" else rset.exrule)(rule)
                has_rule = has_rule or name == "RRULE"
            elif name in ("RDATE", "EXDATE"):
                for dt in _parse_dates(line, aware, tz):
                    (rset.rdate if name == "RDATE" else rset.exdate)(dt)
                has_rule = has_rule or name == "RDATE"
            else:
                raise ValueError(name)
        except (ValueError, TypeError, KeyError):
            raise bad_request("Invalid recurrence rule.")
    if not has_rule:
        raise bad_request("Invalid recurrence rule.")
    return rset


def validate(event, cal_tz):
    occurrences(event, cal_tz, None, None, limit=1)


def occurrences(event, cal_tz, time_min, time_max, limit=MAX_INSTANCES):
    """Start times (aware, in the event's zone; naive midnights for all-day) of a series'
    instances whose [start, end) overlaps (time_min, time_max)."""
    start = event["start"]
    all_day = "date" in start
    if all_day:
        tz = zone(cal_tz)
        dtstart = datetime.combine(parse_date(start["date"]), time())
    else:
        tz = zone(start.get("timeZone") or cal_tz)
        dtstart = parse_rfc3339(start["dateTime"])
        dtstart = dtstart.astimezone(tz) if dtstart.tzinfo else dtstart.replace(tzinfo=tz)
    rset = build_set(event.get("recurrence") or [], dtstart, tz)
    s0, _ = start_of(event["start"], cal_tz)
    e0, _ = start_of(event["end"], cal_tz)
    duration = e0 - s0
    horizon = max(datetime.now(timezone.utc), s0) + OPEN_ENDED_HORIZON
    out = []
    for occ in rset:
        aware = occ.replace(tzinfo=tz) if all_day else occ
        if time_max is not None and aware >= time_max:
            break
        if aware > horizon or len(out) >= limit:
            break
        if time_min is not None and aware + duration <= time_min:
            continue
        out.append(occ)
    return out, duration, tz


def instance_id(series_id, occ, all_day):
    if all_day:
        return f"{series_id}_{occ.strftime('%Y%m%d')}"
    return f"{series_id}_{occ.astimezone(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}"


def parse_instance_id(iid):
    """(series id, original start) for an instance id, or None."""
    m = re.fullmatch(r"([a-v0-9]{5,1024})_(\d{8})(T\d{6}Z)?", iid)
    if not m:
        return None
    if m.group(3):
        dt = datetime.strptime(m.group(2) + m.group(3), "%Y%m%dT%H%M%SZ")
        return m.group(1), dt.replace(tzinfo=timezone.utc)
    return m.group(1), datetime.strptime(m.group(2), "%Y%m%d")


def when_for(occ, all_day, tz_name):
    if all_day:
        return {"date": occ.strftime("%Y-%m-%d")}
    out = {"dateTime": occ.isoformat()}
    if tz_name:
        out["timeZone"] = tz_name
    return out


def make_instance(master, occ, duration, tz):
    """The instance resource of ``master`` starting at ``occ``."""
    all_day = "date" in master["start"]
    tz_name = master["start"].get("timeZone")
    inst = {k: v for k, v in master.items() if k != "recurrence"}
    inst["id"] = instance_id(master["id"], occ, all_day)
    inst["recurringEventId"] = master["id"]
    inst["originalStartTime"] = when_for(occ, all_day, tz_name)
    inst["start"] = when_for(occ, all_day, tz_name)
    end_tz = master["end"].get("timeZone")
    inst["end"] = when_for(occ + duration, all_day, end_tz)
    return inst
