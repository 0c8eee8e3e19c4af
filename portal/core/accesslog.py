"""Access logs that never record OAuth secrets from URLs.

Google's answer to *Authorize and Connect* comes back as ``/google/oauth/callback?code=...
&state=...``: the code is exchangeable for tokens (with PKCE and the client secret) and
the state ties the answer to a browser session, so neither belongs in a log in full. Every
query parameter named in :data:`SENSITIVE` is written as ``[redacted]``:

- gunicorn's access log through :class:`GunicornLogger` (``gunicorn.conf.py`` names it, so
  any gunicorn started from the project folder uses it);
- the Werkzeug development server's request log through :class:`RedactingFilter`, which
  :func:`init_app` puts on the ``werkzeug`` logger.
"""
import logging
import re

from gunicorn.glogging import Logger

#: query parameters whose values never reach a log
SENSITIVE = ("code", "state", "token", "access_token", "refresh_token", "id_token",
             "client_secret", "password")
# name=value after ? & ; - also percent-encoded inside another parameter, as in the
# ``/login?next=%2Fgoogle%2Foauth%2Fcallback%3Fcode%3D...`` a logged-out browser is sent to
_PARAMETER = re.compile(r"((?:[?&;]|%3F|%26)(?:" + "|".join(SENSITIVE) + r")(?:=|%3D))"
                        r"(?:(?!%26)[^&;#\s\"'])*", re.I)


def redact(text):
    """``text`` (a URL, a query string or a whole log line) with the sensitive query
    parameters' values replaced."""
    if not text or ("=" not in text and "%3d" not in text.lower()):
        return text
    if "?" not in text and text[:1] not in "&;":  # a bare query string
        return _PARAMETER.sub(r"\1[redacted]", "?" + text)[1:]
    return _PARAMETER.sub(r"\1[redacted]", text)


class GunicornLogger(Logger):
    """gunicorn's logger with the request line and query string redacted."""

    def atoms(self, resp, req, environ, request_time):
        atoms = super().atoms(resp, req, environ, request_time)
        for key in ("r", "q"):
            if atoms.get(key):
                atoms[key] = redact(atoms[key])
        return atoms


class RedactingFilter(logging.Filter):
    """For loggers that print request lines (the Werkzeug development server's)."""

    def filter(self, record):
        message = record.getMessage()
        redacted = redact(message)
        if redacted != message:
            record.msg, record.args = redacted, ()
        return True


def init_app(app):
    logger = logging.getLogger("werkzeug")
    if not any(isinstance(f, RedactingFilter) for f in logger.filters):
        logger.addFilter(RedactingFilter())
