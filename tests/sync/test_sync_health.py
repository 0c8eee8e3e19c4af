"""The admin's Sync health page: every user's connection and sync health on one page, in a
constant number of queries."""
import re
from datetime import datetime, timedelta, timezone

from sqlalchemy import event as sa_event

from portal.core.types import utcnow
from portal.extensions import db
from portal.google.models import STATUS_DISCONNECTED, STATUS_NEEDS_REAUTH, GoogleConnection
from portal.sync.core.runs import KIND_CONTACTS, SyncRun

PAGE = "/admin/sync-health/"


def _run(user, status="succeeded", kind="calendar", errors=0, age=timedelta(minutes=5),
         direction="both"):
    when = utcnow() - age
    run = SyncRun(job_id=f"job-{user.id}-{kind}-{status}-{age.total_seconds()}", user_id=user.id,
                  kind=kind, direction=direction, status=status, errors=errors,
                  created_at=when, started_at=when, finished_at=when + timedelta(seconds=3),
                  message="")
    db.session.add(run)
    db.session.commit()
    return run


def _connection(user, status, connected=True, error=None):
    db.session.add(GoogleConnection(
        user_id=user.id, google_email=user.email, status=status, last_error=error,
        connected_at=utcnow() - timedelta(days=3) if connected else None))
    db.session.commit()


def _row(html, email):
    match = re.search(r'<tr data-user="%s".*?</tr>' % re.escape(email), html, re.S)
    assert match, f"no row for {email}"
    return match.group(0)


def _world(make_user, connect_user, sync):
    """Ann synced fine; Bob needs to reconnect; Carl never connected; Dana connected and
    never synced; Erin disconnected; Finn's contacts run failed an hour ago."""
    ann, mapping = connect_user("ann@example.com")
    ann_run = sync(mapping)
    bob = make_user(email="bob@example.com", name="Bob")
    _connection(bob, STATUS_NEEDS_REAUTH, error="Google refused the saved authorization.")
    _run(bob, status="needs_reauth", age=timedelta(hours=2))
    carl = make_user(email="carl@example.com", name="Carl")
    dana, _ = connect_user("dana@example.com")
    erin = make_user(email="erin@example.com", name="Erin")
    _connection(erin, STATUS_DISCONNECTED)
    _run(erin, status="failed", age=timedelta(days=3))  # too old to count
    finn, finn_mapping = connect_user("finn@example.com")
    _run(finn, status="succeeded", errors=2, age=timedelta(hours=5))
    finn_failed = _run(finn, status="failed", kind=KIND_CONTACTS, age=timedelta(hours=1))
    return dict(ann=ann, ann_run=ann_run, bob=bob, carl=carl, dana=dana, erin=erin, finn=finn,
                finn_failed=finn_failed)


def test_every_user_with_their_connection_last_runs_and_errors(client, make_user, login,
                                                               connect_user, sync):
    w = _world(make_user, connect_user, sync)
    admin = make_user(role="admin", email="ada@example.com", name="Ada",
                      time_zone="America/New_York")
    login(client, admin)
    html = client.get(PAGE).get_data(as_text=True)
    assert 'data-testid="zone-note">Times in America/New_York' in html

    ann = _row(html, "ann@example.com")
    assert ">Connected<" in ann and "1 calendar mapped" in ann and "No errors" in ann
    assert f'href="/sync/runs/{w["ann_run"].id}"' in ann
    local = w["ann_run"].finished_at.astimezone(
        __import__("zoneinfo").ZoneInfo("America/New_York")).strftime("%a %d %b %Y %H:%M")
    assert local in ann  # in the viewer's zone, not UTC
    assert "Succeeded" in ann and 'data-attention' not in ann

    bob = _row(html, "bob@example.com")
    assert "Reconnect needed" in bob and "Google refused the saved authorization." in bob
    assert "1 failed run" in bob and 'data-attention="1"' in bob
    assert "Never connected" in _row(html, "carl@example.com")
    dana = _row(html, "dana@example.com")
    assert "Connected, never synced" in dana and 'data-attention="1"' in dana
    erin = _row(html, "erin@example.com")
    assert "Disconnected" in erin and "No errors" in erin and "data-attention" not in erin
    finn = _row(html, "finn@example.com")
    assert "1 failed run, 2 records refused" in finn
    assert f'href="/sync/runs/{w["finn_failed"].id}" data-testid="failed-run-link"' in finn


def test_needs_attention_filter(client, make_user, login, connect_user, sync):
    _world(make_user, connect_user, sync)
    login(client, make_user(role="admin", email="ada@example.com"))
    html = client.get(PAGE + "?show=attention").get_data(as_text=True)
    shown = set(re.findall(r'<tr data-user="([^"]+)"', html))
    assert shown == {"bob@example.com", "dana@example.com", "finn@example.com"}
    # anything else is the whole list, never an error
    assert client.get(PAGE + "?show=%00nonsense").status_code in (200, 400)
    everyone = client.get(PAGE + "?show=everyone").get_data(as_text=True)
    assert len(re.findall(r'<tr data-user=', everyone)) == 7


def test_the_admin_opens_a_users_run_from_the_page(client, make_user, login, connect_user,
                                                   sync):
    w = _world(make_user, connect_user, sync)
    login(client, make_user(role="admin", email="ada@example.com"))
    html = client.get(PAGE).get_data(as_text=True)
    link = re.search(r'href="(/sync/runs/%d)"' % w["finn_failed"].id, html).group(1)
    response = client.get(link)
    assert response.status_code == 200
    assert client.get(link + "?format=json").get_json()["status"] == "failed"


def test_admins_only(app, client, make_user, login):
    assert "/login" in app.test_client().get(PAGE).headers["Location"]
    login(client, make_user())
    assert client.get(PAGE).status_code == 403


def test_linked_from_the_admin_menu(client, make_user, login):
    login(client, make_user(role="admin"))
    assert f'href="{PAGE}">Sync health</a>' in client.get("/").get_data(as_text=True)


def _statements(client):
    statements = []

    def count(conn, cursor, statement, *args):
        statements.append(statement)

    sa_event.listen(db.engine, "before_cursor_execute", count)
    try:
        assert client.get(PAGE).status_code == 200
    finally:
        sa_event.remove(db.engine, "before_cursor_execute", count)
    return len(statements)


def test_a_constant_number_of_queries_whatever_the_number_of_users(client, make_user, login):
    login(client, make_user(role="admin", email="ada@example.com"))

    def add_users(n):
        for _ in range(n):
            user = make_user()
            _connection(user, STATUS_NEEDS_REAUTH)
            _run(user, status="failed")
            _run(user, status="succeeded", kind=KIND_CONTACTS, errors=1)

    add_users(2)
    few = _statements(client)
    add_users(15)
    assert _statements(client) == few


def test_the_admin_lists_all_runs_of_a_user_others_may_not(app, client, make_user, login,
                                                           connect_user, sync):
    w = _world(make_user, connect_user, sync)
    finn = w["finn"]
    login(client, make_user(role="admin", email="ada@example.com"))
    html = client.get(PAGE).get_data(as_text=True)
    assert f'href="/sync/runs?user={finn.id}" data-testid="all-runs"' in _row(html,
                                                                              finn.email)
    listing = client.get(f"/sync/runs?user={finn.id}").get_data(as_text=True)
    assert f"Sync runs of {finn.name}" in listing
    assert len(re.findall(r'href="/sync/runs/\d+"', listing)) == 2
    assert "Synchronize now" not in listing  # not the admin's own sync to start
    run_page = client.get(f"/sync/runs/{w['finn_failed'].id}").get_data(as_text=True)
    assert f'href="/sync/runs?user={finn.id}">All runs' in run_page
    assert client.get("/sync/runs?user=999999").status_code == 404

    other, theirs = make_user(email="olga@example.com"), app.test_client()
    login(theirs, other)
    assert theirs.get(f"/sync/runs?user={finn.id}").status_code == 404
    assert theirs.get(f"/sync/runs?user={other.id}").status_code == 200
    assert theirs.get("/sync/runs?user=abc").status_code == 200  # not an id: your own
