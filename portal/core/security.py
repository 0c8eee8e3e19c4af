"""Security headers on every response.

- ``Content-Security-Policy``: scripts, styles, fonts, images and fetches from this origin
  only, no inline script (the pages' scripts are files under static/), nothing may frame the
  portal, forms post here (or, for *Authorize and Connect*, redirect to Google's consent
  page), no plugins, no <base> tricks;
- ``X-Frame-Options: DENY`` (older browsers), ``X-Content-Type-Options: nosniff``,
  ``Referrer-Policy: same-origin`` (URLs never leak to Google or anyone else);
- ``Cache-Control: no-store`` on pages shown to a logged-in user (no CRM data left in
  shared caches or the back button after logout);
- ``Strict-Transport-Security`` in production (``HSTS_SECONDS``).

It also refuses requests whose parameters hold a NUL character (see :func:`refuse_nul_bytes`).
"""
from urllib.parse import urlsplit

from flask import abort, current_app, request
from flask_login import current_user

#: endpoints that serve files which may be cached (no user data in them)
STATIC_ENDPOINTS = {"static", "bootstrap.static"}


def origin(url):
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}"


def allow_form_redirect(app, source):
    """Let forms lead to ``source()`` (an origin, read per request): a feature whose form
    redirects off-site (Authorize and Connect -> Google's consent page) registers it."""
    app.extensions.setdefault("portal_form_action", []).append(source)


def content_security_policy():
    targets = " ".join(["'self'"] + [source() for source in
                                     current_app.extensions.get("portal_form_action", [])])
    return "; ".join([
        "default-src 'self'",
        "script-src 'self'",
        # inline style attributes only (layout widths); never inline script
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self'",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'none'",
        f"form-action {targets}",
        "frame-ancestors 'none'",
    ])


def _logged_in():
    try:
        return bool(current_user and current_user.is_authenticated)
    except Exception:  # noqa: BLE001 - a header must never turn a response into an error
        return False


def add_security_headers(response):
    headers = response.headers
    headers.setdefault("Content-Security-Policy", content_security_policy())
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.endpoint not in STATIC_ENDPOINTS and _logged_in():
        headers["Cache-Control"] = "no-store"
    hsts = current_app.config.get("HSTS_SECONDS")
    if hsts:
        headers.setdefault("Strict-Transport-Security", f"max-age={int(hsts)}; includeSubDomains")
    return response


def refuse_nul_bytes():
    """A NUL character is never part of real input, and PostgreSQL refuses to store one in a
    text column (a 500 halfway through a save): answer 400 before any view runs."""
    for values in (request.args, request.form):
        for _, items in values.lists():
            if any("\x00" in item for item in items):
                abort(400)


def init_app(app):
    app.before_request(refuse_nul_bytes)
    app.after_request(add_security_headers)
