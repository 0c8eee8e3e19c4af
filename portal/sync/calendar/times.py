"""Google's times in Python: RFC 3339 timestamps, event start/end objects, zone names."""
from datetime import datetime, timezone
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


def zone_or_utc(name):
    """The zone called ``name``; UTC for none or a name this machine does not know."""
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
        parsed = parsed.replace(tzinfo=zone_or_utc(default_zone))
    return parsed.astimezone(timezone.utc)


def event_time(when, default_zone):
    """An event's ``start``/``end``/``originalStartTime`` dateTime as aware UTC: its own
    offset, else its ``timeZone``, else ``default_zone`` (the calendar's)."""
    when = when or {}
    return parse_rfc3339(when.get("dateTime"), when.get("timeZone") or default_zone)


def rfc3339(value):
    """An aware datetime as RFC 3339 with its own offset."""
    return value.isoformat()
