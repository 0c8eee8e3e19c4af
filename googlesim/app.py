"""The googlesim Flask application factory."""
import logging

from flask import Flask, request
from werkzeug.exceptions import HTTPException

from . import batch, calendar, control, oauth, people
from .contacts import Contacts
from .errors import ApiError, OAuthError
from .events import Events
from .store import Store
from .watch import Notifier

log = logging.getLogger("googlesim")


def create_app(store=None, data=None, auto_consent=False):
    """Build the app. ``data``: SQLite file that keeps state across restarts (None = memory).
    """
    app = Flask(__name__)
    app.config["JSON_SORT_KEYS"] = False
    app.json.sort_keys = False
    st = store or Store(data, auto_consent=auto_consent)
    notifier = Notifier(st)
    app.config.update(STORE=st, NOTIFIER=notifier, EVENTS=Events(st, notifier),
                      CONTACTS=Contacts(st), RUNTIME=control.Runtime())
    for bp in (oauth.bp, calendar.bp, people.bp, batch.bp, control.bp):
        app.register_blueprint(bp)

    @app.before_request
    def _faults():
        if not request.path.startswith("/_sim/"):
            control.apply_faults()

    @app.after_request
    def _stats(response):
        if not request.path.startswith("/_sim/"):
            app.config["RUNTIME"].count(control.stats_key(),
                                        bool(request.environ.get("googlesim.batch_part")))
        return response

    @app.errorhandler(ApiError)
    def _api_error(err):
        return err.response()

    @app.errorhandler(OAuthError)
    def _oauth_error(err):
        return err.response()

    @app.errorhandler(HTTPException)
    def _http_error(err):
        # Unknown paths and wrong methods still answer in Google's envelope, never HTML.
        reason = {404: "notFound", 405: "httpMethodNotAllowed"}.get(err.code, "badRequest")
        return ApiError(err.code, reason, err.description if err.code not in (404, 405)
                        else ("Not Found" if err.code == 404 else "Method Not Allowed")
                        ).response()

    @app.errorhandler(Exception)
    def _unexpected(err):
        if isinstance(err, ConnectionError):
            # A deliberate dropped connection: the socket is already shut, so werkzeug's
            # write of this response fails and it drops the request silently.
            return "", 500
        log.exception("googlesim internal error")
        return ApiError(500, "backendError", "Backend Error").response()

    return app
