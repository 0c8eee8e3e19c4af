"""Revocable sessions: logout, a password change, an admin deactivating a user or resetting
their password end every session of that user, session cookies and remember cookies alike."""
from datetime import datetime, timezone

from portal import create_app
from portal.accounts.models import User
from portal.extensions import db

PASSWORD = "correct-horse-42"  # the make_user fixture's (tests/conftest.py)


def _browser(app):
    return app.test_client()


def _copy(cookie_name, source, target):
    """What an attacker does with a stolen cookie: replay it from another browser."""
    target.set_cookie(cookie_name, source.get_cookie(cookie_name).value)
    return target


def _logged_in(client):
    return client.get("/profile").status_code == 200


def test_a_copied_session_cookie_stops_working_after_logout(app, client, make_user, login):
    login(client, make_user())
    thief = _copy("session", client, _browser(app))
    assert _logged_in(thief)
    client.post_form("/logout", page="/profile")
    assert not _logged_in(client)
    assert not _logged_in(thief)


def test_the_remember_cookie_stops_working_after_logout(app, client, make_user):
    user = make_user()
    response = client.post_form("/login", {"email": user.email, "password": PASSWORD,
                                           "remember": "y"})
    assert response.status_code == 302
    thief = _copy("remember_token", client, _browser(app))
    assert _logged_in(thief)  # the remember cookie alone logs in (a closed browser)
    client.post_form("/logout", page="/profile")
    assert not _logged_in(_copy("remember_token", thief, _browser(app)))
    assert not _logged_in(thief)


def test_a_password_change_ends_the_other_sessions_but_not_this_one(app, client, make_user,
                                                                    login):
    user = make_user()
    login(client, user)
    other = login(_browser(app), user)
    remembered = _browser(app)
    remembered.post_form("/login", {"email": user.email, "password": PASSWORD,
                                    "remember": "y"})
    remember_only = _copy("remember_token", remembered, _browser(app))
    response = client.post_form("/profile", {"pw-current_password": PASSWORD,
                                             "pw-new_password": "plum-orchard-77",
                                             "pw-confirm": "plum-orchard-77",
                                             "pw-submit": "1"})
    assert response.status_code == 302
    assert _logged_in(client)
    assert not _logged_in(other)
    assert not _logged_in(remember_only)


def test_admin_deactivation_and_password_reset_end_the_users_sessions(app, admin_client,
                                                                      make_user, login):
    nina = make_user(email="nina@example.com")
    nina_browser = login(_browser(app), nina)
    admin_client.post_form(f"/admin/users/{nina.id}/password",
                           {"password": "plum-orchard-77"})
    assert not _logged_in(nina_browser)

    nina_browser = login(_browser(app), nina, password="plum-orchard-77")
    admin_client.post_form(f"/admin/users/{nina.id}/active", page="/admin/users")
    assert not _logged_in(nina_browser)
    db.session.expire_all()
    assert not db.session.get(User, nina.id).active
    assert _logged_in(admin_client)


def test_an_admin_resetting_their_own_password_stays_logged_in(app, client, make_user, login):
    admin = make_user(role="admin")
    login(client, admin)
    other = login(_browser(app), admin)
    client.post_form(f"/admin/users/{admin.id}/password", {"password": "plum-orchard-77"})
    assert _logged_in(client) and not _logged_in(other)


def test_session_ids_from_before_and_forged_ones_are_refused(app, client, make_user, login):
    user = make_user()
    login(client, user)
    for forged in (str(user.id), f"{user.id}:", f"{user.id}:guess", f"{2**70}:x", "x:y",
                   "", "\0:\0"):
        with client.session_transaction() as session:
            session["_user_id"] = forged
        assert not _logged_in(client), forged


def test_remember_cookie_is_httponly_lax_and_lasts_30_days_at_most(app, client, make_user):
    user = make_user()
    response = client.post_form("/login", {"email": user.email, "password": PASSWORD,
                                           "remember": "y"})
    [cookie] = [h for h in response.headers.getlist("Set-Cookie")
                if h.startswith("remember_token=")]
    attrs = {part.split("=", 1)[0].strip().lower(): part.split("=", 1)[-1].strip()
             for part in cookie.split(";")[1:]}
    assert "httponly" in attrs and attrs["samesite"] == "Lax"
    expires = datetime.strptime(attrs["expires"], "%a, %d %b %Y %H:%M:%S GMT").replace(
        tzinfo=timezone.utc)
    assert (expires - datetime.now(timezone.utc)).days <= 30


def test_remember_and_session_cookies_are_secure_in_production(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.setenv("SECRET_KEY", "a-real-secret-key")
    monkeypatch.setenv("ENCRYPTION_KEY", "a-real-encryption-key")
    monkeypatch.delenv("SESSION_COOKIE_SECURE", raising=False)
    config = create_app().config
    assert config["REMEMBER_COOKIE_SECURE"] and config["SESSION_COOKIE_SECURE"]
    assert config["REMEMBER_COOKIE_HTTPONLY"] and config["SESSION_COOKIE_HTTPONLY"]
