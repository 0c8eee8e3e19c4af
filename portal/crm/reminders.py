"""Reminders as Google Calendar has them, stored on an activity as one JSON text.

Google gives every event either the calendar's default reminders (``useDefault``) or up to
five overrides, each a ``popup`` or an ``email`` some minutes before the start. The CRM keeps
exactly that, so a sync never turns "the calendar's defaults" into "no reminder" or four
reminders into one. Pure helpers: no Flask, no database.
"""
import json
from dataclasses import dataclass

METHODS = ("popup", "email")
METHOD_LABELS = {"popup": "Notification", "email": "Email"}
#: Google's limits: five overrides, at most four weeks before
MAX_OVERRIDES = 5
MAX_MINUTES = 40320


@dataclass(frozen=True)
class Reminders:
    """``use_default``: the calendar's default reminders; else ``overrides``, a sorted tuple
    of (method, minutes) pairs (empty: no reminder at all)."""

    use_default: bool = False
    overrides: tuple = ()

    @classmethod
    def of(cls, use_default=False, overrides=()):
        clean = set()
        for method, minutes in overrides or ():
            if isinstance(method, str) and isinstance(minutes, int) \
                    and not isinstance(minutes, bool):
                clean.add((method, minutes))
        return cls(bool(use_default), tuple(sorted(clean, key=lambda o: (o[1], o[0]))))

    def problem(self):
        """Why Google would refuse these reminders (a message for the form), or None."""
        if len(self.overrides) > MAX_OVERRIDES:
            return f"Google keeps at most {MAX_OVERRIDES} reminders."
        for method, minutes in self.overrides:
            if method not in METHODS:
                return "Choose a notification or an email reminder."
            if minutes < 0:
                return "A reminder cannot be after the start."
            if minutes > MAX_MINUTES:
                return "A reminder can be at most four weeks (40320 minutes) before."
        return None

    @classmethod
    def popup(cls, minutes):
        """One notification ``minutes`` before (None: no reminder)."""
        return cls.of(False, () if minutes is None else (("popup", int(minutes)),))

    @classmethod
    def from_google(cls, value):
        """From an event's ``reminders`` object (absent means the calendar's defaults, as
        Google fills it in on insert)."""
        if not isinstance(value, dict):
            return cls(True, ())
        pairs = []
        for item in value.get("overrides") or ():
            if isinstance(item, dict):
                pairs.append((item.get("method"), item.get("minutes")))
        return cls.of(bool(value.get("useDefault")), pairs)

    @classmethod
    def loads(cls, text):
        """From the stored JSON text (None or unreadable: no reminder)."""
        if not text:
            return cls()
        try:
            data = json.loads(text)
        except (TypeError, ValueError):
            return cls()
        return cls.from_google(data) if isinstance(data, dict) else cls()

    def dumps(self):
        return json.dumps(self.to_google(), separators=(",", ":"))

    def to_google(self):
        """The event's ``reminders`` object."""
        if self.use_default:
            return {"useDefault": True}
        return {"useDefault": False,
                "overrides": [{"method": m, "minutes": n} for m, n in self.overrides]}

    def state(self):
        """A JSON-native value that compares exactly (the sync's merge base)."""
        return ["default"] if self.use_default else [[m, n] for m, n in self.overrides]

    @property
    def first_popup(self):
        """Minutes of the earliest-firing notification, or None."""
        popups = [n for m, n in self.overrides if m == "popup"]
        return max(popups) if popups else None

    def describe(self):
        """Plain words for pages: "Calendar default", "None", "Notification 10 min before"."""
        if self.use_default:
            return "Calendar default"
        if not self.overrides:
            return ""
        return ", ".join(f"{METHOD_LABELS[m]} {_minutes_label(n)} before"
                         for m, n in self.overrides)


def _minutes_label(minutes):
    for size, unit in ((10080, "week"), (1440, "day"), (60, "hour")):
        if minutes and minutes % size == 0:
            count = minutes // size
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{minutes} min"
