"""Bounded parsing of query-string parameters: the one way views read ints and dates.

A value that is missing, malformed or out of range is ignored (the view's default applies),
so no URL - pasted, truncated, forged - can reach the database driver as an integer
overflow or date arithmetic as a year-9999 overflow."""
from datetime import date

from flask import request

#: the largest id an integer primary key can hold (PostgreSQL ``integer``)
MAX_ID = 2**31 - 1
#: dates anyone may ask about; arithmetic of a few months either side stays in range
MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2999, 12, 31)
_MAX_DIGITS = 12


def parse_int(value, minimum=1, maximum=MAX_ID):
    """``value`` (text) as an int within [minimum, maximum], or None."""
    if not isinstance(value, str):
        return None
    value = value.strip()
    if not value or len(value) > _MAX_DIGITS or not value.lstrip("-").isdigit() \
            or not value.isascii():
        return None
    number = int(value)
    return number if minimum <= number <= maximum else None


def bounded_date(value):
    """A date (or None) kept only when it lies within [MIN_DATE, MAX_DATE]."""
    return value if isinstance(value, date) and MIN_DATE <= value <= MAX_DATE else None


def parse_date(value):
    """``YYYY-MM-DD`` (anything after it, such as a time, is ignored) within
    [MIN_DATE, MAX_DATE] as a date, or None."""
    if not isinstance(value, str) or len(value) > 100:
        return None
    try:
        return bounded_date(date.fromisoformat(value.strip()[:10]))
    except ValueError:
        return None


def int_arg(name, minimum=1, maximum=MAX_ID):
    """The query parameter ``name`` as a bounded int, or None (ids: 1 to MAX_ID)."""
    return parse_int(request.args.get(name), minimum, maximum)


def date_arg(name):
    """The query parameter ``name`` as a bounded date, or None."""
    return parse_date(request.args.get(name))


DATE_RANGE_MESSAGE = (f"Choose a date between {MIN_DATE.isoformat()} and "
                      f"{MAX_DATE.isoformat()}.")
