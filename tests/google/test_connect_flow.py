"""Authorize and Connect through googlesim with the real authlib and google clients."""
from urllib.parse import urlencode

import pytest

from portal.extensions import db
from portal.google.models import GoogleConnection

CAL = "https://www.googleapis.com/auth/calendar"


def _connection(user):
    db.session.expire_all()
    return db.session.scalars(db.select(GoogleConnection).filter_by(user_id=user.id)).first()


def test_connect_stores_encrypted_tokens_and_shows_the_account(client, make_user, login,
                                                               configured, connect, sim,
                                                               page_text, activity_types):
    user = make_user()
    login(client, user)
    response = connect(client, "sam.g@example.com")
    text = page_text(response)
    assert "Connected to Google as sam.g@example.com" in text
    conn = _connection(user)
    assert conn.status == "connected"
    assert conn.google_email == "sam.g@example.com"
    assert CAL in conn.scope_list
    assert conn.refresh_token_encrypted and "gsim" not in conn.refresh_token_encrypted
    assert conn.token_expires_at is not None
    # the tokens work: googlesim lists the account's calendars through them
    assert "sam.g@example.com (primary)" in text


def test_authorization_request_asks_for_offline_access_with_pkce(client, make_user, login,
                                                                 configured):
    from urllib.parse import parse_qs, urlsplit

    login(client, make_user())
    response = client.post_form("/google/connect", page="/profile/external-accounts")
    params = {k: v[0] for k, v in parse_qs(urlsplit(response.headers["Location"]).query).items()}
    assert params["access_type"] == "offline" and params["prompt"] == "consent"
    assert params["code_challenge_method"] == "S256" and params["code_challenge"]
    assert params["include_granted_scopes"] == "true" and params["state"]
    # the first consent asks for the calendar only; contacts come when a user turns them on
    assert set(params["scope"].split()) == {CAL, "openid", "email"}
    assert params["redirect_uri"] == configured["redirect_uri"]
    again = client.post_form("/google/connect", {"contacts": "1"},
                             page="/profile/external-accounts")
    params = {k: v[0] for k, v in parse_qs(urlsplit(again.headers["Location"]).query).items()}
    assert set(params["scope"].split()) == {CAL, "https://www.googleapis.com/auth/contacts",
                                            "openid", "email"}
    assert params["include_granted_scopes"] == "true"


def test_denied_consent_stores_nothing(client, make_user, login, configured, connect, page_text):
    user = make_user()
    login(client, user)
    text = page_text(connect(client, "sam.g@example.com", decision="deny"))
    assert "You declined access at Google, so nothing was connected." in text
    assert _connection(user) is None
    assert "Authorize and Connect" in text


def test_state_mismatch_stores_nothing(client, make_user, login, configured, consent, page_text):
    user = make_user()
    login(client, user)
    _, params = consent(client, "sam.g@example.com")
    response = client.get("/google/oauth/callback", query_string={
        "code": params["code"], "state": "forged-" + params["state"], "scope": params["scope"]},
        follow_redirects=True)
    assert "state mismatch" in page_text(response)
    assert _connection(user) is None


def test_callback_from_another_browser_session_is_refused(app, client, make_user, login,
                                                          configured, consent, page_text):
    """A code+state obtained by one person's browser cannot be used in another's session."""
    victim = make_user()
    login(client, victim)
    path, _ = consent(client, "attacker@example.com")
    other_user = make_user()
    # A fresh app context: the test's context would share g (logged-in user, CSRF token).
    with app.app_context():
        other = app.test_client()
        login(other, other_user)
        assert "state mismatch" in page_text(other.get(path, follow_redirects=True))
    assert _connection(victim) is None


ALL_BUT_CALENDAR = "https://www.googleapis.com/auth/contacts openid email profile"


def test_consent_without_calendar_scope_stores_nothing(client, make_user, login, configured,
                                                      connect, sim, page_text):
    """The person unticks Calendar on Google's consent screen: googlesim grants the rest."""
    user = make_user()
    login(client, user)
    text = page_text(connect(client, "sam.g@example.com", change={"scope": ALL_BUT_CALENDAR}))
    assert "You did not give the portal access to your Google Calendar" in text
    assert "nothing was connected" in text
    assert _connection(user) is None
    assert "Authorize and Connect" in text


def test_consent_without_refresh_token_stores_nothing(client, make_user, login, configured,
                                                      connect, sim, page_text):
    """Google answers without a refresh token (online access): no half-working connection."""
    user = make_user()
    login(client, user)
    text = page_text(connect(client, "sam.g@example.com", change={"access_type": "online"}))
    assert "Google did not send a refresh token" in text
    assert _connection(user) is None


def test_failed_reconnect_leaves_the_existing_connection_as_it_was(
        client, make_user, login, configured, connect, page_text):
    from portal.google import services

    user = make_user()
    login(client, user)
    connect(client, "sam.g@example.com")
    services.mark_needs_reauth(user, "test")
    db.session.commit()
    before = _connection(user)
    stored = (before.refresh_token_encrypted, before.google_email, before.scopes)
    text = page_text(connect(client, "other@example.com", change={"scope": ALL_BUT_CALENDAR}))
    assert "access to your Google Calendar" in text
    after = _connection(user)
    assert (after.refresh_token_encrypted, after.google_email, after.scopes) == stored
    assert after.status == "needs_reauth"


def test_pkce_verifier_is_checked_by_google(client, make_user, login, configured, connect,
                                            page_text):
    """A code issued for another PKCE challenge is refused at the token endpoint: the portal
    really sends its verifier, and a refused exchange stores nothing."""
    user = make_user()
    login(client, user)
    text = page_text(connect(client, "sam.g@example.com",
                             change={"code_challenge": "A" * 43}))
    assert "Google refused the sign-in (invalid_grant); nothing was connected." in text
    assert _connection(user) is None


def test_state_is_single_use(client, make_user, login, configured, consent, page_text):
    """Replaying a finished callback is refused like a forged one."""
    user = make_user()
    login(client, user)
    path, _ = consent(client, "sam.g@example.com")
    assert "Connected to Google" in page_text(client.get(path, follow_redirects=True))
    assert "state mismatch" in page_text(client.get(path, follow_redirects=True))


@pytest.mark.parametrize("query", [
    "", "?code=abc", "?state=xyz", "?code=abc&state=xyz", "?error=access_denied",
    "?error=server_error&state=xyz", "?error=%3Cscript%3Ealert(1)%3C/script%3E",
    "?code=" + "x" * 5000 + "&state=" + "y" * 5000])
def test_callback_with_bad_parameters_explains_and_stores_nothing(
        client, make_user, login, configured, page_text, query):
    user = make_user()
    login(client, user)
    response = client.get("/google/oauth/callback" + query, follow_redirects=True)
    assert response.status_code == 200
    text = page_text(response)
    assert "nothing was connected" in text
    assert "<script>alert(1)" not in text
    assert _connection(user) is None


def test_connect_requires_csrf(client, make_user, login, configured):
    login(client, make_user())
    assert client.post("/google/connect").status_code == 400


def test_connect_without_credentials_says_not_configured(client, make_user, login, page_text):
    login(client, make_user())
    response = client.post_form("/google/connect", page="/profile/external-accounts",
                                follow_redirects=True)
    assert "Google sync is not configured; ask an admin." in page_text(response)


def test_credentials_change_is_picked_up_without_restart(app, client, make_user, login,
                                                         configured, sim, connect, page_text):
    """authlib caches its client: a new client id must still be used at once."""
    from urllib.parse import parse_qs, urlsplit

    from portal.google import services

    sim.register_client("second-client", "second-secret", [configured["redirect_uri"]])
    login(client, make_user())
    client.post_form("/google/connect", page="/profile/external-accounts")
    with app.test_request_context():
        services.save_credentials(client_id="second-client", client_secret="second-secret",
                                  redirect_url=configured["redirect_uri"])
    db.session.commit()
    response = client.post_form("/google/connect", page="/profile/external-accounts")
    query = parse_qs(urlsplit(response.headers["Location"]).query)
    assert query["client_id"] == ["second-client"]
    assert "Connected to Google" in page_text(connect(client, "x@example.com"))


@pytest.mark.parametrize("answer", [
    {"code": None},  # a valid state without a code
    {"code": ""},
    {"code": None, "error": "access_denied"},
    {"code": None, "error": "server_error", "error_description": "Backend down"},
    {"error": "temporarily_unavailable"},  # an error next to a code: the error wins
    {"code": None, "error": "x" * 5000},
])
def test_callback_with_a_valid_state_and_no_code_or_an_error_is_not_a_500(
        client, make_user, login, configured, consent, page_text, answer):
    user = make_user()
    login(client, user)
    _, params = consent(client, "sam.g@example.com")
    for key, value in answer.items():
        if value is None:
            params.pop(key, None)
        else:
            params[key] = value
    response = client.get("/google/oauth/callback?" + urlencode(params), follow_redirects=True)
    assert response.status_code == 200
    assert "nothing was connected" in page_text(response)
    assert _connection(user) is None
    # The state was used up: replaying it with a code is refused too.
    params.pop("error", None)
    response = client.get("/google/oauth/callback?" + urlencode(dict(params, code="abc")),
                          follow_redirects=True)
    assert response.status_code == 200 and _connection(user) is None


def test_abandoned_consents_do_not_grow_the_session(client, make_user, login, configured,
                                                   consent, page_text):
    """A user who presses Connect and turns back from Google, again and again, keeps a
    working session (the cookie stays small) and the consent they finally give works."""
    user = make_user()
    login(client, user)
    for _ in range(15):
        assert client.post_form("/google/connect",
                                page="/profile/external-accounts").status_code == 302
    cookie = client.get_cookie("session")
    assert cookie is not None and len(cookie.value) < 2000
    path, _ = consent(client, "sam.g@example.com")
    text = page_text(client.get(path, follow_redirects=True))
    assert "Connected to Google as sam.g@example.com" in text
