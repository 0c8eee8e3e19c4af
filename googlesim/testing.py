"""Helpers for tests, the demo and benchmarks: run googlesim in-process on a real HTTP
server and drive its /_sim/ control API."""
import threading
from urllib.parse import quote

import requests
from werkzeug.serving import WSGIRequestHandler, make_server

from .app import create_app

# Scopes, and defaults that test suites may share (the control API registers nothing by
# itself: call ``register_client(TEST_CLIENT_ID, TEST_CLIENT_SECRET, [TEST_REDIRECT_URI])``).
SCOPE_CALENDAR = "https://www.googleapis.com/auth/calendar"
SCOPE_CALENDAR_READONLY = SCOPE_CALENDAR + ".readonly"
SCOPE_CALENDAR_EVENTS = SCOPE_CALENDAR + ".events"
SCOPE_CONTACTS = "https://www.googleapis.com/auth/contacts"
SCOPE_CONTACTS_READONLY = SCOPE_CONTACTS + ".readonly"
TEST_CLIENT_ID = "test-client.apps.googleusercontent.com"
TEST_CLIENT_SECRET = "test-secret"
TEST_REDIRECT_URI = "http://127.0.0.1:5999/google/callback"
TEST_USER = "ada@example.com"


class _QuietHandler(WSGIRequestHandler):
    """No per-request access log: benchmarks make tens of thousands of requests."""

    def log_request(self, *args, **kwargs):
        pass


class SimServer:
    """A googlesim app served by werkzeug on a background thread."""

    def __init__(self, host="127.0.0.1", port=0, auto_consent=False, data=None):
        self.app = create_app(data=data, auto_consent=auto_consent)
        self._server = make_server(host, port, self.app, threaded=True,
                                   request_handler=_QuietHandler)
        self.host = host
        self.port = self._server.server_port
        self.base_url = f"http://{host}:{self.port}"
        # A short poll interval makes stop() quick (the default 0.5 s adds up in tests).
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,),
                                        name="googlesim-server", daemon=True)
        self._thread.start()

    @property
    def store(self):
        return self.app.config["STORE"]

    def stop(self):
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def start_sim(host="127.0.0.1", port=0, auto_consent=False, data=None) -> SimServer:
    """Start googlesim on ``host:port`` (0 = a free port); call ``.stop()`` when done."""
    return SimServer(host=host, port=port, auto_consent=auto_consent, data=data)


class SimControl:
    """A thin ``requests`` wrapper around the /_sim/ control API."""

    def __init__(self, base_url):
        self.base_url = base_url.rstrip("/")
        self.session = requests.Session()
        self.session.trust_env = False  # never send loopback calls through a proxy

    def _call(self, method, path, json=None, params=None, expect_json=True):
        resp = self.session.request(method, self.base_url + "/_sim" + path, json=json,
                                    params=params, timeout=30)
        if resp.status_code >= 400:
            raise SimError(resp)
        if not expect_json or resp.status_code == 204 or not resp.content:
            return None
        return resp.json()

    # -- lifecycle -----------------------------------------------------------------------------
    def reset(self):
        return self._call("POST", "/reset")

    def register_client(self, client_id, client_secret, redirect_uris):
        return self._call("POST", "/clients", {"client_id": client_id,
                                               "client_secret": client_secret,
                                               "redirect_uris": list(redirect_uris)})

    def settings(self, **changes):
        """Read (no args) or change (e.g. auto_consent=True) runtime settings."""
        if changes:
            return self._call("POST", "/settings", changes)
        return self._call("GET", "/settings")

    def rate_limit(self, per_user_per_second=None, burst=None):
        """Switch per-account rate limiting on (a token bucket per account: ``burst``
        requests at once, refilled at ``per_user_per_second``) or off (no arguments).
        Calendar requests over the rate get 403 userRateLimitExceeded, People ones 429."""
        spec = None if per_user_per_second is None else {
            "per_user_per_second": per_user_per_second, "burst": burst}
        return self._call("POST", "/settings", {"rate_limit": spec})

    def fault(self, method=None, path=None, status=None, reason=None, count=1, drop=False,
              delay_ms=None):
        return self._call("POST", "/faults", {"method": method, "path": path,
                                              "status": status, "reason": reason,
                                              "count": count, "drop": drop,
                                              "delay_ms": delay_ms})

    def clear_faults(self):
        return self._call("DELETE", "/faults")

    def expire(self, sync_tokens=False, access_tokens=False, calendar_sync_tokens=False,
               people_sync_tokens=False):
        """Expire every sync token (``sync_tokens``: Calendar and People), only Calendar's
        or only People's, and/or every access token."""
        return self._call("POST", "/expire", {"sync_tokens": sync_tokens,
                                              "access_tokens": access_tokens,
                                              "calendar_sync_tokens": calendar_sync_tokens,
                                              "people_sync_tokens": people_sync_tokens})

    def stats(self) -> dict:
        return self._call("GET", "/stats")

    def stats_reset(self):
        return self._call("POST", "/stats/reset")

    def outbox(self) -> list:
        """Guest emails Google would have sent for writes with sendUpdates=all/externalOnly."""
        return self._call("GET", "/outbox")

    # -- accounts & tokens -----------------------------------------------------------------------
    def create_account(self, email, name=None, time_zone=None) -> dict:
        body = {"email": email, "name": name}
        if time_zone:
            body["time_zone"] = time_zone
        return self._call("POST", "/accounts", body)

    def accounts(self) -> list:
        return self._call("GET", "/accounts")

    def issue_tokens(self, email, client_id, scopes) -> dict:
        if isinstance(scopes, str):
            scopes = scopes.split()
        return self._call("POST", "/tokens", {"email": email, "client_id": client_id,
                                              "scopes": list(scopes)})

    def revoke_grants(self, email, client_id=None):
        return self._call("POST", f"/accounts/{_q(email)}/revoke", {"client_id": client_id})

    def grants(self, email) -> list:
        return self._call("GET", f"/accounts/{_q(email)}/grants")

    # -- calendar ----------------------------------------------------------------------------------
    def calendars(self, email) -> list:
        return self._call("GET", f"/accounts/{_q(email)}/calendars")

    def create_calendar(self, email, summary, time_zone=None) -> dict:
        body = {"summary": summary}
        if time_zone:
            body["timeZone"] = time_zone
        return self._call("POST", f"/accounts/{_q(email)}/calendars", body)

    def events(self, email, calendar_id, include_deleted=True) -> list:
        return self._call("GET", f"/accounts/{_q(email)}/calendars/{_q(calendar_id)}/events",
                          params={"include_deleted": str(bool(include_deleted)).lower()})

    def get_event(self, email, calendar_id, event_id) -> dict:
        return self._call("GET", self._event_path(email, calendar_id, event_id))

    def insert_event(self, email, calendar_id, body) -> dict:
        return self._call("POST", f"/accounts/{_q(email)}/calendars/{_q(calendar_id)}/events",
                          body)

    def patch_event(self, email, calendar_id, event_id, body) -> dict:
        return self._call("PATCH", self._event_path(email, calendar_id, event_id), body)

    def delete_event(self, email, calendar_id, event_id):
        return self._call("DELETE", self._event_path(email, calendar_id, event_id))

    @staticmethod
    def _event_path(email, calendar_id, event_id):
        return f"/accounts/{_q(email)}/calendars/{_q(calendar_id)}/events/{_q(event_id)}"

    def channels(self) -> list:
        return self._call("GET", "/channels")

    # -- contacts ----------------------------------------------------------------------------------
    def contacts(self, email, include_deleted=False) -> list:
        return self._call("GET", f"/accounts/{_q(email)}/contacts",
                          params={"include_deleted": str(bool(include_deleted)).lower()})

    def create_contact(self, email, body) -> dict:
        return self._call("POST", f"/accounts/{_q(email)}/contacts", body)

    def patch_contact(self, email, resource_name, body) -> dict:
        return self._call("PATCH", f"/accounts/{_q(email)}/contacts/{_cid(resource_name)}",
                          body)

    def delete_contact(self, email, resource_name):
        return self._call("DELETE", f"/accounts/{_q(email)}/contacts/{_cid(resource_name)}")


class SimError(Exception):
    """A control API call failed; ``.response`` is the requests.Response."""

    def __init__(self, response):
        self.response = response
        super().__init__(f"{response.status_code} {response.text[:300]}")


def _q(value):
    return quote(value, safe="")


def _cid(resource_name):
    return _q(resource_name.split("/", 1)[1] if resource_name.startswith("people/")
              else resource_name)
