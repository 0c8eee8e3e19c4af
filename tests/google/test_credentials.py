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
