"""The /_sim/ control API: faults, stats, reset, expiry, persistence, push channels, CLI."""
import json
import queue
import socket
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from http.server import BaseHTTPRequestHandler, HTTPServer

import httplib2
import pytest
import requests
from google.auth.exceptions import RefreshError
from googleapiclient.errors import HttpError

from googlesim.testing import (SCOPE_CALENDAR, TEST_CLIENT_ID, TEST_CLIENT_SECRET,
                               TEST_REDIRECT_URI, TEST_USER as USER, SimControl, SimError,
                               start_sim)

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
EVENTS = "/calendar/v3/calendars/"


def reason(exc):
    return exc.value.resp.status, json.loads(exc.value.content)["error"]["errors"][0]["reason"]


@pytest.mark.parametrize("status, why", [
    (429, "rateLimitExceeded"), (403, "rateLimitExceeded"), (403, "userRateLimitExceeded"),
    (403, "quotaExceeded"), (500, "backendError"), (503, "backendError")])
def test_status_faults_answer_in_the_google_envelope(ctl, cal, status, why):
    ctl.fault(method="GET", path=EVENTS, status=status, reason=why)
    with pytest.raises(HttpError) as exc:
        cal.events().list(calendarId="primary").execute()
    assert reason(exc) == (status, why)
    assert cal.events().list(calendarId="primary").execute()["items"] == []  # used up


def test_fault_count_method_and_path_matching(ctl, cal, timed):
    ctl.fault(method="POST", path=EVENTS, status=503, count=2)
    assert cal.calendarList().list().execute()["items"]  # other paths untouched
    cal.events().list(calendarId="primary").execute()  # GET untouched
    for _ in range(2):
        with pytest.raises(HttpError):
            cal.events().insert(calendarId="primary", body=timed(T0)).execute()
    assert cal.events().insert(calendarId="primary", body=timed(T0)).execute()["id"]


def test_google_client_retries_rate_limits_through_faults(ctl, cal):
    ctl.fault(path=EVENTS, status=429, reason="rateLimitExceeded", count=2)
    # googleapiclient's own backoff (num_retries) gets through after two 429s
    req = cal.events().list(calendarId="primary")
    req._sleep = lambda seconds: None
    assert req.execute(num_retries=3)["items"] == []
    assert ctl.stats()["requests"]["GET /calendar/v3/calendars/{calendarId}/events"] == 3


def test_dropped_connection_is_a_connection_error(ctl, cal, base):
    s = requests.Session()
    s.trust_env = False
    ctl.fault(path="/calendar/v3/users/me/calendarList", drop=True)
    with pytest.raises(requests.ConnectionError):
        s.get(base + "/calendar/v3/users/me/calendarList")
    # httplib2 silently retries a dropped connection once, so drop twice to surface it
    ctl.fault(path="/calendar/v3/users/me/calendarList", drop=True, count=2)
    with pytest.raises((ConnectionError, httplib2.HttpLib2Error, OSError)):
        cal.calendarList().list().execute()
    assert cal.calendarList().list().execute()["items"][0]["id"] == USER


def test_delay_fault_slows_the_answer(ctl, cal):
    ctl.fault(path="/calendar/v3/users/me/calendarList", delay_ms=300)
    started = time.monotonic()
    assert cal.calendarList().list().execute()["items"]
    assert time.monotonic() - started >= 0.3


def test_faults_never_touch_the_control_api(ctl):
    ctl.fault(status=500, count=5)
    assert ctl.stats()["total"] == 0
    assert len(requests.get(ctl.base_url + "/_sim/faults").json()) == 1
    ctl.clear_faults()
    assert requests.get(ctl.base_url + "/_sim/faults").json() == []


def test_control_api_is_loopback_only(ctl, gsim):
    ctl.create_account("kept@example.com")
    # werkzeug's test client lets us pretend to be a remote machine
    remote = gsim.app.test_client().post("/_sim/reset",
                                         environ_overrides={"REMOTE_ADDR": "10.1.2.3"})
    assert remote.status_code == 403
    assert remote.json["error"]["code"] == 403
    assert [a["email"] for a in ctl.accounts()] == ["kept@example.com"]
    web = gsim.app.test_client()
    for method, path, body in (("GET", "/_sim/stats", None), ("GET", "/_sim/accounts", None),
                               ("POST", "/_sim/faults", {"status": 500}),
                               ("POST", "/_sim/clients", {"client_id": "x",
                                                          "client_secret": "y",
                                                          "redirect_uris": []}),
                               ("POST", "/_sim/tokens", {"email": "kept@example.com",
                                                         "client_id": TEST_CLIENT_ID,
                                                         "scopes": [SCOPE_CALENDAR]})):
        r = web.open(path, method=method, json=body,
                     environ_overrides={"REMOTE_ADDR": "192.168.7.7"})
        assert r.status_code == 403, path
    assert ctl.stats()["total"] == 0
    assert requests.get(ctl.base_url + "/_sim/faults").json() == []
    assert all(c["client_id"] != "x" for c in requests.get(ctl.base_url +
                                                           "/_sim/clients").json())
    # Google's own paths stay open to other machines (the portal may run elsewhere)
    assert web.get("/.well-known/openid-configuration",
                   environ_overrides={"REMOTE_ADDR": "192.168.7.7"}).status_code == 200


def test_bad_fault_and_client_specs_are_400(ctl):
    for call in (lambda: ctl.fault(),
                 lambda: ctl.fault(status=200),
                 lambda: ctl.fault(status=500, count=0),
                 lambda: ctl.register_client("x", "", ["http://a/cb"])):
        with pytest.raises(SimError) as exc:
            call()
        assert exc.value.response.status_code == 400
    r = requests.post(ctl.base_url + "/_sim/clients", data="{oops",
                      headers={"Content-Type": "application/json"})
    assert r.status_code == 400


def test_stats_count_requests_by_method_and_template(ctl, cal, timed):
    ctl.stats_reset()
    cal.calendarList().list().execute()
    ev = cal.events().insert(calendarId="primary", body=timed(T0)).execute()
    cal.events().get(calendarId="primary", eventId=ev["id"]).execute()
    cal.events().get(calendarId="primary", eventId=ev["id"]).execute()
    stats = ctl.stats()
    assert stats["total"] == 4
    assert stats["requests"] == {
        "GET /calendar/v3/users/me/calendarList": 1,
        "POST /calendar/v3/calendars/{calendarId}/events": 1,
        "GET /calendar/v3/calendars/{calendarId}/events/{eventId}": 2}
    ctl.stats_reset()
    assert ctl.stats()["total"] == 0 and ctl.stats()["requests"] == {}


def test_reset_forgets_everything(ctl, cal, timed):
    cal.events().insert(calendarId="primary", body=timed(T0)).execute()
    ctl.reset()
    assert ctl.accounts() == []
    # the access token is gone (401), and the refresh fails: the client is forgotten too
    with pytest.raises(RefreshError, match="invalid_client"):
        cal.calendarList().list().execute()


def test_create_account_and_secondary_calendar(ctl):
    acct = ctl.create_account("eve@example.com", name="Eve Example")
    assert acct["email"] == "eve@example.com" and acct["name"] == "Eve Example"
    made = ctl.create_calendar("eve@example.com", "Sales")
    cals = ctl.calendars("eve@example.com")
    assert [c["id"] for c in cals] == ["eve@example.com", made["id"]]
    assert cals[0]["primary"] is True
    with pytest.raises(SimError):
        ctl.calendars("nobody@example.com")


def test_state_survives_a_restart_with_a_data_file(tmp_path, timed):
    path = str(tmp_path / "sim.sqlite")
    with start_sim(data=path) as first:
        ctl = SimControl(first.base_url)
        ctl.register_client(TEST_CLIENT_ID, TEST_CLIENT_SECRET, [TEST_REDIRECT_URI])
        tokens = ctl.issue_tokens(USER, TEST_CLIENT_ID, [SCOPE_CALENDAR])
        ctl.insert_event(USER, "primary", dict(timed(T0), id="kept0001", summary="Kept"))
        ctl.delete_event(USER, "primary", "kept0001")
        ctl.insert_event(USER, "primary", dict(timed(T0), id="kept0002"))
    with start_sim(data=path) as second:
        ctl = SimControl(second.base_url)
        assert [(e["id"], e["status"]) for e in ctl.events(USER, "primary")] == \
            [("kept0001", "cancelled"), ("kept0002", "confirmed")]
        s = requests.Session()
        s.trust_env = False
        r = s.post(second.base_url + "/token", data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
            "client_id": TEST_CLIENT_ID, "client_secret": TEST_CLIENT_SECRET})
        assert r.status_code == 200
        headers = {"Authorization": "Bearer " + r.json()["access_token"]}
        listed = s.get(second.base_url + "/calendar/v3/calendars/primary/events",
                       headers=headers).json()
        sync = listed["nextSyncToken"]
        ctl.patch_event(USER, "primary", "kept0002", {"summary": "after restart"})
    with start_sim(data=path) as third:
        # the sync token from before the restart still works, and sees the change
        s = requests.Session()
        s.trust_env = False
        r = s.post(third.base_url + "/token", data={
            "grant_type": "refresh_token", "refresh_token": tokens["refresh_token"],
            "client_id": TEST_CLIENT_ID, "client_secret": TEST_CLIENT_SECRET})
        headers = {"Authorization": "Bearer " + r.json()["access_token"]}
        inc = s.get(third.base_url + "/calendar/v3/calendars/primary/events",
                    params={"syncToken": sync}, headers=headers).json()
        assert [e["summary"] for e in inc["items"]] == ["after restart"]


# -- push channels ------------------------------------------------------------------------------
@pytest.fixture
def receiver():
    """A loopback HTTP server that records the notifications it gets."""
    got = queue.Queue()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            length = int(self.headers.get("Content-Length") or 0)
            got.put((dict(self.headers), self.rfile.read(length)))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}/hook", got
    server.shutdown()
    server.server_close()


def test_watch_sends_sync_then_exists_and_stop_ends_it(ctl, cal, timed, receiver):
    address, got = receiver
    channel = cal.events().watch(calendarId="primary", body={
        "id": "chan-1", "type": "web_hook", "address": address, "token": "secret-token"}) \
        .execute()
    assert channel["id"] == "chan-1" and channel["resourceId"] and channel["kind"] == \
        "api#channel"
    headers, body = got.get(timeout=5)
    assert headers["X-Goog-Channel-ID"] == "chan-1"
    assert headers["X-Goog-Resource-State"] == "sync"
    assert headers["X-Goog-Resource-ID"] == channel["resourceId"]
    assert headers["X-Goog-Channel-Token"] == "secret-token"
    assert headers["X-Goog-Message-Number"] == "1" and body == b""
    ctl.insert_event(USER, "primary", timed(T0))
    headers, _ = got.get(timeout=5)
    assert headers["X-Goog-Resource-State"] == "exists"
    assert int(headers["X-Goog-Message-Number"]) == 2
    with pytest.raises(HttpError) as exc:  # channel ids are unique
        cal.events().watch(calendarId="primary", body={"id": "chan-1", "type": "web_hook",
                                                        "address": address}).execute()
    assert exc.value.resp.status == 400
    cal.channels().stop(body={"id": "chan-1", "resourceId": channel["resourceId"]}).execute()
    assert ctl.channels() == []
    cal.events().insert(calendarId="primary", body=timed(T0)).execute()
    with pytest.raises(queue.Empty):
        got.get(timeout=0.5)
    with pytest.raises(HttpError) as exc:
        cal.channels().stop(body={"id": "chan-1", "resourceId": channel["resourceId"]}) \
            .execute()
    assert exc.value.resp.status == 404


def test_a_channel_past_its_expiration_stops_notifying(ctl, cal, timed, receiver):
    address, got = receiver
    expiration = int((time.time() + 1.0) * 1000)
    channel = cal.events().watch(calendarId="primary", body={
        "id": "chan-exp", "type": "web_hook", "address": address,
        "expiration": str(expiration)}).execute()
    assert channel["expiration"] == str(expiration)
    assert got.get(timeout=5)[0]["X-Goog-Resource-State"] == "sync"
    cal.events().insert(calendarId="primary", body=timed(T0)).execute()
    headers, _ = got.get(timeout=5)
    assert headers["X-Goog-Resource-State"] == "exists"
    assert headers["X-Goog-Channel-Expiration"] == str(expiration)
    time.sleep(max(0.0, expiration / 1000 - time.time()) + 0.1)
    cal.events().insert(calendarId="primary", body=timed(T0)).execute()
    with pytest.raises(queue.Empty):
        got.get(timeout=0.5)
    with pytest.raises(HttpError) as exc:
        cal.events().watch(calendarId="primary", body={
            "id": "chan-bad", "type": "web_hook", "address": address,
            "expiration": "next week"}).execute()
    assert exc.value.resp.status == 400


def test_guest_copies_notify_the_guests_channels(ctl, make_creds, calendar_for, timed,
                                                 receiver):
    address, got = receiver
    ann = calendar_for(make_creds("ann@example.com"))
    bob = calendar_for(make_creds("bob@example.com"))
    bob.events().watch(calendarId="primary", body={
        "id": "bob-chan", "type": "web_hook", "address": address}).execute()
    assert got.get(timeout=5)[0]["X-Goog-Resource-State"] == "sync"
    ann.events().insert(calendarId="primary", body=timed(T0)).execute()  # not Bob's
    with pytest.raises(queue.Empty):
        got.get(timeout=0.4)
    ann.events().insert(calendarId="primary", body=dict(
        timed(T0), id="meet00001", attendees=[{"email": "bob@example.com"}])).execute()
    headers, _ = got.get(timeout=5)
    assert (headers["X-Goog-Channel-ID"], headers["X-Goog-Resource-State"]) == \
        ("bob-chan", "exists")
    ann.events().patch(calendarId="primary", eventId="meet00001",
                       body={"summary": "Changed by Ann"}).execute()
    assert got.get(timeout=5)[0]["X-Goog-Channel-ID"] == "bob-chan"


def test_watch_to_a_dead_address_is_harmless(ctl, cal, timed):
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()
    cal.events().watch(calendarId="primary", body={
        "id": "chan-2", "type": "web_hook", "address": f"http://127.0.0.1:{port}/x"}).execute()
    assert cal.events().insert(calendarId="primary", body=timed(T0)).execute()["id"]


# -- command line ---------------------------------------------------------------------------------
def test_python_m_googlesim_serves_on_the_given_port(tmp_path):
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()
    proc = subprocess.Popen([sys.executable, "-m", "googlesim", "--host", "127.0.0.1",
                             "--port", str(port), "--auto-consent",
                             "--data", str(tmp_path / "cli.sqlite")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        s = requests.Session()
        s.trust_env = False
        for _ in range(100):
            try:
                conf = s.get(f"http://127.0.0.1:{port}/.well-known/openid-configuration",
                             timeout=1)
                break
            except requests.ConnectionError:
                time.sleep(0.05)
        assert conf.json()["issuer"] == f"http://127.0.0.1:{port}"
        assert s.get(f"http://127.0.0.1:{port}/_sim/settings").json()["auto_consent"] is True
    finally:
        proc.terminate()
        proc.wait(timeout=5)


# -- the control API contract, exactly as issue 2 words it (plain HTTP, JSON in and out) -------
def _raw():
    s = requests.Session()
    s.trust_env = False
    return s


def test_fault_contract_null_method_and_path_mean_any_request(ctl, cal, people, base):
    s = _raw()
    r = s.post(base + "/_sim/faults", json={"method": None, "path": None, "status": 429,
                                            "reason": "rateLimitExceeded", "count": 3})
    assert r.status_code in (200, 201) and r.headers["Content-Type"] == "application/json"
    with pytest.raises(HttpError) as exc:
        cal.calendarList().list().execute()
    assert reason(exc) == (429, "rateLimitExceeded")
    with pytest.raises(HttpError) as exc:
        people.people().createContact(body={"names": [{"givenName": "X"}]}).execute()
    assert reason(exc) == (429, "rateLimitExceeded")
    assert s.post(base + "/token", data={"grant_type": "refresh_token"}).status_code == 429
    assert cal.calendarList().list().execute()["items"]  # count used up
    assert s.get(base + "/_sim/faults").json() == []


@pytest.mark.parametrize("status, why, retried", [
    (403, "userRateLimitExceeded", True), (403, "quotaExceeded", False),
    (500, None, True), (503, None, True)])
def test_status_faults_and_the_clients_retry_policy(ctl, cal, base, status, why, retried):
    spec = {"method": "GET", "path": "/calendar/v3/users/me/calendarList", "status": status,
            "count": 1}
    if why:
        spec["reason"] = why
    assert _raw().post(base + "/_sim/faults", json=spec).status_code in (200, 201)
    req = cal.calendarList().list()
    req._sleep = lambda seconds: None
    if retried:  # googleapiclient's num_retries gets through what Google says to retry
        assert req.execute(num_retries=2)["items"]
        assert ctl.stats()["requests"]["GET /calendar/v3/users/me/calendarList"] == 2
    else:
        with pytest.raises(HttpError) as exc:
            req.execute(num_retries=2)
        assert reason(exc) == (403, "quotaExceeded")
        assert ctl.stats()["requests"]["GET /calendar/v3/users/me/calendarList"] == 1


def test_drop_and_delay_faults_given_as_raw_json(ctl, base):
    s = _raw()
    token = ctl.issue_tokens(USER, TEST_CLIENT_ID, [SCOPE_CALENDAR])["access_token"]
    headers = {"Authorization": "Bearer " + token}
    url = base + "/calendar/v3/users/me/calendarList"
    s.post(base + "/_sim/faults", json={"method": "GET", "path": "/calendar/v3/", "drop": True,
                                        "count": 1})
    with pytest.raises(requests.ConnectionError):
        s.get(url, headers=headers)
    assert s.get(url, headers=headers).status_code == 200
    s.post(base + "/_sim/faults", json={"method": None, "path": None, "delay_ms": 250})
    started = time.monotonic()
    assert s.get(url, headers=headers).status_code == 200
    assert time.monotonic() - started >= 0.25
    started = time.monotonic()
    s.get(url, headers=headers)
    assert time.monotonic() - started < 0.25  # count defaults to 1
    # delay plus status: a slow failure
    s.post(base + "/_sim/faults", json={"path": "/calendar/v3/", "delay_ms": 100,
                                        "status": 503})
    started = time.monotonic()
    assert s.get(url, headers=headers).status_code == 503
    assert time.monotonic() - started >= 0.1


def test_bad_fault_specs_are_400_and_arm_nothing(ctl, base):
    s = _raw()
    for spec in ({"method": 5, "status": 500}, {"path": ["/x"], "status": 500},
                 {"delay_ms": "soon"}, {"delay_ms": -1}, {"status": "500"},
                 {"status": 500, "count": "2"}, {"status": True}, {"reason": 5, "status": 403}):
        r = s.post(base + "/_sim/faults", json=spec)
        assert r.status_code == 400, spec
        assert r.json()["error"]["code"] == 400
    assert s.get(base + "/_sim/faults").json() == []


def test_expire_contract_access_tokens_only_leaves_sync_tokens(ctl, cal, base, timed):
    s = _raw()
    sync = cal.events().list(calendarId="primary").execute()["nextSyncToken"]
    token = ctl.issue_tokens(USER, TEST_CLIENT_ID, [SCOPE_CALENDAR])["access_token"]
    r = s.post(base + "/_sim/expire", json={"access_tokens": True})
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    raw = s.get(base + "/calendar/v3/calendars/primary/events",
                headers={"Authorization": "Bearer " + token}, params={"syncToken": sync})
    assert raw.status_code == 401 and raw.json()["error"]["errors"][0]["reason"] == "authError"
    # the google-auth client refreshes and its sync token still works
    assert cal.events().list(calendarId="primary", syncToken=sync).execute()["items"] == []
    s.post(base + "/_sim/expire", json={"sync_tokens": True})
    with pytest.raises(HttpError) as exc:
        cal.events().list(calendarId="primary", syncToken=sync).execute()
    assert reason(exc) == (410, "fullSyncRequired")


def test_stats_contract_counts_every_google_request_by_template(ctl, cal, people, base, timed):
    s = _raw()
    assert s.post(base + "/_sim/stats/reset").status_code == 200
    p = people.people().createContact(body={"names": [{"givenName": "S"}]}).execute()
    people.people().updateContact(resourceName=p["resourceName"], updatePersonFields="names",
                                  body={"etag": p["etag"], "names": [{"givenName": "T"}]}) \
        .execute()
    cal.events().list(calendarId="primary").execute()
    s.get(base + "/.well-known/openid-configuration")
    s.get(base + "/no/such/path")
    stats = s.get(base + "/_sim/stats").json()
    assert stats["requests"] == {
        "POST /v1/people:createContact": 1,
        "PATCH /v1/people/{personId}:updateContact": 1,
        "GET /calendar/v3/calendars/{calendarId}/events": 1,
        "GET /.well-known/openid-configuration": 1,
        "GET /no/such/path": 1}
    assert stats["total"] == 5  # control API calls never count


def test_contract_routes_answer_json(ctl, base):
    s = _raw()
    assert s.post(base + "/_sim/clients", json={
        "client_id": "c2", "client_secret": "s2", "redirect_uris": ["http://127.0.0.1/cb"]}) \
        .status_code in (200, 201)
    assert any(c["client_id"] == "c2" for c in s.get(base + "/_sim/clients").json())
    r = s.post(base + "/_sim/reset")
    assert r.status_code == 200 and r.headers["Content-Type"] == "application/json"
    assert s.get(base + "/_sim/clients").json() == []
    assert s.get(base + "/_sim/stats").json() == {"total": 0, "requests": {},
                                                   "batch_parts": 0, "batch_requests": {},
                                                   "rate_limited": 0}


def test_persistence_of_calendar_and_people_through_the_real_clients(tmp_path, timed):
    from googleapiclient.discovery import build
    from google.oauth2.credentials import Credentials
    from googlesim.testing import SCOPE_CONTACTS
    from .conftest import authorized_http

    path = str(tmp_path / "sim.sqlite")
    scopes = [SCOPE_CALENDAR, SCOPE_CONTACTS]

    def services(base, tokens, expired=False):
        creds = Credentials(None if expired else tokens["access_token"],
                            refresh_token=tokens["refresh_token"], token_uri=base + "/token",
                            client_id=TEST_CLIENT_ID, client_secret=TEST_CLIENT_SECRET,
                            scopes=scopes)
        http = authorized_http(creds)
        return (build("calendar", "v3", http=http, static_discovery=True,
                      client_options={"api_endpoint": base + "/calendar/v3/"}),
                build("people", "v1", http=http, static_discovery=True,
                      client_options={"api_endpoint": base + "/"}))

    with start_sim(data=path) as first:
        ctl = SimControl(first.base_url)
        ctl.register_client(TEST_CLIENT_ID, TEST_CLIENT_SECRET, [TEST_REDIRECT_URI])
        tokens = ctl.issue_tokens(USER, TEST_CLIENT_ID, scopes)
        cal, people = services(first.base_url, tokens)
        other = cal.calendars().insert(body={"summary": "CRM"}).execute()
        ev = cal.events().insert(calendarId=other["id"], body=dict(
            timed(T0), id="persist1", extendedProperties={"private": {"crmId": "1"}})).execute()
        sync = cal.events().list(calendarId=other["id"]).execute()["nextSyncToken"]
        person = people.people().createContact(body={"names": [{"givenName": "Kept"}]}) \
            .execute()
        group = people.contactGroups().create(body={"contactGroup": {"name": "Keepers"}}) \
            .execute()
        people.contactGroups().members().modify(
            resourceName=group["resourceName"],
            body={"resourceNamesToAdd": [person["resourceName"]]}).execute()
        psync = people.people().connections().list(
            resourceName="people/me", personFields="names",
            requestSyncToken=True).execute()["nextSyncToken"]
        kid = _raw().get(first.base_url + "/oauth2/v3/certs").json()["keys"][0]["kid"]
    with start_sim(data=path) as second:
        # the old access token is still valid until it expires, as at Google
        cal, people = services(second.base_url, tokens)
        assert cal.events().get(calendarId=other["id"], eventId="persist1").execute() == ev
        assert cal.events().list(calendarId=other["id"], syncToken=sync).execute()["items"] \
            == []
        got = people.contactGroups().get(resourceName=group["resourceName"],
                                         maxMembers=5).execute()
        assert got["memberResourceNames"] == [person["resourceName"]]
        people.people().deleteContact(resourceName=person["resourceName"]).execute()
        cal.events().patch(calendarId=other["id"], eventId="persist1",
                           body={"summary": "after restart"}).execute()
        assert _raw().get(second.base_url + "/oauth2/v3/certs").json()["keys"][0]["kid"] == kid
    with start_sim(data=path) as third:
        cal, people = services(third.base_url, tokens, expired=True)  # refresh works too
        changed = cal.events().list(calendarId=other["id"], syncToken=sync).execute()["items"]
        assert [(e["id"], e["summary"]) for e in changed] == [("persist1", "after restart")]
        assert changed[0]["etag"] != ev["etag"]
        pchanges = people.people().connections().list(
            resourceName="people/me", personFields="names", syncToken=psync).execute()
        assert [(c["resourceName"], c["metadata"]["deleted"])
                for c in pchanges["connections"]] == [(person["resourceName"], True)]


def test_watch_notifies_only_for_its_calendar_and_on_every_kind_of_change(ctl, cal, timed,
                                                                           receiver,
                                                                           make_creds,
                                                                           calendar_for):
    address, got = receiver
    other = cal.calendars().insert(body={"summary": "Watched"}).execute()
    ro = calendar_for(make_creds(scopes=(SCOPE_CALENDAR + ".readonly",)))
    channel = ro.events().watch(calendarId=other["id"], body={  # read scope may watch
        "id": "chan-3", "type": "web_hook", "address": address}).execute()
    headers, _ = got.get(timeout=5)
    assert headers["X-Goog-Resource-State"] == "sync"
    assert other["id"] in headers["X-Goog-Resource-URI"]
    cal.events().insert(calendarId="primary", body=timed(T0)).execute()  # not watched
    with pytest.raises(queue.Empty):
        got.get(timeout=0.4)
    ev = cal.events().insert(calendarId=other["id"], body=timed(T0)).execute()
    assert got.get(timeout=5)[0]["X-Goog-Resource-State"] == "exists"
    cal.events().patch(calendarId=other["id"], eventId=ev["id"], body={"summary": "p"}) \
        .execute()
    assert got.get(timeout=5)[0]["X-Goog-Resource-State"] == "exists"
    ctl.delete_event(USER, other["id"], ev["id"])  # the owner deletes it in Google
    headers, body = got.get(timeout=5)
    assert headers["X-Goog-Resource-State"] == "exists" and body == b""
    assert headers["X-Goog-Channel-ID"] == "chan-3"
    assert headers["X-Goog-Resource-ID"] == channel["resourceId"]
    # another account can't stop this channel
    ctl.create_account("eve@example.com")
    eve = calendar_for(make_creds(email="eve@example.com"))
    with pytest.raises(HttpError) as exc:
        eve.channels().stop(body={"id": "chan-3", "resourceId": channel["resourceId"]}) \
            .execute()
    assert exc.value.resp.status == 404
    assert [c["id"] for c in ctl.channels()] == ["chan-3"]
