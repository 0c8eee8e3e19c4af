"""The "Repeat" choices of the activity form as RFC 5545 lines, and back: pure, no Flask.

The form expresses one RRULE: a frequency, an interval, for weekly series the weekdays, and an
end (never, after N occurrences, or on a date). :func:`parse_rrule` turns a stored recurrence
text into those choices, or None when the text says more than the form can show (BYSETPOS,
BYMONTHDAY lists, several RRULEs, RDATEs...); such rules are kept as they are unless the person
picks a new one. :func:`recurrence_text` decides what is saved:

* an expressible rule the person did not change is kept verbatim (Google's spelling, WKST and
  all), so an untouched save never rewrites it;
* a new or changed rule is built by :func:`build_rrule` and the activity's EXDATE lines are
  kept with it: each still cancels the one occurrence it names (an EXDATE that is no longer an
  occurrence of the new rule matches nothing), and the sync relies on the EXDATEs that mirror
  Google's moved or cancelled instances;
* "Does not repeat" drops the whole recurrence, EXDATEs included.
"""
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from portal.core.timezones import zone as zone_of

NO_REPEAT = ""
FREQUENCIES = ("DAILY", "WEEKLY", "MONTHLY", "YEARLY")
#: RFC 5545 weekday codes in Python's weekday() order (Monday first)
WEEKDAYS = ("MO", "TU", "WE", "TH", "FR", "SA", "SU")
WEEKDAY_LABELS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
ENDS_NEVER, ENDS_COUNT, ENDS_UNTIL = "never", "count", "until"
ENDS = (ENDS_NEVER, ENDS_COUNT, ENDS_UNTIL)
MAX_INTERVAL = 99
MAX_COUNT = 730


@dataclass(frozen=True)
class RepeatChoice:
    """What the Repeat section shows. ``freq`` is :data:`NO_REPEAT` or one of
    :data:`FREQUENCIES`; ``weekdays`` (weekly only) are codes in :data:`WEEKDAYS` order;
    ``until`` is the last local date an occurrence may start on."""

    freq: str = NO_REPEAT
    interval: int = 1
    weekdays: tuple = ()
    ends: str = ENDS_NEVER
    count: int | None = None
    until: date | None = None

    @property
    def repeats(self):
        return self.freq != NO_REPEAT


def weekday_code(day):
    """The RFC 5545 code of ``day``'s weekday (``MO`` for a Monday)."""
    return WEEKDAYS[day.weekday()]


def _lines(text):
    if not text:
        return []
    return [line.strip() for line in str(text).replace("\r", "\n").split("\n") if line.strip()]


def _name(line):
    return line.partition(":")[0].split(";")[0].strip().upper()


def _parts(value):
    parts = {}
    for item in value.split(";"):
        key, _, val = item.partition("=")
        if key.strip():
            parts[key.strip().upper()] = val.strip().upper()
    return parts


def _until_date(value, zone_name):
    """An UNTIL value as the local date (in ``zone_name``) it ends on; None if malformed."""
    try:
        if len(value) == 8:
            return date(int(value[:4]), int(value[4:6]), int(value[6:8]))
        naive = datetime.strptime(value[:15], "%Y%m%dT%H%M%S")
    except (ValueError, IndexError):
        return None
    if value.endswith("Z"):
        return naive.replace(tzinfo=timezone.utc).astimezone(zone_of(zone_name)).date()
    return naive.date()  # floating: already local


def build_rrule(choice, *, all_day, zone_name):
    """The RRULE line for ``choice`` (which must repeat), e.g.
    ``RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=MO,WE;COUNT=10``.

    UNTIL is a date for all-day series, else the end of that local day in ``zone_name``
    (the zone the series repeats in) written in UTC, as RFC 5545 asks for a zoned start.
    """
    if choice.freq not in FREQUENCIES:
        raise ValueError(f"not a frequency the form offers: {choice.freq!r}")
    parts = [f"FREQ={choice.freq}"]
    if choice.interval != 1:
        parts.append(f"INTERVAL={choice.interval}")
    if choice.freq == "WEEKLY" and choice.weekdays:
        parts.append("BYDAY=" + ",".join(d for d in WEEKDAYS if d in choice.weekdays))
    if choice.ends == ENDS_COUNT:
        parts.append(f"COUNT={choice.count}")
    elif choice.ends == ENDS_UNTIL:
        if all_day:
            parts.append(f"UNTIL={choice.until:%Y%m%d}")
        else:
            last = datetime.combine(choice.until, time(23, 59, 59), tzinfo=zone_of(zone_name))
            parts.append("UNTIL=" + last.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ"))
    return "RRULE:" + ";".join(parts)


def parse_rrule(text, *, zone_name="UTC", start_weekday=None):
    """The form's choices for a recurrence text, or None when the form cannot express it.

    ``""`` (or only EXDATEs) gives a choice that does not repeat. A weekly rule without
    BYDAY repeats on the start's weekday, so it reads as ``start_weekday`` (a code) when
    given. ``zone_name`` is the zone the series repeats in (to read a UTC UNTIL as a date).
    """
    lines = _lines(text)
    names = [_name(line) for line in lines]
    if any(n not in ("RRULE", "EXDATE") for n in names):
        return None  # RDATE, EXRULE or something unknown
    rules = [line for line in lines if _name(line) == "RRULE"]
    if not rules:
        return RepeatChoice()
    if len(rules) > 1:
        return None
    parts = _parts(rules[0].partition(":")[2])
    freq = parts.pop("FREQ", "")
    if freq not in FREQUENCIES:
        return None
    try:
        interval = int(parts.pop("INTERVAL", "1"))
    except ValueError:
        return None
    if not 1 <= interval <= MAX_INTERVAL:
        return None
    weekdays = ()
    byday = parts.pop("BYDAY", None)
    if byday is not None:
        codes = [d.strip() for d in byday.split(",") if d.strip()]
        if freq != "WEEKLY" or not codes or any(c not in WEEKDAYS for c in codes):
            return None  # ordinals (2MO, -1FR) or monthly/yearly weekdays
        weekdays = tuple(d for d in WEEKDAYS if d in codes)
    elif freq == "WEEKLY" and start_weekday:
        weekdays = (start_weekday,)
    wkst = parts.pop("WKST", "MO")
    if wkst != "MO" and freq == "WEEKLY" and interval > 1 and len(weekdays) > 1:
        return None  # the week start changes which days an "every 2 weeks" rule picks
    ends, count, until = ENDS_NEVER, None, None
    if "COUNT" in parts and "UNTIL" in parts:
        return None
    if "COUNT" in parts:
        try:
            count = int(parts.pop("COUNT"))
        except ValueError:
            return None
        if not 1 <= count <= MAX_COUNT:
            return None
        ends = ENDS_COUNT
    elif "UNTIL" in parts:
        until = _until_date(parts.pop("UNTIL"), zone_name)
        if until is None:
            return None
        ends = ENDS_UNTIL
    if parts:
        return None  # BYMONTHDAY, BYSETPOS, BYMONTH, BYHOUR...
    return RepeatChoice(freq=freq, interval=interval, weekdays=weekdays, ends=ends,
                        count=count, until=until)


def recurrence_text(choice, current="", *, all_day, zone_name, start_weekday=None):
    """The recurrence text to save for ``choice`` given the ``current`` one.

    ``choice`` None means "keep the current rule": ``current`` is returned unchanged. See the
    module docstring for what happens to EXDATEs.
    """
    current = current or ""
    if choice is None:
        return current
    lines = _lines(current)
    if not choice.repeats:
        repeating = any(_name(line) in ("RRULE", "RDATE") for line in lines)
        return "" if repeating else current
    if parse_rrule(current, zone_name=zone_name, start_weekday=start_weekday) == choice:
        return current
    exdates = [line for line in lines if _name(line) == "EXDATE"]
    return "\n".join([build_rrule(choice, all_day=all_day, zone_name=zone_name), *exdates])


def shift_exdates(text, old_start, new_start, *, all_day, zone_name):
    """``text`` with every EXDATE moved as far as the series' first occurrence moved, so an
    occurrence taken out of the series stays out when the series moves (10:00 -> 11:00).

    ``old_start``/``new_start``: aware datetimes (timed series, compared as wall-clock
    times in ``zone_name``, the series' zone) or dates (all-day series). Values keep their
    form: a TZID local time, a UTC time with Z, a floating time or a date."""
    lines = _lines(text)
    if not lines or old_start is None or new_start is None:
        return text or ""
    if all_day:
        delta = _as_date(new_start) - _as_date(old_start)
    else:
        zone = zone_of(zone_name)
        delta = (new_start.astimezone(zone).replace(tzinfo=None)
                 - old_start.astimezone(zone).replace(tzinfo=None))
    if not delta:
        return text
    out = []
    for line in lines:
        if _name(line) != "EXDATE":
            out.append(line)
            continue
        head, _, value = line.partition(":")
        params = {k.upper(): v for k, _, v in (p.partition("=") for p in head.split(";")[1:])}
        moved = [_shift_value(v.strip(), delta, params, zone_name) for v in value.split(",")]
        out.append(head + ":" + ",".join(moved))
    return "\n".join(out)


def _as_date(value):
    return value.date() if isinstance(value, datetime) else value


def _shift_value(value, delta, params, zone_name):
    """One EXDATE value moved by ``delta`` of the series' wall clock."""
    try:
        if params.get("VALUE") == "DATE" or len(value) == 8:
            day = date(int(value[:4]), int(value[4:6]), int(value[6:8]))
            return (day + timedelta(days=delta.days)).strftime("%Y%m%d")
        naive = datetime.strptime(value[:15], "%Y%m%dT%H%M%S")
    except (ValueError, IndexError):
        return value
    if value.endswith("Z"):
        # A UTC value names an instant: move its wall-clock time in the series' zone.
        zone = zone_of(params.get("TZID") or zone_name)
        local = naive.replace(tzinfo=timezone.utc).astimezone(zone).replace(tzinfo=None)
        moved = (local + delta).replace(tzinfo=zone).astimezone(timezone.utc)
        return moved.strftime("%Y%m%dT%H%M%SZ")
    return (naive + delta).strftime("%Y%m%dT%H%M%S")
