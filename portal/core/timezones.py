"""Time-zone helpers: stored values are UTC; users see their own IANA zone."""
from datetime import datetime, timezone
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones


@lru_cache(maxsize=1)
def all_zone_names():
    """Sorted IANA zone names for pickers (tzdata ships them, so this works offline)."""
    return sorted(z for z in available_timezones() if "/" in z or z == "UTC")


def is_valid_zone(name):
    if not name:
        return False
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


def zone(name):
    """The ZoneInfo for ``name``, UTC when it is empty or unknown."""
    try:
        return ZoneInfo(name or "UTC")
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


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
