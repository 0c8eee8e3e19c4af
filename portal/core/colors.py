"""Google Calendar's event colours and the nearest one to a CRM colour. Pure.

Google lets an event take one of eleven fixed colours, by ``colorId`` "1"-"11" (the
``event`` palette of ``colors.get``); the CRM lets the admin choose any ``#rrggbb`` per
activity type. Exports send the nearest palette colour; imports show the palette colour
itself, so an event's colour survives the round trip exactly.
"""
import functools
import re

#: colors.get's ``event`` palette (background colours); fixed by Google for years
EVENT_COLORS = {
    "1": "#a4bdfc", "2": "#7ae7bf", "3": "#dbadff", "4": "#ff887c", "5": "#fbd75b",
    "6": "#ffb878", "7": "#46d6db", "8": "#e1e1e1", "9": "#5484ed", "10": "#51b749",
    "11": "#dc2127",
}

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")


def is_hex_color(value):
    """True for ``#rrggbb`` (what ``<input type=color>`` sends), nothing else."""
    return isinstance(value, str) and bool(_HEX.match(value))


def _rgb(value):
    return tuple(int(value[i:i + 2], 16) for i in (1, 3, 5))


def _distance(a, b):
    """Squared "redmean" distance: plain RGB distance weighted the way the eye weighs red,
    green and blue, so a muted blue lands on Blueberry rather than on Graphite."""
    mean = (a[0] + b[0]) / 2
    dr, dg, db = a[0] - b[0], a[1] - b[1], a[2] - b[2]
    return (2 + mean / 256) * dr * dr + 4 * dg * dg + (2 + (255 - mean) / 256) * db * db


def nearest_color_id(value):
    """Google's colorId nearest to ``#rrggbb`` (None for anything else)."""
    if not is_hex_color(value):
        return None
    return _nearest(value.lower())


# An export asks this for every event, of a handful of type colours: remember the answers.
@functools.lru_cache(maxsize=256)
def _nearest(value):
    rgb = _rgb(value)
    return min(EVENT_COLORS, key=lambda cid: (_distance(rgb, _rgb(EVENT_COLORS[cid])),
                                             int(cid)))


def color_of_id(color_id):
    """The ``#rrggbb`` of a Google colorId (None for an unknown one)."""
    return EVENT_COLORS.get(str(color_id)) if color_id is not None else None


def known_color_id(color_id):
    """``color_id`` when Google's palette has it, else None (treated as no colour)."""
    return str(color_id) if color_of_id(color_id) else None
