"""Calendar grids in the viewer's time zone: pure helpers, no Flask and no database.

Everything here takes plain values (dates, aware datetimes, zone names and objects that look
like activities) so the month/week/day layout can be tested without an app.
"""
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from portal.core.timezones import local_to_utc, to_local

VIEWS = ("month", "week", "day")
DEFAULT_VIEW = "week"
#: hours always shown in the week and day grids; widened when an activity starts outside
DEFAULT_FIRST_HOUR = 7
DEFAULT_LAST_HOUR = 19
_TICK = timedelta(microseconds=1)


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


@dataclass
class CalendarEntry:
    """One activity as it shows on one day of the grid."""

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
    shown = set(days)
    result = {d: [] for d in days}
    if not days:
        return result
    first_shown, last_shown = min(days), max(days)
    for activity in activities:
        if activity.all_day:
            if activity.start_date is None:
                continue
            last = activity.end_date or activity.start_date
            if last < activity.start_date:
                last = activity.start_date
            span_first, span_last = max(activity.start_date, first_shown), min(last, last_shown)
            for day in days_between(span_first, span_last) if span_first <= span_last else []:
                if day in shown:
                    result[day].append(CalendarEntry(activity, day))
            continue
        if activity.start_at is None:
            continue
        start = to_local(activity.start_at, zone_name)
        end = to_local(activity.end_at or activity.start_at, zone_name)
        if end < start:
            end = start
        first_day = start.date()
        last_day = max(first_day, (end - _TICK).date()) if end > start else first_day
        span_first, span_last = max(first_day, first_shown), min(last_day, last_shown)
        for day in days_between(span_first, span_last) if span_first <= span_last else []:
            if day in shown:
                result[day].append(CalendarEntry(activity, day, start=start, end=end,
                                                 continued=day > first_day,
                                                 continues=day < last_day))
    return result


def build_cells(activities, days, zone_name, today=None, month=None):
    """A :class:`DayCell` per shown day, entries split into the all-day row and timed ones."""
    by_day = entries_by_day(activities, days, zone_name)
    cells = []
    for day in days:
        cell = DayCell(day=day, today=day == today,
                       in_month=month is None or (day.year, day.month) == month)
        for entry in by_day[day]:
            (cell.all_day if entry.in_all_day_row else cell.timed).append(entry)
        cell.all_day.sort(key=lambda e: (not e.all_day, _sort_key(e.activity)))
        cell.timed.sort(key=lambda e: (e.start, e.end, _sort_key(e.activity)))
        cells.append(cell)
    return cells


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
