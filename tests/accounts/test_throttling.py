"""Login throttling per account and per client address, on password change and on OAuth
connect: 429 with Retry-After and a plain message, counted in the app's Redis. Limits are
settings; the tests make them small."""
import html

import pytest

from portal.accounts import models, services
from portal.extensions import db
from portal.jobs.connection import get_redis

PASSWORD = "correct-horse-42"  # the make_user fixture's (tests/conftest.py)


@pytest.fixture
def limits(app, monkeypatch):
    def set_(**values):
        for key, value in values.items():
            monkeypatch.setitem(app.config, key, value)

    return set_


def _login(client, email, password, address="127.0.0.1"):
    return client.post_form("/login", {"email": email, "password": password},
                            environ_base={"REMOTE_ADDR": address})


def _is_throttled(response):
    text = html.unescape(response.get_data(as_text=True))
    return (response.status_code == 429 and int(response.headers["Retry-After"]) > 0
            and "Too many attempts" in text)


def test_wrong_passwords_for_one_account_are_throttled_even_the_right_one_next(
        app, client, make_user, limits):
    limits(LOGIN_LIMIT_PER_ACCOUNT="3 per minute")
    ann, bob = make_user(email="ann@example.com"), make_user(email="bob@example.com")
    for _ in range(3):
        assert _login(client, "ANN@example.com", "wrong-password!").status_code == 200
    assert _is_throttled(_login(client, ann.email, PASSWORD))
    assert _is_throttled(_login(client, ann.email, PASSWORD, address="10.0.0.9"))
    # Another account from the same address is not blocked by Ann's limit.
    assert _login(app.test_client(), bob.email, PASSWORD).status_code == 302
    assert get_redis().keys("*portal-limits*"), "counted in the app's Redis"


def test_wrong_passwords_from_one_address_are_throttled_across_accounts(app, make_user,
                                                                        limits):
    limits(LOGIN_LIMIT_PER_ADDRESS="4 per minute")
    ann = make_user(email="ann@example.com")
    client = app.test_client()
    for n in range(4):
        assert _login(client, f"guess{n}@example.com", "wrong-password!",
                      address="10.0.0.7").status_code == 200
    assert _is_throttled(_login(client, ann.email, PASSWORD, address="10.0.0.7"))
    assert _login(app.test_client(), ann.email, PASSWORD,
                  address="10.0.0.8").status_code == 302


def test_successful_logins_do_not_count(app, make_user, limits):
    limits(LOGIN_LIMIT_PER_ACCOUNT="2 per minute", LOGIN_LIMIT_PER_ADDRESS="2 per minute")
    ann = make_user(email="ann@example.com")
    for _ in range(5):
        assert _login(app.test_client(), ann.email, PASSWORD).status_code == 302


def test_wrong_current_passwords_on_password_change_are_throttled(client, make_user, login,
                                                                  limits):
    limits(PASSWORD_CHANGE_LIMIT="2 per minute")
    login(client, make_user())

    def change(current):
        return client.post_form("/profile", {"pw-current_password": current,
                                             "pw-new_password": "plum-orchard-77",
                                             "pw-confirm": "plum-orchard-77",
                                             "pw-submit": "1"})

    assert change("not-my-password").status_code == 200
    assert change("not-my-password").status_code == 200
    assert _is_throttled(change(PASSWORD))
    # Saving the profile itself is not a password guess.
    assert client.get("/profile").status_code == 200


def test_oauth_connect_is_throttled(client, make_user, login, limits):
    limits(OAUTH_CONNECT_LIMIT="2 per minute")
    login(client, make_user())
    for _ in range(2):
        assert client.post_form("/google/connect",
                                page="/profile/external-accounts").status_code == 302
    assert _is_throttled(client.post_form("/google/connect",
                                          page="/profile/external-accounts"))


@pytest.mark.parametrize("case", ["unknown", "wrong", "deactivated"])
def test_every_failed_login_hashes_a_password(make_user, monkeypatch, case):
    """The same work for an unknown email as for a known one: no probing by timing."""
    calls = []
    for module in (services, models):
        original = module.check_password_hash
        monkeypatch.setattr(module, "check_password_hash",
                            lambda *a, original=original: calls.append(1) or original(*a))
    user = make_user(email="ann@example.com", active=case != "deactivated")
    email = "nobody@example.com" if case == "unknown" else user.email
    password = "wrong-password!" if case == "wrong" else PASSWORD
    assert services.authenticate(email, password) is None
    assert calls == [1]
    db.session.rollback()


def test_throttling_counts_in_memory_while_redis_is_down(app, make_user, tmp_path):
    """Never an error page because of throttling: with its Redis gone, a web process counts
    on its own until Redis is back."""
    from portal import create_app
    from portal.jobs import embedded

    instance = tmp_path / "redis"
    url = embedded.start(instance)
    embedded.stop(instance)  # this app's Redis is down from the start
    keys = ("SECRET_KEY", "ENCRYPTION_KEY", "ENCRYPTION_KEYS", "SQLALCHEMY_DATABASE_URI",
            "TESTING", "RQ_QUEUE")
    other = create_app({**{k: app.config[k] for k in keys}, "REDIS_URL": url,
                        "LOGIN_LIMIT_PER_ACCOUNT": "2 per minute"})
    other.test_client_class = app.test_client_class
    ann = make_user(email="ann@example.com")
    try:
        client = other.test_client()
        assert _login(client, ann.email, "wrong-password!").status_code == 200
        assert _login(client, ann.email, "wrong-password!").status_code == 200
        assert _is_throttled(_login(client, ann.email, PASSWORD))
    finally:
        with other.app_context():
            db.engine.dispose()


def test_limits_can_be_set_from_the_environment(monkeypatch):
    from portal import create_app

    monkeypatch.setenv("LOGIN_LIMIT_PER_ACCOUNT", "5 per hour")
    app = create_app({"TESTING": True, "SECRET_KEY": "x", "SQLALCHEMY_DATABASE_URI": "sqlite://"})
    assert app.config["LOGIN_LIMIT_PER_ACCOUNT"] == "5 per hour"
    assert app.config["LOGIN_LIMIT_PER_ADDRESS"] == "50 per 15 minutes"
