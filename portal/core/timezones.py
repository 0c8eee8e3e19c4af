"""Time-zone helpers: stored values are UTC; users see their own IANA zone."""
from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


@lru_cache(maxsize=1)
def all_zone_names():
    """Sorted IANA zone names for pickers (tzdata ships them, so this works offline)."""
    return sorted(z for z in available_timezones() if "/" in z or z == "UTC")


#: longer than any IANA name; ZoneInfo would look the text up as a file path
MAX_ZONE_NAME = 64


def is_valid_zone(name):
    if not name or not isinstance(name, str) or len(name) > MAX_ZONE_NAME:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        return False
    return True


def zone(name):
    """The ZoneInfo for ``name``, UTC when it is empty or unknown."""
    if not is_valid_zone(name):
        return ZoneInfo("UTC")
    return ZoneInfo(name)


def to_local(value, zone_name):
    """An aware datetime shown in ``zone_name``."""
    if value is None:
        return None
    return value.astimezone(zone(zone_name))


def local_to_utc(naive_local, zone_name):
    """A naive wall-clock time typed by a user in ``zone_name``, as aware UTC."""
    return naive_local.replace(tzinfo=zone(zone_name)).astimezone(timezone.utc)


def local_now(zone_name):
    return datetime.now(timezone.utc).astimezone(zone(zone_name))
