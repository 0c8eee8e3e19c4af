"""Throttling with Flask-Limiter, counted in the portal's own Redis (shared by every web
process), so password guessing is slowed per account and per client address.

The limits are settings (``*_LIMIT`` in the config; tests make them small). Only failures
count where a success is the point (a login, a password change); a breach answers 429 with
``Retry-After`` and a plain message page. When Redis does not answer, each web process
counts in its own memory until Redis is back (never an error page because of throttling).
"""
import time

from flask import current_app, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import current_user

DEFAULTS = {
    # failed logins for one email address, from anywhere
    "LOGIN_LIMIT_PER_ACCOUNT": "10 per 15 minutes",
    # failed logins from one client address, whatever the email
    "LOGIN_LIMIT_PER_ADDRESS": "50 per 15 minutes",
    # wrong current passwords on the profile's *Change password*, per user
    "PASSWORD_CHANGE_LIMIT": "10 per 15 minutes",
    # *Authorize and Connect* starts, per user
    "OAUTH_CONNECT_LIMIT": "20 per hour",
}


def limit(setting_name, **options):
    """Decorator: throttle this view by the limit in setting ``setting_name`` (options as
    Flask-Limiter's ``limit``). It only marks the view: :func:`apply_limits` attaches the
    marks to the app's own limiter, so every app (tests build several) counts in its own
    Redis, never in another app's."""

    def mark(view):
        view.__dict__.setdefault("_portal_limits", []).append((setting_name, options))
        return view

    return mark


def limiter():
    """This app's Flask-Limiter instance."""
    return current_app.extensions["portal_limiter"]


def storage_uri(redis_url):
    """The ``limits`` storage URI of the Redis at ``redis_url`` (a Unix socket is
    ``redis+unix://`` there)."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url[len("unix://"):]
    return redis_url


def init_app(app, redis_url):
    for key, value in DEFAULTS.items():
        app.config.setdefault(key, value)
    app.config.setdefault("RATELIMIT_STORAGE_URI", storage_uri(redis_url))
    app.config.setdefault("RATELIMIT_STORAGE_OPTIONS", {"socket_connect_timeout": 2,
                                                        "socket_timeout": 2})
    app.config.setdefault("RATELIMIT_STRATEGY", "moving-window")
    app.config.setdefault("RATELIMIT_KEY_PREFIX", "portal-limits")
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.extensions["portal_limiter"] = Limiter(key_func=get_remote_address, app=app)


def apply_limits(app):
    """Wrap every view marked with :func:`limit` (call once the blueprints are registered)."""
    app_limiter = app.extensions["portal_limiter"]
    for endpoint, view in list(app.view_functions.items()):
        marks = getattr(view, "_portal_limits", None)
        for setting_name, options in marks or ():
            view = app_limiter.limit(setting(setting_name), **options)(view)
        if marks:
            app.view_functions[endpoint] = view


def setting(name):
    """A limit read from the config when the request comes (so it can change per app)."""
    return lambda: current_app.config[name]


def login_account_key():
    return "login:" + (request.form.get("email") or "").strip().lower()[:254]


def user_key():
    return f"user:{current_user.get_id().partition(':')[0]}" if current_user.is_authenticated \
        else get_remote_address()


def failed_form(response):
    """A form re-rendered with errors (a success redirects)."""
    return response.status_code == 200


def retry_after_seconds():
    """Seconds until the breached limit lets the next request through (at least 1)."""
    limit = limiter().current_limit
    if limit is None:
        return 60
    return max(1, int(limit.reset_at - time.time()) + 1)
