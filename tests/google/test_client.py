"""portal.google.client against googlesim: pure module, service building, error classes."""
import socket
from datetime import datetime, timedelta, timezone

import pytest

from portal.google import client as gclient
from portal.google.urls import google_endpoints

CAL = "https://www.googleapis.com/auth/calendar"
EMAIL = "ada.g@example.com"


def test_real_hosts_when_no_base_url():
    endpoints = google_endpoints(None)
    assert endpoints.authorize == "https://accounts.google.com/o/oauth2/v2/auth"
    assert endpoints.token == "https://oauth2.googleapis.com/token"
    assert endpoints.calendar_api == "https://www.googleapis.com/calendar/v3/"
    assert not endpoints.sandbox


@pytest.fixture
def tokens(sim, googlesim_server):
    sim.register_client("c1", "s1", ["http://localhost/cb"])
    issued = sim.issue_tokens(EMAIL, "c1", [CAL, "openid", "email"])
    return issued


def _client(base_url, tokens, **kwargs):
    values = dict(endpoints=google_endpoints(base_url), client_id="c1", client_secret="s1",
                  refresh_token=tokens["refresh_token"], access_token=tokens["access_token"],
                  expiry=datetime.now(timezone.utc) + timedelta(minutes=50), scopes=[CAL])
    values.update(kwargs)
    return gclient.GoogleClient(**values)


def test_calendar_list_and_create_calendar(googlesim_server, tokens):
    google = _client(googlesim_server.base_url, tokens)
    created = google.create_calendar("Team", time_zone="Europe/Madrid")
    listed = google.calendar_list()
    assert listed[0] == {"id": EMAIL, "summary": EMAIL, "primary": True,
                         "accessRole": "owner", "timeZone": listed[0]["timeZone"]}
    assert created["id"] in [c["id"] for c in listed]


def test_refresh_calls_back_with_the_new_token(googlesim_server, tokens):
    seen = []
    google = _client(googlesim_server.base_url, tokens,
                     expiry=datetime.now(timezone.utc) - timedelta(seconds=5),
                     on_token_refresh=lambda token, expiry: seen.append((token, expiry)))
    google.calendar_list()
    [(token, expiry)] = seen
    assert token != tokens["access_token"]
    assert expiry.tzinfo is not None and expiry > datetime.now(timezone.utc)


@pytest.mark.parametrize("status,reason,expected", [
    (429, "rateLimitExceeded", gclient.RateLimited),
    (403, "userRateLimitExceeded", gclient.RateLimited),
    (403, "rateLimitExceeded", gclient.RateLimited),
    (403, "quotaExceeded", gclient.PermanentError),
    (403, "insufficientPermissions", gclient.ReauthorizationNeeded),
    (500, "backendError", gclient.TransientError),
    (503, None, gclient.TransientError),
    (404, "notFound", gclient.PermanentError),
    (412, "conditionNotMet", gclient.PermanentError),
])
def test_errors_are_classified(sim, googlesim_server, tokens, status, reason, expected):
    sim.fault(path="/calendar/v3/users/me/calendarList", status=status, reason=reason)
    with pytest.raises(expected) as info:
        _client(googlesim_server.base_url, tokens).calendar_list()
    assert info.value.status == status
    if reason and expected is gclient.PermanentError:
        assert info.value.reason == reason


def test_revoked_refresh_token_needs_reauthorization(sim, googlesim_server, tokens):
    sim.revoke_grants(EMAIL)
    google = _client(googlesim_server.base_url, tokens,
                     expiry=datetime.now(timezone.utc) - timedelta(seconds=5))
    with pytest.raises(gclient.ReauthorizationNeeded) as info:
        google.calendar_list()
    assert info.value.reason == "invalid_grant"


def test_401_after_refresh_needs_reauthorization(sim, googlesim_server, tokens):
    sim.fault(path="/calendar/v3/users/me/calendarList", status=401, count=10)
    with pytest.raises(gclient.ReauthorizationNeeded):
        _client(googlesim_server.base_url, tokens).calendar_list()


def test_dropped_connection_is_transient(sim, googlesim_server, tokens):
    sim.fault(path="/calendar/v3/users/me/calendarList", drop=True, count=5)
    with pytest.raises(gclient.TransientError):
        _client(googlesim_server.base_url, tokens).calendar_list()


def test_unreachable_host_is_transient(tokens):
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(gclient.TransientError):
        _client(f"http://127.0.0.1:{port}", tokens, timeout=2).calendar_list()
    with pytest.raises(gclient.TransientError):
        gclient.check_client_credentials(google_endpoints(f"http://127.0.0.1:{port}"), "c", "s")


def test_check_client_credentials(googlesim_server, tokens):
    endpoints = google_endpoints(googlesim_server.base_url)
    assert gclient.check_client_credentials(endpoints, "c1", "s1") == gclient.CLIENT_VALID
    assert gclient.check_client_credentials(endpoints, "c1", "nope") == gclient.CLIENT_INVALID
    assert gclient.check_client_credentials(endpoints, "nobody", "s1") == gclient.CLIENT_INVALID


def test_new_calendar_batch_uses_the_configured_endpoint(googlesim_server):
    endpoints = google_endpoints(googlesim_server.base_url)
    batch = gclient.new_calendar_batch(endpoints)
    assert batch._batch_uri == googlesim_server.base_url + "/batch/calendar/v3"


@pytest.fixture
def no_auth_backoff(monkeypatch):
    """google-auth retries a 5xx from the token endpoint after sleeping 1 s, then 2 s."""
    from types import SimpleNamespace

    from google.auth import _exponential_backoff

    monkeypatch.setattr(_exponential_backoff, "time", SimpleNamespace(sleep=lambda s: None))


@pytest.mark.parametrize("status,count,expected", [
    # Google's API envelope ({"error": {"code", "message", "errors", "status"}}) from the
    # token endpoint: a JSON object where the OAuth spec puts a string
    (503, 5, gclient.TransientError),
    (500, 5, gclient.TransientError),
    (400, 1, gclient.TransientError),
])
def test_any_error_body_of_the_token_endpoint_is_classified(sim, googlesim_server, tokens,
                                                            no_auth_backoff, status, count,
                                                            expected):
    sim.fault(method="POST", path="/token", status=status, count=count)
    google = _client(googlesim_server.base_url, tokens,
                     expiry=datetime.now(timezone.utc) - timedelta(seconds=5))
    with pytest.raises(expected) as info:
        google.calendar_list()
    assert type(info.value) is expected
    assert isinstance(info.value.reason, (str, type(None)))


def test_check_client_credentials_survives_an_error_object(sim, googlesim_server, tokens):
    sim.fault(method="POST", path="/token", status=400, count=1)
    with pytest.raises(gclient.TransientError):
        gclient.check_client_credentials(google_endpoints(googlesim_server.base_url), "c1", "s1")


@pytest.mark.parametrize("body", [
    b'{"error": {"code": 403, "errors": [{"reason": {"nested": true}}]}}',
    b'{"error": {"code": 403, "errors": [{"reason": ["x"]}], "status": {"a": 1}}}',
    b'{"error": ["not", "an", "object"]}',
    b'["a list"]',
    b'"a string"',
    b'\xff\xfe not utf-8',
])
def test_http_errors_with_any_body_shape_are_classified(body):
    import httplib2
    from googleapiclient.errors import HttpError

    exc = HttpError(httplib2.Response({"status": 403}), body)
    classified = gclient.classify_error(exc)
    assert isinstance(classified, gclient.PermanentError)
    assert isinstance(classified.reason, (str, type(None)))


@pytest.mark.parametrize("data", [
    {"error": {"code": 400, "status": "INVALID_ARGUMENT"}},
    {"error": ["a", "list"]},
    {"error": None, "error_description": {"x": 1}},
    ["a list"],
    "plain text",
    None,
])
def test_refresh_errors_with_any_body_shape_are_classified(data):
    import google.auth.exceptions

    exc = google.auth.exceptions.RefreshError("refresh failed", data)
    classified = gclient.classify_error(exc)
    assert isinstance(classified, gclient.GoogleError)
    assert isinstance(classified.reason, (str, type(None)))
