"""Google push notifications end to end: googlesim's channels call the portal's webhook over
real HTTP (the portal served on a loopback port), the webhook queues a debounced import, a
worker runs it, and the Google edit is in the CRM. Channels are renewed by the scheduler's
upkeep before they expire and stopped when nobody needs them."""
import threading
import time
from datetime import timedelta

import pytest
from werkzeug.serving import make_server

from portal.extensions import db
from portal.google import push
from portal.google.models import PushChannel
from portal.jobs import push as push_jobs
from portal.jobs.connection import get_queue, get_redis

EVENT = {"summary": "Made in Google", "start": {"dateTime": "2031-05-06T10:00:00+02:00"},
         "end": {"dateTime": "2031-05-06T11:00:00+02:00"}}


@pytest.fixture(scope="module")
def _portal_server(_app):
    server = make_server("127.0.0.1", 0, _app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


@pytest.fixture
def push_on(app, _portal_server):
    """Push switched on, pointed at the portal served over HTTP."""
    app.config["GOOGLE_PUSH_URL"] = _portal_server
    yield _portal_server
    app.config["GOOGLE_PUSH_URL"] = None


def wait_until(condition, what, limit=15.0):
    """Wait for something another thread or process does (not a timing assertion: the
    limit only turns a hang into a failure that says what never happened)."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.02)
    pytest.fail(f"never happened: {what}")


def queued():
    return get_queue().count


def channels():
    db.session.expire_all()
    return db.session.scalars(db.select(PushChannel)).all()


def activities():
    from portal.crm.models import Activity

    db.session.expire_all()
    return db.session.scalars(db.select(Activity)).all()


def test_a_google_edit_reaches_the_crm_through_the_webhook(push_on, connect_user, sim, work):
    ann, mapping = connect_user()
    assert push.reconcile() == (1, 0)
    db.session.commit()
    [channel] = channels()
    [at_google] = sim.channels()
    assert at_google["address"] == push_on + "/google/notifications"
    assert at_google["id"] == channel.channel_id and at_google["token"]
    assert channel.token_hash != at_google["token"]           # only a hash is stored
    # Google's first message ("sync") arrives and queues nothing.
    wait_until(lambda: sim.channels()[0]["messageNumber"] >= 1, "the sync message")
    assert queued() == 0

    sim.insert_event(ann.email, ann.email, EVENT)
    wait_until(lambda: queued() == 1, "an import queued by the notification")
    work()
    [activity] = activities()
    assert activity.subject == "Made in Google"

    made = sim.events(ann.email, ann.email)[0]
    sim.patch_event(ann.email, ann.email, made["id"], {"summary": "Renamed in Google"})
    wait_until(lambda: queued() == 1, "an import after the second edit")
    work()
    assert activities()[0].subject == "Renamed in Google"


def post(client, channel_id, token, state="exists", resource_id=None):
    headers = {"X-Goog-Channel-ID": channel_id, "X-Goog-Resource-State": state,
               "X-Goog-Message-Number": "2"}
    if token is not None:
        headers["X-Goog-Channel-Token"] = token
    if resource_id:
        headers["X-Goog-Resource-ID"] = resource_id
    return client.post("/google/notifications", headers=headers)


@pytest.fixture
def known_channel(app, connect_user):
    """A channel row whose token the test knows (as if opened with it)."""
    ann, mapping = connect_user()
    channel = PushChannel(mapping_id=mapping.id, user_id=ann.id, channel_id="c" * 32,
                          resource_id="res-1", calendar_id=mapping.calendar_id,
                          token_hash=push.token_hash("the-secret"))
    db.session.add(channel)
    db.session.commit()
    return channel, mapping


def test_a_burst_of_notifications_queues_one_import(client, known_channel):
    channel, mapping = known_channel
    answers = [post(client, channel.channel_id, "the-secret", resource_id="res-1")
               for _ in range(5)]
    assert [a.status_code for a in answers] == [200] * 5
    assert queued() == 1


def test_a_change_during_the_import_runs_one_more_after_it(app, client, known_channel):
    from portal.jobs.locks import mapping_lock_key
    from portal.sync.core.runs import RUN_RUNNING, SyncRun

    channel, mapping = known_channel
    post(client, channel.channel_id, "the-secret")
    assert queued() == 1
    # A worker takes the job: it starts (the burst is over) and runs, holding the mapping.
    push_jobs.job_starting(mapping.id)
    [run] = db.session.scalars(db.select(SyncRun)).all()
    run.status = RUN_RUNNING
    db.session.commit()
    post(client, channel.channel_id, "the-secret")
    assert queued() == 1          # not a second run of the same calendar at once...
    get_queue().empty()           # the run ends and lets the mapping go
    get_redis().delete(mapping_lock_key(mapping.id))
    run.status = "succeeded"
    db.session.commit()
    push_jobs.job_finished(mapping.id)
    assert queued() == 1          # ...but one more import once it ended


def test_a_notification_while_an_export_only_run_waits_is_imported_after_it(
        client, known_channel, sim, work):
    from portal.jobs.sync import enqueue_sync

    channel, mapping = known_channel
    ann = mapping.user
    sim.insert_event(ann.email, mapping.calendar_id, EVENT)
    [export] = enqueue_sync(ann, mapping, "export")     # e.g. the scheduler's export cron
    db.session.commit()
    assert post(client, channel.channel_id, "the-secret", resource_id="res-1").status_code \
        == 200
    work()              # the export runs, then the import the notification asked for
    assert [a.subject for a in activities()] == ["Made in Google"]


@pytest.mark.parametrize("channel_id, token, state, resource", [
    ("c" * 32, "wrong", "exists", None),            # wrong token
    ("c" * 32, None, "exists", None),               # no token
    ("unknown-channel", "the-secret", "exists", None),
    ("c" * 32, "the-secret", "sync", None),         # the opening message
    ("c" * 32, "the-secret", "exists", "another-resource"),
    ("", "", "", None),
])
def test_anything_else_is_answered_alike_and_queues_nothing(client, known_channel, channel_id,
                                                            token, state, resource):
    answer = post(client, channel_id, token, state, resource)
    assert (answer.status_code, answer.get_data()) == (200, b"")
    assert queued() == 0


def test_the_webhook_needs_no_csrf_token_but_other_posts_still_do(client, known_channel):
    channel, _ = known_channel
    assert post(client, channel.channel_id, "the-secret").status_code == 200
    assert queued() == 1
    assert client.post("/google/connect").status_code == 400  # CSRF still on elsewhere


def test_channels_are_renewed_before_expiry_and_the_old_one_stopped(push_on, connect_user,
                                                                    sim):
    connect_user()
    push.reconcile()
    db.session.commit()
    [first] = channels()
    assert push.reconcile() == (0, 0)                 # fresh: nothing to do
    later = first.expires_at - timedelta(hours=12)    # within a day of its expiry
    assert push.reconcile(now=later) == (1, 1)
    db.session.commit()
    [second] = channels()
    assert second.channel_id != first.channel_id
    assert [c["id"] for c in sim.channels()] == [second.channel_id]


def test_channels_stop_when_import_is_off_the_calendar_changes_or_on_disconnect(
        push_on, connect_user, sim):
    from portal.google import services

    ann, mapping = connect_user()
    push.reconcile()
    db.session.commit()
    mapping.import_enabled = False
    assert push.reconcile() == (0, 1)
    db.session.commit()
    assert channels() == [] and sim.channels() == []

    mapping.import_enabled = True
    push.reconcile()
    other = sim.create_calendar(ann.email, "Other")
    mapping.calendar_id = other["id"]
    assert push.reconcile() == (1, 1)                  # the old calendar's stopped, new one
    db.session.commit()
    assert [c["calendarId"] for c in sim.channels()] == [other["id"]]

    services.disconnect(ann, keep_links=True)
    db.session.commit()
    assert channels() == [] and sim.channels() == []


def test_push_off_opens_nothing_and_stops_what_is_left(app, push_on, connect_user, sim):
    connect_user()
    push.reconcile()
    db.session.commit()
    app.config["GOOGLE_PUSH_URL"] = None
    assert push.reconcile() == (0, 1)
    db.session.commit()
    assert sim.channels() == []


def test_the_scheduler_tick_opens_channels(push_on, connect_user, sim):
    from portal.scheduler.dispatch import tick

    connect_user()
    tick()
    assert len(channels()) == 1 and len(sim.channels()) == 1


def test_a_mapping_saved_without_import_stops_its_channel_at_once(push_on, connect_user, sim):
    from portal.google import services

    ann, mapping = connect_user()
    push.reconcile()
    db.session.commit()
    mapping.import_enabled = False
    services.save_mappings(ann, [], [])  # the save ends by stopping unwanted channels
    db.session.commit()
    assert channels() == [] and sim.channels() == []


def test_a_refused_watch_is_asked_again_an_hour_later_not_every_tick(push_on, connect_user,
                                                                     sim):
    connect_user()
    sim.fault(path="/calendar/v3/calendars/", method="POST", status=400,
              reason="push.webhookUrlNotHttps")
    assert push.reconcile() == (0, 0)
    sim.stats_reset()
    assert push.reconcile() == (0, 0)
    assert sim.stats()["requests"] == {}               # not asked again on the next tick
    get_redis().flushdb()                              # an hour later
    assert push.reconcile() == (1, 0)


def test_a_watch_refused_for_a_revoked_grant_asks_the_user_to_reconnect(push_on, connect_user,
                                                                        sim):
    from portal.google.models import STATUS_NEEDS_REAUTH, GoogleConnection

    ann, mapping = connect_user()
    connection = db.session.scalars(db.select(GoogleConnection)
                                    .where(GoogleConnection.user_id == ann.id)).one()
    connection.token_expires_at = None       # the next call refreshes its access token
    connection.access_token_encrypted = None
    db.session.commit()
    sim.revoke_grants(ann.email)
    assert push.reconcile() == (0, 0)
    db.session.commit()
    db.session.expire_all()
    assert connection.status == STATUS_NEEDS_REAUTH
    assert channels() == []
