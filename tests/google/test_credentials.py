"""The admin's Google credentials page: checked against googlesim's token endpoint."""
import socket

from portal.core import crypto
from portal.extensions import db
from portal.google.models import GoogleCredentials

CLIENT_ID = "portal-test.apps.googleusercontent.com"
SECRET = "portal-test-secret-4242"
REDIRECT = "http://localhost/google/oauth/callback"


def _stored():
    db.session.expire_all()
    return db.session.scalars(db.select(GoogleCredentials)).all()


def _save(client, **overrides):
    data = {"api_key": "AIza-test-key-9876", "client_id": CLIENT_ID, "client_secret": SECRET,
            "redirect_url": REDIRECT}
    data.update(overrides)
    return client.post_form("/admin/google", data, follow_redirects=True)


def test_page_prefills_this_portals_callback_url(admin_client, page_text):
    text = page_text(admin_client.get("/admin/google"))
    assert 'value="http://localhost/google/oauth/callback"' in text
    assert "Not configured yet" in text


def test_valid_credentials_are_saved_encrypted_and_masked(admin_client, sim_client, page_text):
    text = page_text(_save(admin_client))
    assert "checked with Google and saved" in text
    [creds] = _stored()
    assert creds.client_id == CLIENT_ID and creds.redirect_url == REDIRECT
    assert crypto.decrypt(creds.client_secret_encrypted) == SECRET
    assert SECRET not in creds.client_secret_encrypted
    assert creds.checked_at is not None
    # shown back only masked
    assert SECRET not in text and "AIza-test-key-9876" not in text
    assert crypto.mask(SECRET) in text


def test_resave_with_empty_secret_keeps_the_stored_one(admin_client, sim_client, page_text):
    _save(admin_client)
    text = page_text(_save(admin_client, client_secret="", api_key=""))
    assert "checked with Google and saved" in text
    [creds] = _stored()
    assert crypto.decrypt(creds.client_secret_encrypted) == SECRET
    assert crypto.decrypt(creds.api_key_encrypted) == "AIza-test-key-9876"


def test_invalid_client_is_reported_and_nothing_saved(admin_client, sim_client, page_text):
    response = _save(admin_client, client_secret="wrong-secret")
    text = page_text(response)
    assert response.status_code == 200
    assert "Google rejected this client ID and secret (invalid_client)" in text
    assert _stored() == []


def test_bad_redirect_url_is_refused(admin_client, sim_client, page_text):
    for url, message in [("/google/oauth/callback", "absolute http:// or https:// URL"),
                         ("ftp://localhost/google/oauth/callback", "absolute http"),
                         ("http://localhost/somewhere/else", "must end in this portal's callback"),
                         ("http://localhost/google/oauth/callback?x=1", "query string")]:
        text = page_text(_save(admin_client, redirect_url=url))
        assert message in text, url
    assert _stored() == []


def test_google_unreachable_is_a_clear_error_and_nothing_saved(app, admin_client, page_text):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    previous = app.config.get("GOOGLE_BASE_URL")
    app.config["GOOGLE_BASE_URL"] = f"http://127.0.0.1:{port}"
    try:
        text = page_text(_save(admin_client))
    finally:
        app.config["GOOGLE_BASE_URL"] = previous
    assert "Could not check the credentials with Google" in text
    assert "Nothing was saved" in text
    assert _stored() == []


def test_only_admins_reach_the_page(client, make_user, login):
    login(client, make_user())
    assert client.get("/admin/google").status_code == 403


def test_users_see_not_configured_instead_of_a_connect_button(client, make_user, login,
                                                              page_text):
    login(client, make_user())
    text = page_text(client.get("/profile/external-accounts"))
    assert "Google sync is not configured; ask an admin." in text
    assert "Authorize and Connect" not in text
    text = page_text(client.get("/google/sync"))
    assert "Google sync is not configured; ask an admin." in text


def test_sandbox_setup_command_registers_the_client_and_saves_credentials(app, sim, google_base):
    from portal.google.cli import cli

    result = app.test_cli_runner().invoke(cli, ["sandbox-setup", "--sim-url", google_base,
                                 "--portal-url", "http://127.0.0.1:5000"])
    assert result.exit_code == 0, result.output
    [creds] = _stored()
    assert creds.redirect_url == "http://127.0.0.1:5000/google/oauth/callback"
    registered = {c["client_id"]: c for c in sim.session.get(google_base + "/_sim/clients").json()}
    assert registered[creds.client_id]["redirect_uris"] == [creds.redirect_url]


def _value_attributes(text):
    import re

    return re.findall(r'value="([^"]*)"', text)


def test_secret_and_api_key_never_come_back_in_full(admin_client, sim_client, page_text,
                                                    caplog):
    """Not in the page, not in an input's value (also after a refused save), not in logs."""
    caplog.set_level("DEBUG")
    _save(admin_client)
    pages = [page_text(admin_client.get("/admin/google")),
             page_text(_save(admin_client, redirect_url="http://localhost/elsewhere")),
             page_text(_save(admin_client, client_secret="another-wrong-secret"))]
    for text in pages:
        for secret in (SECRET, "AIza-test-key-9876", "another-wrong-secret"):
            assert secret not in text
            assert not any(secret in value for value in _value_attributes(text))
    assert "must end in this portal's callback path" in pages[1]
    assert "Stored: " + crypto.mask("AIza-test-key-9876") in pages[0]
    for secret in (SECRET, "AIza-test-key-9876", "another-wrong-secret"):
        assert secret not in caplog.text


def test_a_short_secret_is_shown_as_dots_only(admin_client, sim, sim_client, page_text):
    sim.register_client("short-client", "abcd", [REDIRECT])
    text = page_text(_save(admin_client, client_id="short-client", client_secret="abcd",
                           api_key="k9"))
    assert "checked with Google and saved" in text
    assert "abcd" not in text and "\u2022k9" not in text
    assert 'placeholder="Stored: \u2022\u2022\u2022\u2022\u2022\u2022\u2022\u2022"' in text
    assert "Leave empty to keep the stored secret." in text


def test_the_api_key_can_be_replaced_or_removed(admin_client, sim_client, page_text):
    _save(admin_client)
    _save(admin_client, client_secret="", api_key="AIza-second-key-5555")
    [creds] = _stored()
    assert crypto.decrypt(creds.api_key_encrypted) == "AIza-second-key-5555"
    assert "Remove the stored API key" in page_text(admin_client.get("/admin/google"))
    text = page_text(_save(admin_client, client_secret="", api_key="", remove_api_key="y"))
    assert "checked with Google and saved" in text
    [creds] = _stored()
    assert creds.api_key_encrypted is None
    assert crypto.decrypt(creds.client_secret_encrypted) == SECRET
    assert "Remove the stored API key" not in text


def test_the_credentials_form_requires_csrf(admin_client, sim_client):
    response = admin_client.post("/admin/google", data={
        "client_id": CLIENT_ID, "client_secret": SECRET, "redirect_url": REDIRECT})
    assert response.status_code == 400
    assert _stored() == []


def test_sandbox_badge_only_when_google_calls_go_to_a_sandbox(app, client, make_user, login,
                                                              googlesim_server, page_text):
    login(client, make_user())
    previous = app.config.get("GOOGLE_BASE_URL")
    try:
        app.config["GOOGLE_BASE_URL"] = None
        assert "sandbox Google" not in page_text(client.get("/profile"))
        app.config["GOOGLE_BASE_URL"] = googlesim_server.base_url
        assert "sandbox Google" in page_text(client.get("/profile"))
    finally:
        app.config["GOOGLE_BASE_URL"] = previous


def test_real_google_endpoints_when_no_sandbox_is_set(app, client, make_user, login, sim_client):
    """With GOOGLE_BASE_URL unset, Authorize and Connect goes to accounts.google.com."""
    from portal.google import services

    with app.test_request_context():
        services.save_credentials(client_id=CLIENT_ID, client_secret=SECRET,
                                  redirect_url=REDIRECT)
    db.session.commit()
    login(client, make_user())
    previous = app.config.get("GOOGLE_BASE_URL")
    app.config["GOOGLE_BASE_URL"] = None
    try:
        response = client.post_form("/google/connect", page="/profile/external-accounts")
    finally:
        app.config["GOOGLE_BASE_URL"] = previous
    assert response.headers["Location"].startswith(
        "https://accounts.google.com/o/oauth2/v2/auth?")


def test_unreadable_stored_secret_is_explained_not_a_crash(app, client, make_user, login,
                                                           sim_client, page_text):
    from portal.google import services

    with app.test_request_context():
        services.save_credentials(client_id=CLIENT_ID, client_secret=SECRET,
                                  redirect_url=REDIRECT)
    db.session.commit()
    previous = app.config["ENCRYPTION_KEY"]
    app.config["ENCRYPTION_KEY"] = "a-different-key"
    try:
        login(client, make_user())
        response = client.post_form("/google/connect", page="/profile/external-accounts",
                                    follow_redirects=True)
    finally:
        app.config["ENCRYPTION_KEY"] = previous
    assert response.status_code == 200
    assert "ask an admin to enter it again" in page_text(response)
