"""Links built from Google data (an event's htmlLink, Meet links, attachments) become an
href only when they lead where Google's links lead: https on google.com or one of its
subdomains (www, calendar, meet, drive, docs), or the configured ``GOOGLE_BASE_URL`` origin
(googlesim). Anything else - ``javascript:``, ``data:``, plain http, look-alike hosts,
credentials or odd ports in the URL - is not linked."""
import re
from urllib.parse import urlsplit

MAX_LENGTH = 2048
_UNSAFE_CHARACTERS = re.compile(r"[\x00-\x20\x7f\\]")


def _origin(parts):
    return (parts.scheme.lower(), (parts.hostname or "").lower(), parts.port)


def safe_google_link(url, base_url=None):
    """``url`` when it may be an href on a page, else None."""
    if not isinstance(url, str) or not url or len(url) > MAX_LENGTH \
            or _UNSAFE_CHARACTERS.search(url):
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.username is not None or parts.password is not None:
        return None
    if parts.scheme.lower() == "https" and port in (None, 443) \
            and (host == "google.com" or host.endswith(".google.com")):
        return url
    if base_url:
        try:
            if _origin(parts) == _origin(urlsplit(base_url)) and host:
                return url
        except ValueError:
            return None
    return None
