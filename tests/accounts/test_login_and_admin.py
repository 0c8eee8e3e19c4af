"""Login, profile and the admin's user management."""
from portal.accounts.models import User
from portal.extensions import db

PASSWORD = "correct-horse-42"  # the make_user fixture's (tests/conftest.py)


def test_login_with_wrong_password_is_refused_with_a_message(client, make_user):
    user = make_user()
    response = client.post_form("/login", {"email": user.email, "password": "nope"})
    assert response.status_code == 200
    assert "Wrong email or password" in response.get_data(as_text=True)


def test_login_then_pages_open_and_logout_closes_them(client, make_user, login):
    login(client, make_user())
    assert client.get("/profile").status_code == 200
    client.post_form("/logout", page="/profile")
    assert client.get("/profile").status_code == 302


def test_deactivated_user_cannot_log_in(client, make_user):
    user = make_user(active=False)
    response = client.post_form("/login", {"email": user.email, "password": PASSWORD})
    assert "deactivated" in response.get_data(as_text=True)


def test_login_ignores_offsite_next(client, make_user):
    user = make_user()
    response = client.post_form("/login?next=https://evil.example/x",
                                {"email": user.email, "password": PASSWORD}, page="/login")
    assert response.status_code == 302
    assert "evil.example" not in response.headers["Location"]


def test_post_without_csrf_token_is_refused(client, make_user, login):
    login(client, make_user())
    response = client.post("/profile", data={"name": "X", "email": "x@example.com",
                                             "time_zone": "UTC", "submit": "1"})
    assert response.status_code == 400
    assert "session form expired" in response.get_data(as_text=True)


def test_profile_rejects_unknown_time_zone_and_keeps_input(client, make_user, login):
    user = make_user()
    login(client, user)
    response = client.post_form("/profile", {"name": "New Name", "email": user.email,
                                             "time_zone": "Mars/Olympus", "submit": "1"})
    html = response.get_data(as_text=True)
    assert "Choose a time zone from the list" in html
    assert 'value="New Name"' in html
    assert db.session.get(User, user.id).time_zone == "UTC"


def test_profile_saves_name_email_and_zone(client, make_user, login):
    user = make_user()
    login(client, user)
    client.post_form("/profile", {"name": "Renamed", "email": "New@Example.com",
                                  "time_zone": "Europe/Madrid", "submit": "1"})
    db.session.expire_all()
    saved = db.session.get(User, user.id)
    assert (saved.name, saved.email, saved.time_zone) == ("Renamed", "new@example.com", "Europe/Madrid")


def test_non_admin_cannot_open_admin_pages(client, make_user, login):
    login(client, make_user())
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/users/new").status_code == 403


def test_admin_creates_edits_deactivates_and_resets_password(admin_client, client):
    response = admin_client.post_form("/admin/users/new", {
        "name": "Nina New", "email": "nina@example.com", "time_zone": "Europe/Berlin",
        "role": "user", "active": "y", "password": "longenough1"})
    assert response.status_code == 302
    nina = db.session.scalar(db.select(User).where(User.email == "nina@example.com"))
    assert nina.time_zone == "Europe/Berlin" and nina.check_password("longenough1")

    admin_client.post_form(f"/admin/users/{nina.id}/active", page="/admin/users")
    db.session.expire_all()
    assert not db.session.get(User, nina.id).active

    admin_client.post_form(f"/admin/users/{nina.id}/password", {"password": "another-pass"})
    db.session.expire_all()
    assert db.session.get(User, nina.id).check_password("another-pass")


def test_admin_cannot_create_duplicate_email(admin_client, make_user):
    existing = make_user(email="dup@example.com")
    response = admin_client.post_form("/admin/users/new", {
        "name": "Dup", "email": "DUP@example.com", "time_zone": "UTC", "role": "user",
        "password": "longenough1"})
    assert "already exists" in response.get_data(as_text=True)
    assert db.session.scalar(db.select(db.func.count(User.id))) == 2
    assert existing.name != "Dup"


def test_last_admin_cannot_be_demoted(client, make_user, login):
    admin = make_user(role="admin")
    login(client, admin)
    response = client.post_form(f"/admin/users/{admin.id}", {
        "name": admin.name, "email": admin.email, "time_zone": "UTC", "role": "user",
        "active": "y"})
    assert "last active admin" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(User, admin.id).is_admin


def test_create_admin_cli(app):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["users", "create-admin", "--email", "Boss@Example.com",
                                 "--name", "Boss", "--password", "supersecret"])
    assert result.exit_code == 0, result.output
    boss = db.session.scalar(db.select(User).where(User.email == "boss@example.com"))
    assert boss.is_admin
    again = runner.invoke(args=["users", "create-admin", "--email", "boss@example.com",
                                "--name", "Boss", "--password", "supersecret"])
    assert again.exit_code != 0 and "already exists" in again.output
