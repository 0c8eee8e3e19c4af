"""The Google API client: credentials, HTTP, service objects and error classification.

Pure module: no Flask, no models, no ``portal.extensions`` (a test enforces it). Callers pass
plain values (tokens, client id/secret, endpoints) and get plain values back; when google-auth
refreshes the access token, the new token is handed to the ``on_token_refresh`` callback the
caller supplied, which is where the caller stores it.

Public pieces the sync layer builds on (``portal/google/calendar_events.py``):

- :class:`GoogleClient` - one user's authorized client; ``.calendar`` is a ready Calendar v3
  ``Resource``, ``.execute(request)`` runs a request and raises classified errors.
- :func:`build_credentials`, :func:`build_http`, :func:`build_calendar_service`,
  :func:`build_people_service`, :func:`new_calendar_batch` - the building blocks.
- :func:`classify_error` - turns any exception from google-auth, httplib2 or
  google-api-python-client into :class:`ReauthorizationNeeded`, :class:`RateLimited`,
  :class:`TransientError` or :class:`PermanentError`.
"""
import copy
import json
import re
import socket
from datetime import timezone
from functools import lru_cache

import google.auth.exceptions
import google_auth_httplib2
import httplib2
import requests
from google.oauth2.credentials import Credentials
from googleapiclient.discovery import build_from_document
from googleapiclient.discovery_cache import get_static_doc
from googleapiclient.errors import HttpError
from portal.google.batch import BatchRequest

from portal.google.urls import GoogleEndpoints

DEFAULT_TIMEOUT = 30
CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar"
CONTACTS_SCOPE = "https://www.googleapis.com/auth/contacts"
#: what the portal asks for on the first consent (the calendar only)
SCOPES = (CALENDAR_SCOPE, "openid", "email")
#: asked for, on top of what was granted, when a user turns the contacts sync on
CONTACTS_SCOPES = SCOPES + (CONTACTS_SCOPE,)

# Refresh-token answers that only a new consent can fix.
_REAUTH_GRANT_ERRORS = {"invalid_grant", "unauthorized_client"}
_RATE_LIMIT_REASONS = {"rateLimitExceeded", "userRateLimitExceeded"}
_REAUTH_403_REASONS = {"insufficientPermissions", "ACCESS_TOKEN_SCOPE_INSUFFICIENT"}
# What an OAuth error code looks like (RFC 6749 section 5.2: invalid_grant, ...).
_OAUTH_CODE_RE = re.compile(r"[a-z][a-z_]{2,40}")


# -- errors ------------------------------------------------------------------------------------
class GoogleError(Exception):
    """Any failure talking to Google; ``status`` and ``reason`` when Google gave them."""

    def __init__(self, message, status=None, reason=None):
        super().__init__(message)
        self.status = status
        self.reason = reason


class ReauthorizationNeeded(GoogleError):
    """The grant is gone or too narrow (invalid_grant, 401 after a refresh, 403
    insufficientPermissions): stop this user's sync until they reconnect."""


class TransientError(GoogleError):
    """Worth retrying later with backoff: 5xx, timeouts, dropped connections."""


class RateLimited(TransientError):
    """429 or 403 rate-limit: back off exponentially with jitter, then retry.
    ``retry_after``: the seconds Google asked to wait (its Retry-After), or None."""

    retry_after = None


class PermanentError(GoogleError):
    """Retrying the same request cannot help (400, 404, 409, 410, 412, quotaExceeded...);
    log it and skip the item. ``status`` and ``reason`` say what Google answered."""


def _word(value):
    """``value`` when it is a short machine-readable string, else None: error bodies come from
    the network and may hold objects, lists or numbers where a reason string belongs."""
    if isinstance(value, str) and 0 < len(value) <= 100:
        return value
    return None


def _http_error_reason(exc):
    """Google's machine-readable reason of an HttpError (``errors[0].reason``), or None."""
    try:
        data = json.loads(exc.content.decode("utf-8"))
    except (ValueError, AttributeError, UnicodeDecodeError):
        return None
    error = data.get("error") if isinstance(data, dict) else None
    if not isinstance(error, dict):
        return None
    for key in ("errors", "details"):
        items = error.get(key)
        if isinstance(items, list) and items and isinstance(items[0], dict) \
                and _word(items[0].get("reason")):
            return items[0]["reason"]
    return _word(error.get("status"))


def _retry_after(exc):
    """Seconds from an HttpError's Retry-After header (a number of seconds), or None."""
    try:
        value = exc.resp.get("retry-after")
        return max(0.0, float(value)) if value is not None else None
    except (AttributeError, TypeError, ValueError):
        return None


def _refresh_error_code(exc):
    """The OAuth ``error`` of a failed refresh, or None when the token endpoint answered
    something else (Google's API envelope ``{"error": {...}}``, text, a proxy's page)."""
    data = exc.args[1] if len(exc.args) > 1 else None
    if isinstance(data, dict):
        code = data.get("error")
    else:
        code = (str(exc.args[0]) if exc.args else "").split(":", 1)[0].strip()
    return code if isinstance(code, str) and _OAUTH_CODE_RE.fullmatch(code) else None


def classify_error(exc):
    """Map any exception raised while calling Google to one of this module's errors.

    Returns (does not raise) the classified exception; an already classified one is returned
    unchanged. Rules (see /work/shared/GOOGLE_API.md):

    - refresh answered ``invalid_grant``/``unauthorized_client``, HTTP 401 (google-auth has
      already refreshed once and retried), 403 ``insufficientPermissions`` ->
      :class:`ReauthorizationNeeded`
    - 429, 403 ``rateLimitExceeded``/``userRateLimitExceeded`` -> :class:`RateLimited`
    - 5xx, timeouts, refused or dropped connections, retryable refresh failures ->
      :class:`TransientError`
    - anything else Google answered (400, 403 quotaExceeded, 404, 409, 410, 412...) ->
      :class:`PermanentError` with ``status`` and ``reason``
    """
    if isinstance(exc, GoogleError):
        return exc
    if isinstance(exc, google.auth.exceptions.RefreshError):
        code = _refresh_error_code(exc)
        if code in _REAUTH_GRANT_ERRORS:
            return ReauthorizationNeeded(f"Google refused the refresh token ({code}).",
                                         status=400, reason=code)
        if getattr(exc, "retryable", False):
            return TransientError(f"Token refresh failed, try again later ({code}).",
                                  reason=code)
        if code == "invalid_client":
            return PermanentError("Google rejected the portal's OAuth client (invalid_client).",
                                  status=401, reason=code)
        if code is None:
            # Not an OAuth answer (an outage page, an API error envelope): nothing says the
            # grant is bad, so try again later rather than fail the run for good.
            return TransientError("Google's token endpoint answered unexpectedly; will try "
                                  "again later.", reason="token_endpoint")
        return PermanentError(f"Token refresh failed ({code}).", reason=code)
    if isinstance(exc, google.auth.exceptions.TransportError):
        return TransientError(f"Could not reach Google's token endpoint: {exc}",
                              reason="connection")
    if isinstance(exc, HttpError):
        status = exc.resp.status
        reason = _http_error_reason(exc)
        message = f"Google answered {status} {reason or ''}".strip()
        if status == 401:
            return ReauthorizationNeeded(message, status=status, reason=reason or "authError")
        if status == 403 and reason in _REAUTH_403_REASONS:
            return ReauthorizationNeeded(message, status=status, reason=reason)
        if status == 429 or (status == 403 and reason in _RATE_LIMIT_REASONS):
            limited = RateLimited(message, status=status, reason=reason or "rateLimitExceeded")
            limited.retry_after = _retry_after(exc)
            return limited
        if status >= 500:
            return TransientError(message, status=status, reason=reason)
        return PermanentError(message, status=status, reason=reason)
    if isinstance(exc, (socket.timeout, TimeoutError, ConnectionError, OSError,
                        httplib2.HttpLib2Error, requests.RequestException)):
        return TransientError(f"Connection to Google failed: {exc.__class__.__name__}",
                              reason="connection")
    return PermanentError(f"Unexpected error talking to Google: {exc.__class__.__name__}")


def execute(request, num_retries=0):
    """Run a google-api-python-client request; raise a classified :class:`GoogleError`.

    ``num_retries`` is the client library's own retry (429/5xx); the sync layer usually keeps
    it at 0 and does its own backoff."""
    try:
        return request.execute(num_retries=num_retries)
    except Exception as exc:  # noqa: BLE001 - every failure is classified, none swallowed
        raise classify_error(exc) from exc


# -- building blocks ---------------------------------------------------------------------------
def _naive_utc(value):
    """google-auth compares expiry with a naive UTC ``utcnow()``."""
    if value is None or value.tzinfo is None:
        return value
    return value.astimezone(timezone.utc).replace(tzinfo=None)


class _NotifyingCredentials(Credentials):
    """Credentials that report each refreshed access token to a callback."""

    def __init__(self, *args, on_token_refresh=None, **kwargs):
        super().__init__(*args, **kwargs)
        self._on_token_refresh = on_token_refresh

    def refresh(self, request):
        super().refresh(request)
        if self._on_token_refresh is not None:
            expiry = self.expiry.replace(tzinfo=timezone.utc) if self.expiry else None
            self._on_token_refresh(self.token, expiry)


def build_credentials(*, token_uri, client_id, client_secret, refresh_token, access_token=None,
                      expiry=None, scopes=None, on_token_refresh=None):
    """google-auth Credentials from plain values.

    ``expiry`` may be aware (any zone) or naive UTC; it is passed on as naive UTC.
    ``on_token_refresh(access_token, expiry_aware_utc)`` is called after every refresh.
    Never uses ``Credentials.from_authorized_user_info``: it resets ``token_uri`` to Google's
    and would bypass ``GOOGLE_BASE_URL``."""
    return _NotifyingCredentials(
        access_token, refresh_token=refresh_token, token_uri=token_uri, client_id=client_id,
        client_secret=client_secret, scopes=list(scopes) if scopes else None,
        expiry=_naive_utc(expiry), on_token_refresh=on_token_refresh)


def build_http(credentials=None, timeout=DEFAULT_TIMEOUT):
    """An httplib2 transport for google-api-python-client, authorized when ``credentials``
    are given. ``proxy_info=None``: httplib2 refuses to run with a proxy variable set and no
    PySocks, even for loopback."""
    http = httplib2.Http(proxy_info=None, timeout=timeout)
    if credentials is None:
        return http
    return google_auth_httplib2.AuthorizedHttp(credentials, http=http)


@lru_cache(maxsize=None)
def _static_discovery_doc(name, version):
    # Parsed once per process; each build gets a deep copy so no service shares state.
    return json.loads(get_static_doc(name, version))


def _build(name, version, http, api_endpoint):
    return build_from_document(copy.deepcopy(_static_discovery_doc(name, version)), http=http,
                               client_options={"api_endpoint": api_endpoint})


def build_calendar_service(http, endpoints: GoogleEndpoints):
    """A Calendar v3 ``Resource`` over ``http`` (see :func:`build_http`) talking to
    ``endpoints.calendar_api``. Same as ``build("calendar", "v3", static_discovery=True,
    client_options=...)`` but the shipped discovery document is parsed once per process."""
    return _build("calendar", "v3", http, endpoints.calendar_api)


def build_people_service(http, endpoints: GoogleEndpoints):
    """A People v1 ``Resource`` (contacts) over ``http`` talking to ``endpoints.people_api``."""
    return _build("people", "v1", http, endpoints.people_api)


def new_calendar_batch(endpoints: GoogleEndpoints, callback=None):
    """A Calendar batch request; ``service.new_batch_http_request()`` would ignore the
    configured endpoint and go to Google."""
    return BatchRequest(callback=callback, batch_uri=endpoints.calendar_batch)


# -- the client --------------------------------------------------------------------------------
class GoogleClient:
    """One user's authorized access to Google.

    ``on_token_refresh(access_token, expiry)`` receives every refreshed access token (aware
    UTC expiry) so the caller can store it; this module never touches the database."""

    def __init__(self, *, endpoints: GoogleEndpoints, client_id, client_secret, refresh_token,
                 access_token=None, expiry=None, scopes=None, on_token_refresh=None,
                 timeout=DEFAULT_TIMEOUT):
        self.endpoints = endpoints
        self.timeout = timeout
        self.credentials = build_credentials(
            token_uri=endpoints.token, client_id=client_id, client_secret=client_secret,
            refresh_token=refresh_token, access_token=access_token, expiry=expiry,
            scopes=scopes, on_token_refresh=on_token_refresh)
        self.http = build_http(self.credentials, timeout=timeout)
        self._calendar = None
        self._people = None

    @property
    def calendar(self):
        """Calendar v3 Resource (built on first use)."""
        if self._calendar is None:
            self._calendar = build_calendar_service(self.http, self.endpoints)
        return self._calendar

    @property
    def people(self):
        """People v1 Resource (built on first use)."""
        if self._people is None:
            self._people = build_people_service(self.http, self.endpoints)
        return self._people

    def execute(self, request, num_retries=0):
        """Run a request built from ``.calendar``/``.people``; see :func:`execute`."""
        return execute(request, num_retries=num_retries)

    def refresh_if_needed(self):
        """Refresh the access token now if it is missing or about to expire (google-auth's
        threshold); classified errors as :func:`classify_error`."""
        if self.credentials.valid:
            return False
        try:
            self.credentials.refresh(google_auth_httplib2.Request(build_http(timeout=self.timeout)))
        except Exception as exc:  # noqa: BLE001
            raise classify_error(exc) from exc
        return True

    def calendar_list(self):
        """Every calendar in the user's calendarList, primary first, then by name.

        Each item: ``id``, ``summary``, ``primary`` (bool), ``accessRole``, ``timeZone``."""
        items, page_token = [], None
        while True:
            response = self.execute(self.calendar.calendarList().list(
                pageToken=page_token, maxResults=250, showHidden=True))
            for entry in response.get("items", []):
                items.append({"id": entry["id"],
                              "summary": entry.get("summaryOverride") or entry.get("summary")
                              or entry["id"],
                              "primary": bool(entry.get("primary")),
                              "accessRole": entry.get("accessRole", "reader"),
                              "timeZone": entry.get("timeZone")})
            page_token = response.get("nextPageToken")
            if not page_token:
                break
        items.sort(key=lambda c: (not c["primary"], c["summary"].lower()))
        return items

    def create_calendar(self, summary, time_zone=None):
        """Create a secondary calendar named ``summary``; returns ``{"id", "summary"}``."""
        body = {"summary": summary}
        if time_zone:
            body["timeZone"] = time_zone
        created = self.execute(self.calendar.calendars().insert(body=body))
        return {"id": created["id"], "summary": created.get("summary", summary)}


# -- token endpoint helpers (no user grant needed) -------------------------------------------
def revoke_token(endpoints: GoogleEndpoints, token, timeout=DEFAULT_TIMEOUT):
    """Revoke a refresh (or access) token at Google. True when Google confirmed it, or the
    token was already invalid (400 invalid_token); raises :class:`TransientError` when Google
    could not be reached."""
    try:
        response = requests.post(endpoints.revoke, data={"token": token}, timeout=timeout,
                                  headers={"Content-Type": "application/x-www-form-urlencoded"})
    except requests.RequestException as exc:
        raise classify_error(exc) from exc
    if response.status_code == 200:
        return True
    if response.status_code == 400:
        return True  # already revoked or expired: the goal is reached
    raise TransientError(f"Google answered {response.status_code} to the revocation",
                         status=response.status_code)


# Results of check_client_credentials
CLIENT_VALID = "valid"
CLIENT_INVALID = "invalid_client"


def check_client_credentials(endpoints: GoogleEndpoints, client_id, client_secret,
                             timeout=10):
    """Ask Google's token endpoint whether the OAuth client id/secret pair is valid.

    Sends a refresh-token grant with a token that cannot exist: a valid client gets
    ``400 invalid_grant``, a wrong id or secret ``401 invalid_client``. Returns
    :data:`CLIENT_VALID` or :data:`CLIENT_INVALID`; raises :class:`TransientError` when Google
    cannot be reached or answers something unexpected."""
    try:
        response = requests.post(
            endpoints.token, timeout=timeout,
            data={"grant_type": "refresh_token", "refresh_token": "portal-credentials-check",
                  "client_id": client_id, "client_secret": client_secret})
    except requests.RequestException as exc:
        raise TransientError(f"Could not reach Google's token endpoint ({endpoints.token}): "
                             f"{exc.__class__.__name__}", reason="connection") from exc
    try:
        data = response.json()
    except ValueError:
        data = None
    error = _word(data.get("error")) if isinstance(data, dict) else None
    if error == "invalid_grant" and response.status_code == 400:
        return CLIENT_VALID
    if error in ("invalid_client", "unauthorized_client"):
        return CLIENT_INVALID
    raise TransientError(f"Google's token endpoint answered {response.status_code} "
                         f"{error or ''}".strip(), status=response.status_code, reason=error)
