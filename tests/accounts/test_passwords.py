"""Password rules everywhere a password is set: at least 10 characters, not the email, not
one of the most common passwords."""
import html

import pytest

from portal.accounts.models import User
from portal.accounts.passwords import password_problem
from portal.extensions import db

PASSWORD = "correct-horse-42"  # the make_user fixture's (tests/conftest.py)
REFUSED = [
    ("short-9ch", "at least 10 characters"),
    ("nina@example.com", "must not be your email"),
    ("NINA@Example.com", "must not be your email"),
    ("password1234", "most common passwords"),
    ("qwertyuiop", "most common passwords"),
    ("1234567890", "most common passwords"),
]


@pytest.mark.parametrize("password,why", REFUSED + [("ninaninanina", None),
                                                    ("a" * 201, "at most 200")])
def test_password_rules(password, why):
    problem = password_problem(password, "nina@example.com")
    assert (problem is None) if why is None else (why in problem.lower())


def _text(response):
    return html.unescape(response.get_data(as_text=True))


@pytest.mark.parametrize("password,why", REFUSED)
def test_admin_cannot_create_a_user_with_a_weak_password(admin_client, password, why):
    response = admin_client.post_form("/admin/users/new", {
        "name": "Nina", "email": "nina@example.com", "time_zone": "UTC", "role": "user",
        "active": "y", "password": password})
    assert response.status_code == 200
    assert why in _text(response).lower()
    assert db.session.scalar(db.select(User).where(User.email == "nina@example.com")) is None


@pytest.mark.parametrize("password,why", REFUSED)
def test_admin_reset_and_edit_refuse_a_weak_password(admin_client, make_user, password, why):
    nina = make_user(email="nina@example.com")
    response = admin_client.post_form(f"/admin/users/{nina.id}/password",
                                      {"password": password})
    assert why in _text(response).lower()
    response = admin_client.post_form(f"/admin/users/{nina.id}", {
        "name": "Nina Renamed", "email": nina.email, "time_zone": "UTC", "role": "user",
        "active": "y", "password": password})
    assert why in _text(response).lower()
    db.session.expire_all()
    nina = db.session.get(User, nina.id)
    assert nina.check_password(PASSWORD) and nina.name != "Nina Renamed"


@pytest.mark.parametrize("password,why", REFUSED)
def test_profile_password_change_refuses_a_weak_password(client, make_user, login, password,
                                                         why):
    nina = make_user(email="nina@example.com")
    login(client, nina)
    response = client.post_form("/profile", {"pw-current_password": PASSWORD,
                                             "pw-new_password": password,
                                             "pw-confirm": password, "pw-submit": "1"})
    assert why in _text(response).lower()
    db.session.expire_all()
    assert db.session.get(User, nina.id).check_password(PASSWORD)


def test_profile_password_change_accepts_a_good_one(client, make_user, login):
    nina = make_user(email="nina@example.com")
    login(client, nina)
    response = client.post_form("/profile", {"pw-current_password": PASSWORD,
                                             "pw-new_password": "plum-orchard-77",
                                             "pw-confirm": "plum-orchard-77",
                                             "pw-submit": "1"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(User, nina.id).check_password("plum-orchard-77")


@pytest.mark.parametrize("password,why", REFUSED[:1] + REFUSED[3:4])
def test_create_admin_cli_refuses_a_weak_password(app, password, why):
    result = app.test_cli_runner().invoke(args=[
        "users", "create-admin", "--email", "boss@example.com", "--name", "Boss",
        "--password", password])
    assert result.exit_code != 0 and why in result.output.lower()
    assert db.session.scalar(db.select(User)) is None


def test_the_demo_logins_follow_the_rules():
    from portal.demo import DEMO_USERS

    for email, _, _, _, password in DEMO_USERS:
        assert password_problem(password, email) is None, email
