"""Error pages: a friendly page for people, JSON for API-ish callers."""
import logging

from flask import current_app, render_template, request
from flask_wtf.csrf import CSRFError
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from portal.extensions import db

log = logging.getLogger(__name__)

MESSAGES = {
    400: "The request could not be understood.",
    403: "You do not have access to this page.",
    404: "That page does not exist, or it is not yours to see.",
    405: "That action is not allowed here.",
    503: "The service is unavailable for a moment; try again shortly.",
    500: "Something went wrong on our side. It has been logged.",
}


def _render(code, message=None):
    if request.accept_mimetypes.best == "application/json":
        return {"error": message or MESSAGES.get(code, "Error")}, code
    return render_template("errors/error.html", code=code,
                           message=message or MESSAGES.get(code, "Error")), code


def init_app(app):
    for code in (400, 403, 404, 405):
        app.register_error_handler(code, lambda e, code=code: _render(code))

    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return _render(400, "Your session form expired or was not sent from this site. "
                            "Go back, reload the page and try again.")

    @app.errorhandler(429)
    def too_many(error):
        from portal.core.limits import retry_after_seconds

        seconds = retry_after_seconds()
        minutes = (seconds + 59) // 60
        wait = f"{seconds} seconds" if seconds < 120 else f"{minutes} minutes"
        response = _render(429, f"Too many attempts. For your account's safety, wait {wait} "
                                "and try again.")
        response = current_app.make_response(response)
        response.headers["Retry-After"] = str(seconds)
        return response

    @app.errorhandler(RedisConnectionError)
    @app.errorhandler(RedisTimeoutError)
    def redis_unreachable(error):
        # A safety net: the pages that queue jobs say so themselves (QueueUnavailable).
        from portal.jobs.connection import QUEUE_UNAVAILABLE

        log.warning("Redis unreachable: %s", error.__class__.__name__)
        db.session.rollback()
        return _render(503, QUEUE_UNAVAILABLE)

    @app.errorhandler(500)
    def server_error(error):
        db.session.rollback()
        return _render(500)
