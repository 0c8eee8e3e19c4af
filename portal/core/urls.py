"""URL helpers shared by the views."""
from urllib.parse import urlsplit


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
