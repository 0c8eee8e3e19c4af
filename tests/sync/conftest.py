"""Fixtures for sync tests: the portal pointed at googlesim, users connected to it without
the browser flow, mappings, and RQ workers on the test Redis."""
from datetime import datetime, timedelta, timezone

import pytest

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
    from portal.sync.models import SyncRun

    def run(mapping, direction="both"):
        [queued] = enqueue_sync(mapping.user, mapping, direction)
        run_id = queued.id
        make_worker(app, simple=True).work(burst=True)
        db.session.expire_all()
        return db.session.get(SyncRun, run_id)

    return run


def live(events):
    """Events that are not deleted."""
    return [e for e in events if e.get("status") != "cancelled"]
