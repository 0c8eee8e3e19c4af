"""URL helpers shared by the views."""
import re
from urllib.parse import urlsplit

from flask import url_for


def safe_next(target):
    """``target`` if it is a same-site relative path, else None, so a ``?next=`` (or a form's
    ``next``) can never send people to another site."""
    if not target or not isinstance(target, str) or len(target) > 2000:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//") \
            or "\\" in target:
        return None
    return target


#: stands in for the value that varies while url_for builds the rest of a link once
_SLOT = 7_654_321_987_654_321
#: values a slot takes as they are (ids, ISO dates): nothing in them needs quoting
_PLAIN = re.compile(r"[0-9A-Za-z_.-]+")


def url_builder(endpoint, slot, **values):
    """``value -> url_for(endpoint, **values, slot=value)``, for a link a page repeats
    hundreds of times (a month's day links, a week's activity links): url_for runs once
    (about 30 µs a call on a small machine) and each link is then a string join. Values
    left None are dropped, as the views' own URL helpers do; naming the slot among them
    keeps its place in the query string. Values that would need quoting go through
    url_for itself."""
    values = {key: value for key, value in values.items() if value is not None or key == slot}

    def slow(value):
        return url_for(endpoint, **{**values, slot: value})

    head, marker, tail = slow(_SLOT).partition(str(_SLOT))
    if not marker or str(_SLOT) in tail:
        return slow

    def build(value):
        text = str(value)
        if _PLAIN.fullmatch(text):
            return f"{head}{text}{tail}"
        return slow(value)

    return build
