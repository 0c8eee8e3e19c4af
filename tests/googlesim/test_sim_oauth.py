"""OAuth 2.0 / OIDC: consent page, code + PKCE, refresh, revoke, id_token, bearer checks.
Driven through authlib, google-auth and plain HTTP, as the portal and a browser would."""
import re
from datetime import datetime, timedelta
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from authlib.common.security import generate_token
from authlib.integrations.flask_client import OAuth
from authlib.integrations.requests_client import OAuth2Session
from flask import Flask
from google.auth.exceptions import RefreshError
from google.auth.transport.requests import Request as GoogleRequest
from google.oauth2.credentials import Credentials
from googleapiclient.errors import HttpError

from googlesim.testing import (SCOPE_CALENDAR as CAL, SCOPE_CONTACTS as CONTACTS,
                               TEST_CLIENT_ID as CLIENT_ID, TEST_CLIENT_SECRET as CLIENT_SECRET,
                               TEST_REDIRECT_URI as REDIRECT_URI, TEST_USER as USER)

HIDDEN_RE = re.compile(r'<input type="hidden" name="([^"]+)" value="([^"]*)">')


def http():
    s = requests.Session()
    s.trust_env = False
    return s


def auth_params(**extra):
    params = {"client_id": CLIENT_ID, "redirect_uri": REDIRECT_URI, "response_type": "code",
              "scope": f"openid email {CAL}", "state": "st4te", "access_type": "offline",
              "prompt": "consent"}
    params.update(extra)
    return params


def consent(browser, base, params, email=USER, decision="allow"):
    """Load the consent page and submit it the way a person would."""
    page = browser.get(base + "/o/oauth2/v2/auth", params=params)
    assert page.status_code == 200
    form = dict(HIDDEN_RE.findall(page.text))
    form.update(email=email, decision=decision)
    resp = browser.post(page.url, data=form, allow_redirects=False)
    assert resp.status_code == 302, resp.text
    return resp.headers["Location"]


def query(location):
    return {k: v[0] for k, v in parse_qs(urlsplit(location).query).items()}


def session_client(**kwargs):
    client = OAuth2Session(CLIENT_ID, CLIENT_SECRET, redirect_uri=REDIRECT_URI,
                           scope=f"openid email profile {CAL}", code_challenge_method="S256",
                           **kwargs)
    client.trust_env = False
    return client


# -- consent page -------------------------------------------------------------------------------
def test_consent_page_lists_scopes_and_has_the_contract_form(ctl, base):
    page = http().get(base + "/o/oauth2/v2/auth", params=auth_params())
    assert page.status_code == 200
    assert "text/html" in page.headers["Content-Type"]
    assert CAL in page.text and "openid" in page.text
    assert '<input type="text" id="email" name="email"' in page.text
    assert '<label for="email">Google account</label>' in page.text
    assert '<button type="submit" name="decision" value="allow">Allow</button>' in page.text
    assert '<button type="submit" name="decision" value="deny">Deny</button>' in page.text
    hidden = dict(HIDDEN_RE.findall(page.text))
    assert hidden["state"] == "st4te" and hidden["redirect_uri"] == REDIRECT_URI
    assert "http" not in page.text.split("<body>")[0].replace(
        'charset="utf-8"', "")  # no external assets in <head>


def test_allow_redirects_with_code_state_and_scope(ctl, base):
    params = query(consent(http(), base, auth_params()))
    assert params["state"] == "st4te" and params["code"]
    assert CAL in params["scope"].split() and "openid" in params["scope"].split()
    assert any(a["email"] == USER for a in ctl.accounts())  # account made on first sign-in
    assert ctl.calendars(USER)[0]["id"] == USER


def test_deny_redirects_with_access_denied(ctl, base):
    location = consent(http(), base, auth_params(), decision="deny")
    assert location.startswith(REDIRECT_URI)
    assert query(location) == {"error": "access_denied", "state": "st4te"}


def test_unknown_client_and_wrong_redirect_uri_show_an_error_page(ctl, base):
    bad_client = http().get(base + "/o/oauth2/v2/auth",
                            params=auth_params(client_id="nope"), allow_redirects=False)
    assert bad_client.status_code == 400 and "invalid_client" in bad_client.text
    bad_uri = http().get(base + "/o/oauth2/v2/auth",
                         params=auth_params(redirect_uri="http://evil.example/cb"),
                         allow_redirects=False)
    assert bad_uri.status_code == 400 and "redirect_uri_mismatch" in bad_uri.text
    assert "Location" not in bad_uri.headers


def test_missing_scope_or_bad_response_type_is_an_error_page(ctl, base):
    assert http().get(base + "/o/oauth2/v2/auth", params=auth_params(scope="")).status_code \
        == 400
    r = http().get(base + "/o/oauth2/v2/auth", params=auth_params(response_type="token"))
    assert r.status_code == 400 and "unsupported_response_type" in r.text


def test_invalid_email_redisplays_the_page(ctl, base):
    browser = http()
    page = browser.get(base + "/o/oauth2/v2/auth", params=auth_params())
    form = dict(HIDDEN_RE.findall(page.text), email="not an email", decision="allow")
    resp = browser.post(page.url, data=form, allow_redirects=False)
    assert resp.status_code == 400 and "valid email" in resp.text


def test_previously_signed_in_accounts_are_offered(ctl, base):
    browser = http()
    consent(browser, base, auth_params(), email="first@example.com")
    page = browser.get(base + "/o/oauth2/v2/auth", params=auth_params())
    assert "first@example.com" in page.text and 'class="account-choice"' in page.text
    link = re.search(r'class="account-choice" href="([^"]+)"', page.text).group(1)
    chosen = browser.get(page.url.split("?")[0] + link.replace("&amp;", "&"))
    assert 'value="first@example.com"' in chosen.text


def test_auto_consent_with_login_hint_approves_at_once(ctl, base):
    r = http().get(base + "/o/oauth2/v2/auth", params=auth_params(login_hint=USER),
                   allow_redirects=False)
    assert r.status_code == 200  # off by default
    ctl.settings(auto_consent=True)
    r = http().get(base + "/o/oauth2/v2/auth", params=auth_params(login_hint=USER),
                   allow_redirects=False)
    assert r.status_code == 302 and query(r.headers["Location"])["code"]
    no_hint = http().get(base + "/o/oauth2/v2/auth", params=auth_params(),
                         allow_redirects=False)
    assert no_hint.status_code == 200


def test_auto_consent_server_flag():
    from googlesim.testing import SimControl, start_sim
    with start_sim(auto_consent=True) as server:
        SimControl(server.base_url).register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
        r = http().get(server.base_url + "/o/oauth2/v2/auth",
                       params=auth_params(login_hint=USER), allow_redirects=False)
        assert r.status_code == 302 and "code=" in r.headers["Location"]


# -- token endpoint -----------------------------------------------------------------------------
@pytest.mark.parametrize("auth_method", ["client_secret_basic", "client_secret_post"])
def test_code_exchange_with_pkce(ctl, base, auth_method):
    client = session_client(token_endpoint_auth_method=auth_method)
    verifier = generate_token(48)
    uri, state = client.create_authorization_url(base + "/o/oauth2/v2/auth",
                                                 code_verifier=verifier,
                                                 access_type="offline", prompt="consent")
    location = consent(http(), base, query(uri))
    token = client.fetch_token(base + "/token", authorization_response=location,
                               code_verifier=verifier)
    assert token["expires_in"] == 3599 and token["token_type"] == "Bearer"
    assert token["refresh_token"] and token["access_token"]
    assert "id_token" in token
    info = client.get(base + "/v1/userinfo").json()
    assert info["email"] == USER and info["email_verified"] is True and info["sub"]


def test_code_is_single_use_and_checks_verifier_and_redirect(ctl, base):
    verifier = generate_token(48)
    client = session_client()
    uri, _ = client.create_authorization_url(base + "/o/oauth2/v2/auth",
                                             code_verifier=verifier, access_type="offline")
    code = query(consent(http(), base, query(uri)))["code"]
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "client_id": CLIENT_ID, "client_secret": CLIENT_SECRET}
    wrong = http().post(base + "/token", data=dict(form, code_verifier="x" * 48))
    assert wrong.status_code == 400 and wrong.json()["error"] == "invalid_grant"
    # the failed attempt burned the code, as Google does
    again = http().post(base + "/token", data=dict(form, code_verifier=verifier))
    assert again.json()["error"] == "invalid_grant"

    uri, _ = client.create_authorization_url(base + "/o/oauth2/v2/auth",
                                             code_verifier=verifier)
    code = query(consent(http(), base, query(uri)))["code"]
    missing = http().post(base + "/token", data=dict(form, code=code))
    assert missing.json()["error"] == "invalid_grant"  # challenge sent, no verifier

    uri, _ = client.create_authorization_url(base + "/o/oauth2/v2/auth",
                                             code_verifier=verifier)
    code = query(consent(http(), base, query(uri)))["code"]
    mismatch = http().post(base + "/token", data=dict(form, code=code, code_verifier=verifier,
                                                      redirect_uri="http://other/cb"))
    assert mismatch.status_code == 400 and mismatch.json()["error"] == "redirect_uri_mismatch"

    uri, _ = client.create_authorization_url(base + "/o/oauth2/v2/auth",
                                             code_verifier=verifier)
    code = query(consent(http(), base, query(uri)))["code"]
    ok = http().post(base + "/token", data=dict(form, code=code, code_verifier=verifier))
    assert ok.status_code == 200
    replay = http().post(base + "/token", data=dict(form, code=code, code_verifier=verifier))
    assert replay.status_code == 400 and replay.json()["error"] == "invalid_grant"


def test_refresh_token_only_for_offline_access(ctl, base):
    client = session_client()
    uri, _ = client.create_authorization_url(base + "/o/oauth2/v2/auth")
    token = client.fetch_token(base + "/token",
                               authorization_response=consent(http(), base, query(uri)))
    assert "refresh_token" not in token and token["access_token"]


def test_client_credentials_are_checked(ctl, base):
    wrong_secret = http().post(base + "/token", data={
        "grant_type": "refresh_token", "refresh_token": "x", "client_id": CLIENT_ID,
        "client_secret": "wrong"})
    assert wrong_secret.status_code == 401 and wrong_secret.json()["error"] == "invalid_client"
    unknown = http().post(base + "/token", data={"grant_type": "refresh_token",
                                                 "refresh_token": "x"},
                          auth=("nobody", "secret"))
    assert unknown.status_code == 401 and unknown.json()["error"] == "invalid_client"
    # good client, bogus refresh token: how the portal validates saved credentials
    probe = http().post(base + "/token", data={"grant_type": "refresh_token",
                                               "refresh_token": "bogus"},
                        auth=(CLIENT_ID, CLIENT_SECRET))
    assert probe.status_code == 400
    assert probe.json() == {"error": "invalid_grant",
                            "error_description": "Token has been expired or revoked."}
    bad_grant = http().post(base + "/token", data={"grant_type": "password"},
                            auth=(CLIENT_ID, CLIENT_SECRET))
    assert bad_grant.json()["error"] == "unsupported_grant_type"


def test_google_auth_refresh_gives_new_access_token_but_no_refresh_token(ctl, base):
    tokens = ctl.issue_tokens(USER, CLIENT_ID, [CAL])
    creds = Credentials(None, refresh_token=tokens["refresh_token"],
                        token_uri=base + "/token", client_id=CLIENT_ID,
                        client_secret=CLIENT_SECRET, scopes=[CAL])
    session = requests.Session()
    session.trust_env = False
    creds.refresh(GoogleRequest(session))
    assert creds.token and creds.token != tokens["access_token"]
    assert creds.refresh_token == tokens["refresh_token"]  # unchanged: none was sent
    assert creds.expiry > datetime.utcnow() + timedelta(seconds=3000)
    raw = http().post(base + "/token", data={"grant_type": "refresh_token",
                                             "refresh_token": tokens["refresh_token"],
                                             "client_id": CLIENT_ID,
                                             "client_secret": CLIENT_SECRET})
    assert "refresh_token" not in raw.json() and raw.json()["expires_in"] == 3599


def test_revoke_kills_refresh_and_access_tokens(ctl, base, make_creds, calendar_for):
    tokens = ctl.issue_tokens(USER, CLIENT_ID, [CAL])
    assert http().post(base + "/revoke", data={"token": tokens["refresh_token"]}) \
        .status_code == 200
    creds = Credentials(None, refresh_token=tokens["refresh_token"], token_uri=base + "/token",
                        client_id=CLIENT_ID, client_secret=CLIENT_SECRET, scopes=[CAL])
    session = requests.Session()
    session.trust_env = False
    with pytest.raises(RefreshError, match="invalid_grant"):
        creds.refresh(GoogleRequest(session))
    gone = http().get(base + "/calendar/v3/users/me/calendarList",
                      headers={"Authorization": "Bearer " + tokens["access_token"]})
    assert gone.status_code == 401
    again = http().post(base + "/revoke", data={"token": tokens["refresh_token"]})
    assert again.status_code == 400 and again.json()["error"] == "invalid_token"


def test_control_revoke_grants_makes_refresh_fail(ctl, base, make_creds, calendar_for):
    creds = make_creds()
    service = calendar_for(creds)
    ctl.revoke_grants(USER)
    ctl.expire(access_tokens=True)
    with pytest.raises(RefreshError):
        service.calendarList().list().execute()


# -- bearer tokens & scopes ---------------------------------------------------------------------
def test_missing_and_invalid_bearer_token_get_401_envelope(ctl, base):
    for headers in ({}, {"Authorization": "Bearer nope"}):
        r = http().get(base + "/calendar/v3/users/me/calendarList", headers=headers)
        assert r.status_code == 401
        err = r.json()["error"]
        assert err["code"] == 401 and err["status"] == "UNAUTHENTICATED"
        assert err["errors"][0]["reason"] in ("required", "authError")


def test_expired_access_token_is_refreshed_transparently(ctl, make_creds, calendar_for):
    creds = make_creds()
    service = calendar_for(creds)
    first = creds.token
    ctl.expire(access_tokens=True)
    raw = http().get(ctl.base_url + "/calendar/v3/users/me/calendarList",
                     headers={"Authorization": "Bearer " + first})
    assert raw.status_code == 401
    assert service.calendarList().list().execute()["items"][0]["id"] == USER
    assert creds.token != first
    assert ctl.stats()["requests"]["POST /token"] == 1


def test_missing_scope_is_403_insufficient_permissions(ctl, make_creds, calendar_for,
                                                       people_for):
    contacts_only = make_creds(scopes=(CONTACTS,))
    with pytest.raises(HttpError) as exc:
        calendar_for(contacts_only).events().list(calendarId="primary").execute()
    assert exc.value.resp.status == 403
    assert exc.value.error_details[0]["reason"] == "insufficientPermissions"
    with pytest.raises(HttpError) as exc:
        people_for(make_creds(scopes=(CAL,))).people().connections().list(
            resourceName="people/me", personFields="names").execute()
    assert exc.value.resp.status == 403
    readonly = make_creds(scopes=(CAL + ".readonly",))
    service = calendar_for(readonly)
    assert service.events().list(calendarId="primary").execute()["items"] == []
    with pytest.raises(HttpError) as exc:
        service.events().insert(calendarId="primary", body={}).execute()
    assert exc.value.resp.status == 403
    events_only = calendar_for(make_creds(scopes=(CAL + ".events",)))
    assert events_only.events().list(calendarId="primary").execute()["items"] == []
    with pytest.raises(HttpError) as exc:
        events_only.calendars().insert(body={"summary": "x"}).execute()
    assert exc.value.resp.status == 403


def test_include_granted_scopes_unions_previous_grants(ctl, base):
    consent(http(), base, auth_params(scope=CONTACTS))
    params = query(consent(http(), base, auth_params(scope=CAL,
                                                     include_granted_scopes="true")))
    assert set(params["scope"].split()) == {CAL, CONTACTS}


# -- OpenID Connect -----------------------------------------------------------------------------
def test_discovery_and_jwks(ctl, base):
    conf = http().get(base + "/.well-known/openid-configuration").json()
    assert conf["issuer"] == base and conf["token_endpoint"] == base + "/token"
    assert conf["jwks_uri"] == base + "/oauth2/v3/certs"
    keys = http().get(conf["jwks_uri"]).json()["keys"]
    assert keys[0]["kty"] == "RSA" and keys[0]["alg"] == "RS256" and keys[0]["kid"]


@pytest.mark.parametrize("use_metadata", [True, False])
def test_authlib_flask_client_login_validates_id_token(ctl, base, use_metadata):
    """The portal's way: authlib's Flask client with PKCE, nonce and id_token checks."""
    app = Flask(__name__)
    app.secret_key = "k"
    oauth = OAuth(app)
    kwargs = {"server_metadata_url": base + "/.well-known/openid-configuration"} \
        if use_metadata else {
            "authorize_url": base + "/o/oauth2/v2/auth",
            "access_token_url": base + "/token",
            "userinfo_endpoint": base + "/v1/userinfo",
            "jwks_uri": base + "/oauth2/v3/certs"}
    oauth.register("google", client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                   client_kwargs={"scope": f"openid email profile {CAL}",
                                  "code_challenge_method": "S256"},
                   authorize_params={"access_type": "offline", "prompt": "consent"},
                   **kwargs)

    @app.route("/login")
    def login():
        return oauth.google.authorize_redirect(REDIRECT_URI)

    @app.route("/google/callback")
    def callback():
        token = oauth.google.authorize_access_token()
        return {"email": token["userinfo"]["email"], "name": token["userinfo"]["name"],
                "refresh": bool(token.get("refresh_token"))}

    web = app.test_client()
    start = web.get("/login")
    assert start.status_code == 302
    auth_url = start.headers["Location"]
    assert "code_challenge_method=S256" in auth_url and "nonce=" in auth_url
    location = consent(http(), base, query(auth_url))
    done = web.get("/google/callback?" + urlsplit(location).query)
    assert done.status_code == 200, done.get_data(as_text=True)
    assert done.json["email"] == USER and done.json["refresh"] is True
    assert done.json["name"]


# -- review additions: client auth, id_token signature, scopes per endpoint ------------------------
def _code_for(base, verifier, **extra):
    client = session_client()
    uri, _ = client.create_authorization_url(base + "/o/oauth2/v2/auth",
                                             code_verifier=verifier, access_type="offline",
                                             prompt="consent", **extra)
    return query(consent(http(), base, query(uri)))["code"]


def test_wrong_secret_fails_in_the_form_body_and_as_http_basic(ctl, base):
    verifier = generate_token(48)
    code = _code_for(base, verifier)
    form = {"grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier}
    as_form = http().post(base + "/token", data=dict(form, client_id=CLIENT_ID,
                                                     client_secret="wrong"))
    as_basic = http().post(base + "/token", data=form, auth=(CLIENT_ID, "wrong"))
    no_secret = http().post(base + "/token", data=dict(form, client_id=CLIENT_ID))
    for r in (as_form, as_basic, no_secret):
        assert r.status_code == 401 and r.json()["error"] == "invalid_client"
        assert "access_token" not in r.json()
    # authlib with a wrong secret, both ways it can send it
    for method in ("client_secret_basic", "client_secret_post"):
        client = OAuth2Session(CLIENT_ID, "wrong", redirect_uri=REDIRECT_URI,
                               token_endpoint_auth_method=method)
        client.trust_env = False
        with pytest.raises(Exception, match="invalid_client"):
            client.fetch_token(base + "/token", code=_code_for(base, verifier),
                               code_verifier=verifier)
    # a code issued to one client can't be redeemed by another registered client
    ctl.register_client("other-client", "other-secret", [REDIRECT_URI])
    stolen = http().post(base + "/token", data=dict(form, code=_code_for(base, verifier)),
                         auth=("other-client", "other-secret"))
    assert stolen.status_code == 400 and stolen.json()["error"] == "invalid_grant"


def test_pkce_s256_verifier_is_checked_and_the_right_one_works(ctl, base):
    verifier = generate_token(48)
    form = {"grant_type": "authorization_code", "redirect_uri": REDIRECT_URI}
    bad = http().post(base + "/token", data=dict(form, code=_code_for(base, verifier),
                                                 code_verifier=generate_token(48)),
                      auth=(CLIENT_ID, CLIENT_SECRET))
    assert bad.status_code == 400 and bad.json()["error"] == "invalid_grant"
    # sending the challenge itself instead of the verifier is wrong too
    challenge = query(session_client().create_authorization_url(
        base + "/o/oauth2/v2/auth", code_verifier=verifier)[0])["code_challenge"]
    plain = http().post(base + "/token", data=dict(form, code=_code_for(base, verifier),
                                                   code_verifier=challenge),
                        auth=(CLIENT_ID, CLIENT_SECRET))
    assert plain.status_code == 400 and plain.json()["error"] == "invalid_grant"
    good = http().post(base + "/token", data=dict(form, code=_code_for(base, verifier),
                                                  code_verifier=verifier),
                       auth=(CLIENT_ID, CLIENT_SECRET))
    assert good.status_code == 200 and good.json()["refresh_token"]


def test_id_token_is_rs256_verifiable_with_the_jwks(ctl, base):
    from joserfc import jwt
    from joserfc.errors import BadSignatureError
    from joserfc.jwk import KeySet
    from joserfc.jwt import JWTClaimsRegistry

    verifier = generate_token(48)
    code = _code_for(base, verifier, nonce="n-0nce")
    token = http().post(base + "/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier, "client_id": CLIENT_ID,
        "client_secret": CLIENT_SECRET}).json()
    keys = KeySet.import_key_set(http().get(base + "/oauth2/v3/certs").json())
    decoded = jwt.decode(token["id_token"], keys, algorithms=["RS256"])
    assert decoded.header["alg"] == "RS256" and decoded.header["kid"]
    JWTClaimsRegistry(iss={"essential": True, "value": base},
                      aud={"essential": True, "value": CLIENT_ID},
                      nonce={"essential": True, "value": "n-0nce"},
                      sub={"essential": True}, exp={"essential": True}).validate(
        decoded.claims)
    assert decoded.claims["email"] == USER and decoded.claims["email_verified"] is True
    userinfo = http().get(base + "/v1/userinfo", headers={
        "Authorization": "Bearer " + token["access_token"]}).json()
    assert userinfo["sub"] == decoded.claims["sub"]
    # a tampered payload no longer verifies
    head, payload, sig = token["id_token"].split(".")
    import base64
    import json as _json
    claims = dict(decoded.claims, email="mallory@example.com")
    tampered = head + "." + base64.urlsafe_b64encode(
        _json.dumps(claims).encode()).decode().rstrip("=") + "." + sig
    with pytest.raises(BadSignatureError):
        jwt.decode(tampered, keys, algorithms=["RS256"])
    # no openid scope, no id_token
    plain_code = _code_for(base, verifier, scope=CAL)
    no_oidc = http().post(base + "/token", data={
        "grant_type": "authorization_code", "code": plain_code, "redirect_uri": REDIRECT_URI,
        "code_verifier": verifier}, auth=(CLIENT_ID, CLIENT_SECRET)).json()
    assert "id_token" not in no_oidc and no_oidc["access_token"]


def _reason(exc):
    return exc.value.resp.status, exc.value.error_details[0]["reason"]


def test_readonly_scope_cannot_write_anything(ctl, make_creds, calendar_for, people_for,
                                              timed):
    from datetime import timezone
    t0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
    full = calendar_for(make_creds())
    ev = full.events().insert(calendarId="primary", body=dict(timed(t0), id="scope001")) \
        .execute()
    other = full.calendars().insert(body={"summary": "Other"}).execute()
    ro = calendar_for(make_creds(scopes=(CAL + ".readonly",)))
    assert ro.events().get(calendarId="primary", eventId="scope001").execute()["id"] == \
        "scope001"
    assert ro.calendars().get(calendarId=other["id"]).execute()["id"] == other["id"]
    for call in (ro.events().insert(calendarId="primary", body=timed(t0)),
                 ro.events().import_(calendarId="primary",
                                     body=dict(timed(t0), iCalUID="x@example.org")),
                 ro.events().patch(calendarId="primary", eventId="scope001",
                                   body={"summary": "no"}),
                 ro.events().update(calendarId="primary", eventId="scope001",
                                    body=timed(t0)),
                 ro.events().delete(calendarId="primary", eventId="scope001"),
                 ro.events().move(calendarId="primary", eventId="scope001",
                                  destination=other["id"]),
                 ro.calendars().insert(body={"summary": "x"}),
                 ro.calendars().patch(calendarId=other["id"], body={"summary": "y"}),
                 ro.calendars().delete(calendarId=other["id"])):
        with pytest.raises(HttpError) as exc:
            call.execute()
        assert _reason(exc) == (403, "insufficientPermissions")
    assert full.events().get(calendarId="primary", eventId="scope001").execute()["etag"] \
        == ev["etag"]  # nothing changed
    # the contacts scope is needed for People, whatever calendar scopes there are
    from googlesim.testing import SCOPE_CONTACTS_READONLY
    cal_only = people_for(make_creds())
    for call in (cal_only.people().connections().list(resourceName="people/me",
                                                      personFields="names"),
                 cal_only.people().createContact(body={"names": [{"givenName": "x"}]}),
                 cal_only.contactGroups().list()):
        with pytest.raises(HttpError) as exc:
            call.execute()
        assert _reason(exc) == (403, "insufficientPermissions")
    ro_people = people_for(make_creds(scopes=(SCOPE_CONTACTS_READONLY,)))
    with pytest.raises(HttpError) as exc:
        ro_people.contactGroups().create(body={"contactGroup": {"name": "G"}}).execute()
    assert _reason(exc) == (403, "insufficientPermissions")
    contacts_only = calendar_for(make_creds(scopes=(CONTACTS,)))
    with pytest.raises(HttpError) as exc:
        contacts_only.calendarList().list().execute()
    assert _reason(exc) == (403, "insufficientPermissions")
