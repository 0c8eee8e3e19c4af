"""Where every Google call goes: the real hosts, or one origin (googlesim) when
``GOOGLE_BASE_URL`` is set.

Pure module (no Flask): callers pass the configured base URL, read at call time so tests and
``make run`` can point the portal at googlesim without re-importing anything.
"""
from dataclasses import dataclass

REAL_AUTHORIZE = "https://accounts.google.com/o/oauth2/v2/auth"
REAL_TOKEN = "https://oauth2.googleapis.com/token"
REAL_REVOKE = "https://oauth2.googleapis.com/revoke"
REAL_USERINFO = "https://openidconnect.googleapis.com/v1/userinfo"
REAL_JWKS = "https://www.googleapis.com/oauth2/v3/certs"
REAL_CALENDAR = "https://www.googleapis.com/calendar/v3/"
REAL_CALENDAR_BATCH = "https://www.googleapis.com/batch/calendar/v3"
REAL_PEOPLE = "https://people.googleapis.com/"


@dataclass(frozen=True)
class GoogleEndpoints:
    """Every URL the portal talks to, for one deployment."""

    authorize: str
    token: str
    revoke: str
    userinfo: str
    jwks: str
    #: google-api-python-client ``api_endpoint`` for Calendar v3 (includes the service path)
    calendar_api: str
    #: batch endpoint; ``service.new_batch_http_request()`` ignores api_endpoint, so use this
    calendar_batch: str
    #: ``api_endpoint`` for People v1
    people_api: str
    #: True when the calls go to a sandbox (googlesim) instead of Google
    sandbox: bool = False


def google_endpoints(base_url=None):
    """The endpoints for ``base_url`` (e.g. ``http://127.0.0.1:5055``), or Google's own hosts
    when it is empty."""
    if not base_url:
        return GoogleEndpoints(REAL_AUTHORIZE, REAL_TOKEN, REAL_REVOKE, REAL_USERINFO, REAL_JWKS,
                               REAL_CALENDAR, REAL_CALENDAR_BATCH, REAL_PEOPLE)
    base = base_url.rstrip("/")
    return GoogleEndpoints(
        authorize=base + "/o/oauth2/v2/auth",
        token=base + "/token",
        revoke=base + "/revoke",
        userinfo=base + "/v1/userinfo",
        jwks=base + "/oauth2/v3/certs",
        calendar_api=base + "/calendar/v3/",
        calendar_batch=base + "/batch/calendar/v3",
        people_api=base + "/",
        sandbox=True,
    )
