"""Calendar grids in the viewer's time zone: pure helpers, no Flask and no database.

Everything here takes plain values (dates, aware datetimes, zone names and objects that look
like activities) so the month/week/day layout can be tested without an app.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta, timezone

from dateutil.rrule import rruleset, rrulestr

from portal.core.timezones import local_to_utc, to_local
from portal.core.timezones import zone as zone_of

VIEWS = ("month", "week", "day")
DEFAULT_VIEW = "week"
#: hours always shown in the week and day grids; widened when an activity starts outside
DEFAULT_FIRST_HOUR = 7
DEFAULT_LAST_HOUR = 19
_TICK = timedelta(microseconds=1)
#: entries a month cell draws before its "+N more" link
MONTH_CELL_LIMIT = 3


def parse_view(value):
    """A known view name, or the default for anything else."""
    return value if value in VIEWS else DEFAULT_VIEW


def parse_day(value, default):
    """``YYYY-MM-DD`` as a date; ``default`` for missing or malformed input (never raises)."""
    if not value or not isinstance(value, str):
        return default
    try:
        parsed = date.fromisoformat(value.strip()[:10])
    except ValueError:
        return default
    # Keep far-away years out: date arithmetic near date.min/max would overflow.
    if not 1900 <= parsed.year <= 2999:
        return default
    return parsed


def week_start(day):
    """The Monday on or before ``day`` (weeks start on Monday, ISO style)."""
    return day - timedelta(days=day.weekday())


def days_between(first, last):
    """Every date from ``first`` to ``last``, both inclusive."""
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def month_bounds(anchor):
    """First and last day of ``anchor``'s month."""
    first = anchor.replace(day=1)
    next_month = (first + timedelta(days=32)).replace(day=1)
    return first, next_month - timedelta(days=1)


def month_weeks(anchor):
    """The month grid: whole Monday-to-Sunday weeks covering ``anchor``'s month."""
    first, last = month_bounds(anchor)
    start = week_start(first)
    end = week_start(last) + timedelta(days=6)
    days = days_between(start, end)
    return [days[i:i + 7] for i in range(0, len(days), 7)]


def visible_days(view, anchor):
    """The dates a view shows around ``anchor``."""
    view = parse_view(view)
    if view == "month":
        return [d for week in month_weeks(anchor) for d in week]
    if view == "week":
        start = week_start(anchor)
        return days_between(start, start + timedelta(days=6))
    return [anchor]


def shift(view, anchor, steps):
    """The anchor ``steps`` views away (negative goes back): months, weeks or days."""
    view = parse_view(view)
    if view == "month":
        month_index = anchor.year * 12 + anchor.month - 1 + steps
        return date(month_index // 12, month_index % 12 + 1, 1)
    if view == "week":
        return week_start(anchor) + timedelta(days=7 * steps)
    return anchor + timedelta(days=steps)


def title_for(view, anchor):
    """The heading of a view, e.g. ``November 2026`` or ``23 – 29 Nov 2026``."""
    view = parse_view(view)
    if view == "month":
        return anchor.strftime("%B %Y")
    if view == "week":
        first = week_start(anchor)
        last = first + timedelta(days=6)
        if first.month == last.month:
            return f"{first.day} – {last.day} {last.strftime('%b %Y')}"
        if first.year == last.year:
            return f"{first.day} {first.strftime('%b')} – {last.day} {last.strftime('%b %Y')}"
        return f"{first.day} {first.strftime('%b %Y')} – {last.day} {last.strftime('%b %Y')}"
    return anchor.strftime("%A %d %B %Y")


def utc_range(first_day, last_day, zone_name):
    """UTC instants from local midnight starting ``first_day`` to the one after ``last_day``.

    Computed from local midnights, so a week with a DST change is 167 or 169 hours long.
    """
    start = local_to_utc(datetime.combine(first_day, time.min), zone_name)
    end = local_to_utc(datetime.combine(last_day + timedelta(days=1), time.min), zone_name)
    return start, end


def local_dates_of_range(start_utc, end_utc, zone_name):
    """The first and last local date touched by the half-open UTC range [start, end)."""
    first = to_local(start_utc, zone_name).date()
    last = to_local(max(end_utc - _TICK, start_utc), zone_name).date()
    return first, last


@dataclass(slots=True)
class CalendarEntry:
    """One activity as it shows on one day of the grid (slots: a month makes a thousand)."""

    activity: object
    day: date
    #: local start and end (timed activities only)
    start: datetime | None = None
    end: datetime | None = None
    #: began on an earlier day / goes on after this day
    continued: bool = False
    continues: bool = False

    @property
    def all_day(self):
        return bool(self.activity.all_day)

    @property
    def in_all_day_row(self):
        """All-day items and the later days of a timed activity spanning midnight."""
        return self.all_day or self.continued

    @property
    def hour(self):
        """The grid row of a timed entry starting on this day."""
        return None if self.in_all_day_row else self.start.hour

    @property
    def time_label(self):
        if self.all_day:
            return "All day"
        if self.continued and self.continues:
            return "All day (continues)"
        if self.continued:
            return f"until {self.end:%H:%M}"
        if self.continues:
            return f"{self.start:%H:%M} →"
        if self.start == self.end:
            return f"{self.start:%H:%M}"
        return f"{self.start:%H:%M}–{self.end:%H:%M}"


@dataclass
class DayCell:
    day: date
    today: bool = False
    in_month: bool = True
    all_day: list = field(default_factory=list)
    timed: list = field(default_factory=list)

    @property
    def entries(self):
        """All-day row first, then timed entries by start."""
        return self.all_day + self.timed

    @property
    def count(self):
        return len(self.all_day) + len(self.timed)

    def first(self, limit):
        """The first ``limit`` entries (all of them for None): what a month cell draws."""
        if limit is None:
            return self.entries
        return (self.all_day[:limit] + self.timed[:max(0, limit - len(self.all_day))])

    def timed_at(self, hour):
        return [e for e in self.timed if e.hour == hour]


def _sort_key(activity):
    return ((activity.subject or "").lower(), getattr(activity, "id", 0) or 0)


def entries_by_day(activities, days, zone_name):
    """``{day: [CalendarEntry, ...]}`` for every shown day an activity touches.

    All-day activities cover their first to last date inclusive. Timed ones are shown in
    ``zone_name`` on every local day they overlap; one ending exactly at midnight does not
    spill onto the next day, and a zero-length one sits on its start day.
    """
    result = {d: [] for d in days}
    if not days:
        return result
    first_shown, last_shown = min(days), max(days)
    # The zone is resolved once: a month holds hundreds of activities.
    local_zone = zone_of(zone_name)
    for activity in activities:
        if activity.all_day:
            if activity.start_date is None:
                continue
            last = activity.end_date or activity.start_date
            if last < activity.start_date:
                last = activity.start_date
            span_first, span_last = max(activity.start_date, first_shown), min(last, last_shown)
            for day in _span(span_first, span_last):
                if day in result:
                    result[day].append(CalendarEntry(activity, day))
            continue
        if activity.start_at is None:
            continue
        start = activity.start_at.astimezone(local_zone)
        end = (activity.end_at or activity.start_at).astimezone(local_zone)
        if end < start:
            end = start
        first_day = start.date()
        last_day = max(first_day, (end - _TICK).date()) if end > start else first_day
        if first_day == last_day:  # most activities: one entry, no span to walk
            if first_day in result:
                result[first_day].append(CalendarEntry(activity, first_day, start, end))
            continue
        span_first, span_last = max(first_day, first_shown), min(last_day, last_shown)
        for day in _span(span_first, span_last):
            if day in result:
                result[day].append(CalendarEntry(activity, day, start=start, end=end,
                                                 continued=day > first_day,
                                                 continues=day < last_day))
    return result


def _span(first, last):
    return days_between(first, last) if first <= last else ()


def build_cells(activities, days, zone_name, today=None, month=None):
    """A :class:`DayCell` per shown day, entries split into the all-day row and timed ones."""
    by_day = entries_by_day(activities, days, zone_name)
    cells = []
    for day in days:
        cell = DayCell(day=day, today=day == today,
                       in_month=month is None or (day.year, day.month) == month)
        for entry in by_day[day]:
            (cell.all_day if entry.in_all_day_row else cell.timed).append(entry)
        cell.all_day.sort(key=_all_day_row_order)
        cell.timed.sort(key=_timed_order)
        cells.append(cell)
    return cells


def _all_day_row_order(entry):
    return (not entry.activity.all_day, _sort_key(entry.activity))


def _timed_order(entry):
    return (entry.start, entry.end, _sort_key(entry.activity))


def hour_rows(cells, first=DEFAULT_FIRST_HOUR, last=DEFAULT_LAST_HOUR):
    """Hours shown in a time grid: working hours, widened to every timed start."""
    hours = [e.hour for c in cells for e in c.timed]
    if hours:
        first, last = min(first, min(hours)), max(last, max(hours))
    return list(range(first, last + 1))


@dataclass
class CalendarPage:
    """Everything a calendar template needs for one view."""

    view: str
    anchor: date
    today: date
    days: list
    cells: list
    hours: list = field(default_factory=list)
    title: str = ""

    @property
    def weeks(self):
        return [self.cells[i:i + 7] for i in range(0, len(self.cells), 7)]

    @property
    def cell_limit(self):
        """How many entries a day cell draws: a month cell its first few and a "+N more"
        link to the day; the week and day views draw all (None)."""
        return MONTH_CELL_LIMIT if self.view == "month" else None

    def drawn_activities(self):
        """The activities (a series once for all its occurrences) the page draws, in order:
        the ones worth annotating for display."""
        drawn = {}
        for cell in self.cells:
            for entry in cell.first(self.cell_limit):
                activity = getattr(entry.activity, "series", entry.activity)
                drawn.setdefault(id(activity), activity)
        return list(drawn.values())

    @property
    def prev_anchor(self):
        return shift(self.view, self.anchor, -1)

    @property
    def next_anchor(self):
        return shift(self.view, self.anchor, 1)


def build_page(view, anchor, activities, zone_name, today):
    """Lay ``activities`` out for ``view`` around ``anchor`` in ``zone_name``."""
    view = parse_view(view)
    days = visible_days(view, anchor)
    month = (anchor.year, anchor.month) if view == "month" else None
    cells = build_cells(activities, days, zone_name, today=today, month=month)
    hours = hour_rows(cells) if view != "month" else []
    return CalendarPage(view=view, anchor=anchor, today=today, days=days, cells=cells,
                        hours=hours, title=title_for(view, anchor))


# -- recurring activities -----------------------------------------------------------------------
#
# ``Activity.recurrence`` holds RFC 5545 lines as Google sends them (RRULE, EXDATE, RDATE,
# EXRULE; no DTSTART: the activity's own start is the first occurrence). Series repeat in the
# activity's zone (``Activity.time_zone``), so "every Monday 10:00 Berlin" stays at 10:00 local
# time across a DST change while its UTC instant moves by an hour.

#: at most this many occurrences of one series are shown in one visible range
MAX_OCCURRENCES = 500
#: and at most this many rule steps are walked to find them (a minutely rule from years ago
#: must not hang a page)
MAX_RULE_STEPS = 20_000

_WEEKDAYS = {"MO": "Mon", "TU": "Tue", "WE": "Wed", "TH": "Thu", "FR": "Fri", "SA": "Sat",
             "SU": "Sun"}
_FREQ_UNITS = {"DAILY": ("Daily", "day"), "WEEKLY": ("Weekly", "week"),
               "MONTHLY": ("Monthly", "month"), "YEARLY": ("Yearly", "year"),
               "HOURLY": ("Hourly", "hour"), "MINUTELY": ("Every minute", "minute"),
               "SECONDLY": ("Every second", "second")}
_ORDINALS = {1: "first", 2: "second", 3: "third", 4: "fourth", 5: "fifth", -1: "last"}


def recurrence_lines(text):
    """The non-empty lines of a recurrence text (or of a list of lines), as sent."""
    if not text:
        return []
    if isinstance(text, (list, tuple)):
        text = "\n".join(str(line) for line in text)
    return [line.strip() for line in str(text).replace("\r", "\n").split("\n") if line.strip()]


def is_recurring(activity):
    return any(line.upper().startswith("RRULE") or line.upper().startswith("RDATE")
               for line in recurrence_lines(getattr(activity, "recurrence", "")))


def _split_property(line):
    """``NAME;PARAM=V:VALUE`` -> (NAME, {PARAM: V}, VALUE)."""
    head, _, value = line.partition(":")
    name, *params = head.split(";")
    parsed = {}
    for param in params:
        key, _, val = param.partition("=")
        parsed[key.strip().upper()] = val.strip()
    return name.strip().upper(), parsed, value.strip()


def _parse_rule_parts(value):
    parts = {}
    for item in value.split(";"):
        key, _, val = item.partition("=")
        if key.strip():
            parts[key.strip().upper()] = val.strip()
    return parts


def _parse_ical_value(text, params, tz):
    """One DATE or DATE-TIME value as a date or an aware datetime in ``tz``; None if bad."""
    text = text.strip()
    try:
        if params.get("VALUE") == "DATE" or len(text) == 8:
            return date(int(text[:4]), int(text[4:6]), int(text[6:8]))
        naive = datetime.strptime(text[:15], "%Y%m%dT%H%M%S")
    except (ValueError, IndexError):
        return None
    if text.endswith("Z"):
        return naive.replace(tzinfo=timezone.utc).astimezone(tz)
    if params.get("TZID"):
        return naive.replace(tzinfo=zone_of(params["TZID"])).astimezone(tz)
    return naive.replace(tzinfo=tz)


def _normalised_rule(value, tz, all_day):
    """An RRULE value dateutil accepts with our dtstart: UNTIL in UTC for timed series (with
    an aware start), a floating date-time for all-day ones."""
    parts = _parse_rule_parts(value)
    until = parts.get("UNTIL")
    if until:
        parsed = _parse_ical_value(until, {}, tz)
        if parsed is None:
            parts.pop("UNTIL")
        elif all_day:
            day = parsed if not isinstance(parsed, datetime) else parsed.date()
            parts["UNTIL"] = f"{day:%Y%m%d}T235959"
        else:
            if not isinstance(parsed, datetime):
                parsed = datetime.combine(parsed, time(23, 59, 59), tzinfo=tz)
            parts["UNTIL"] = parsed.astimezone(timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    return ";".join(f"{k}={v}" for k, v in parts.items())


def _rule_set(activity, dtstart, tz, all_day):
    """A dateutil rruleset for ``activity`` starting at ``dtstart`` (aware for timed series,
    naive midnight for all-day ones) and its EXDATEs as a :class:`_Exclusions`; (None, None)
    when the text holds no usable rule.

    EXDATEs are not handed to dateutil: it compares aware times of one zone by their wall
    clock, so an EXDATE written for an occurrence that falls into a DST gap (02:30 on a
    spring-forward night, which Google shows as 03:30) would never match it."""
    rules = rruleset()
    excluded = _Exclusions()
    usable = False
    for line in recurrence_lines(getattr(activity, "recurrence", "")):
        name, params, value = _split_property(line)
        if name in ("RRULE", "EXRULE"):
            try:
                rule = rrulestr(_normalised_rule(value, tz, all_day), dtstart=dtstart)
            except (ValueError, TypeError):
                continue
            if name == "RRULE":
                rules.rrule(rule)
                usable = True
            else:
                rules.exrule(rule)
        elif name in ("EXDATE", "RDATE"):
            for item in value.split(","):
                parsed = _parse_ical_value(item, params, tz)
                if parsed is None:
                    continue
                if all_day:
                    day = parsed.date() if isinstance(parsed, datetime) else parsed
                    moment = datetime.combine(day, time.min)
                elif isinstance(parsed, datetime):
                    moment = parsed
                else:
                    # A whole-day EXDATE on a timed series: that day's occurrence.
                    moment = datetime.combine(parsed, dtstart.timetz())
                if name == "EXDATE":
                    excluded.add(moment, all_day)
                else:
                    rules.rdate(moment)
                    usable = True
    return (rules, excluded) if usable else (None, None)


class _Exclusions:
    """EXDATE moments, matched by instant or by wall-clock time (either names the same
    occurrence; only the instant survives a DST gap)."""

    def __init__(self):
        self.instants, self.walls = set(), set()

    def add(self, moment, all_day):
        if all_day:
            self.walls.add(moment)
            return
        self.instants.add(moment.astimezone(timezone.utc))
        self.walls.add(moment.replace(tzinfo=None))

    def __contains__(self, moment):
        if moment.tzinfo is None:
            return moment in self.walls
        return moment.astimezone(timezone.utc) in self.instants \
            or moment.replace(tzinfo=None) in self.walls


def occurrences(activity, max_steps=MAX_RULE_STEPS):
    """The occurrence starts of a recurring activity in order (aware for timed series, naive
    midnights for all-day ones), EXDATEs left out; empty when it does not repeat."""
    tz = zone_of(activity.time_zone)
    if activity.all_day:
        if activity.start_date is None:
            return
        dtstart = datetime.combine(activity.start_date, time.min)
    else:
        if activity.start_at is None:
            return
        dtstart = activity.start_at.astimezone(tz)
    rules, excluded = _rule_set(activity, dtstart, tz, activity.all_day)
    if rules is None:
        return
    for step, moment in enumerate(rules):
        if step >= max_steps:
            return
        if moment not in excluded:
            yield moment


def series_last_day(activity):
    """The local day the last occurrence of a recurring activity starts on (in its own
    zone), or None when the series never ends (or does not repeat)."""
    lines = recurrence_lines(getattr(activity, "recurrence", ""))
    rules = [_parse_rule_parts(v) for n, _, v in (_split_property(line) for line in lines)
             if n == "RRULE"]
    if not rules or any("COUNT" not in r and "UNTIL" not in r for r in rules):
        return None
    last = None
    for moment in occurrences(activity):
        last = moment
    if last is None:
        return None
    return last.date()


class Occurrence:
    """One occurrence of a recurring activity: the series' attributes with this
    occurrence's start and end (looks like an activity to the calendar grid)."""

    recurring = True

    def __init__(self, activity, start_at=None, end_at=None, start_date=None, end_date=None):
        self.series = activity
        self.start_at, self.end_at = start_at, end_at
        self.start_date, self.end_date = start_date, end_date

    def __getattr__(self, name):
        return getattr(self.series, name)

    def __repr__(self):
        return f"<Occurrence of {self.series!r} at {self.start_at or self.start_date}>"


def expand_recurring(activities, start_utc, end_utc, zone_name,
                     limit=MAX_OCCURRENCES, max_steps=MAX_RULE_STEPS):
    """Replace each recurring activity by its occurrences overlapping [start_utc, end_utc).

    Rules are evaluated in the activity's own zone (wall-clock times kept across DST
    changes), EXDATEs are respected, and at most ``limit`` occurrences per series are kept.
    Other activities pass through unchanged. ``zone_name`` is the viewer's zone (for the
    local dates all-day series are compared with).
    """
    first_day, last_day = local_dates_of_range(start_utc, end_utc, zone_name)
    result = []
    for activity in activities:
        if not is_recurring(activity):
            result.append(activity)
            continue
        if activity.all_day:
            if activity.start_date is None:
                continue
            length = (activity.end_date or activity.start_date) - activity.start_date
        else:
            if activity.start_at is None:
                continue
            length = (activity.end_at or activity.start_at) - activity.start_at
        found = 0
        any_rule = False
        for moment in occurrences(activity, max_steps=max_steps):
            any_rule = True
            if found >= limit:
                break
            if activity.all_day:
                first = moment.date()
                if first > last_day:
                    break
                if first + length < first_day:
                    continue
                result.append(Occurrence(activity, start_date=first, end_date=first + length))
            else:
                begin = moment.astimezone(start_utc.tzinfo)
                if begin >= end_utc:
                    break
                finish = begin + length
                if finish <= start_utc and not (length == timedelta(0) and begin >= start_utc):
                    continue
                result.append(Occurrence(activity, start_at=begin, end_at=finish))
            found += 1
        if not any_rule and not _has_rule(activity):
            result.append(activity)
    return result


def _has_rule(activity):
    """True when the recurrence text holds a rule dateutil can use (even if every
    occurrence is excluded)."""
    tz = zone_of(activity.time_zone)
    start = datetime.combine(activity.start_date, time.min) if activity.all_day \
        else activity.start_at.astimezone(tz)
    return _rule_set(activity, start, tz, activity.all_day)[0] is not None


def _weekday_label(item):
    item = item.strip().upper()
    code = item[-2:]
    label = _WEEKDAYS.get(code, code.title())
    number = item[:-2]
    if number:
        try:
            ordinal = _ORDINALS.get(int(number), f"#{int(number)}")
        except ValueError:
            return label
        return f"the {ordinal} {label}"
    return label


def summarize_recurrence(text, zone_name="UTC"):
    """A short English summary of a recurrence text: "Weekly on Mon, Wed", "Daily, 10
    times", "Every 2 weeks on Fri, until 31 Dec 2026"... ("" when it does not repeat)."""
    rrules = [v for n, _, v in (_split_property(line) for line in recurrence_lines(text))
              if n == "RRULE"]
    if not rrules:
        return "Repeats on chosen dates" if any(
            line.upper().startswith("RDATE") for line in recurrence_lines(text)) else ""
    parts = _parse_rule_parts(rrules[0])
    freq = parts.get("FREQ", "").upper()
    plain, unit = _FREQ_UNITS.get(freq, ("Repeats", ""))
    try:
        interval = max(1, int(parts.get("INTERVAL", "1")))
    except ValueError:
        interval = 1
    summary = plain if interval == 1 or not unit else f"Every {interval} {unit}s"
    if parts.get("BYDAY"):
        days = [_weekday_label(d) for d in parts["BYDAY"].split(",") if d.strip()]
        summary += " on " + ", ".join(days)
    elif parts.get("BYMONTHDAY"):
        summary += " on day " + ", ".join(d.strip() for d in parts["BYMONTHDAY"].split(","))
    if parts.get("COUNT"):
        try:
            count = int(parts["COUNT"])
            summary += f", {count} time{'s' if count != 1 else ''}"
        except ValueError:
            pass
    elif parts.get("UNTIL"):
        until = _parse_ical_value(parts["UNTIL"], {}, timezone.utc)
        if until is not None:
            # A timed UNTIL is an instant in UTC; the last day is the series' own local day.
            day = until.astimezone(zone_of(zone_name)).date() if isinstance(until, datetime) \
                else until
            summary += f", until {day.day} {day:%b %Y}"
    exdates = sum(len(v.split(",")) for n, _, v in
                  (_split_property(line) for line in recurrence_lines(text)) if n == "EXDATE")
    if exdates:
        summary += f" (except {exdates} date{'s' if exdates != 1 else ''})"
    return summary
