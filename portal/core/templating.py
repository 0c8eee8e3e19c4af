"""Template filters and globals: times shown in the viewer's zone, nav helpers."""
from flask import current_app, g, has_request_context
from flask_login import current_user

from portal.core.links import safe_google_link
from portal.core.timezones import zone


def _viewer_zone():
    """The viewer's zone, looked up once per request (a list shows many times)."""
    if has_request_context():
        found = g.get("_viewer_zone")
        if found is None:
            found = g._viewer_zone = zone(getattr(current_user, "time_zone", None) or "UTC")
        return found
    return zone(getattr(current_user, "time_zone", None) or "UTC")


def viewer_zone_name():
    """The zone every time on the page is shown in, named once per page."""
    return getattr(current_user, "time_zone", None) or "UTC"


def local_dt(value, fmt="%a %d %b %Y %H:%M"):
    """An aware UTC datetime, shown in the logged-in user's zone."""
    if value is None:
        return ""
    return value.astimezone(_viewer_zone()).strftime(fmt)


def google_href(url):
    """Filter: ``url`` (from Google data) if it may be an href, else "" (see core/links.py)."""
    return safe_google_link(url, current_app.config.get("GOOGLE_BASE_URL")) or ""


def init_app(app):
    app.add_template_filter(local_dt, "local_dt")
    app.add_template_filter(google_href, "google_href")

    @app.context_processor
    def globals_():
        return {
            "has_endpoint": lambda name: name in current_app.view_functions,
            "viewer_zone_name": viewer_zone_name,
            "sandbox_google": bool(current_app.config.get("GOOGLE_BASE_URL")),
        }
