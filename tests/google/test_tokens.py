"""Token refresh, a revoked grant (needs reauthorization), disconnect and reconnect."""
from datetime import timedelta

import pytest
import requests

from portal.core import crypto
from portal.core.types import utcnow
from portal.extensions import db
from portal.google import services
from portal.google.client import ReauthorizationNeeded
from portal.google.models import CalendarMapping, GoogleConnection

EMAIL = "sam.g@example.com"


@pytest.fixture
def connected(client, make_user, login, configured, connect):
    user = make_user()
    login(client, user)
    connect(client, EMAIL)
    return user


def _conn(user):
    db.session.expire_all()
    return db.session.scalars(db.select(GoogleConnection).filter_by(user_id=user.id)).first()


def _token_grant(base_url, refresh_token, configured):
    return requests.post(base_url + "/token", data={
        "grant_type": "refresh_token", "refresh_token": refresh_token,
        "client_id": configured["client_id"], "client_secret": configured["client_secret"]})


def test_expired_access_token_is_refreshed_before_the_call_and_stored(connected, sim,
                                                                      configured):
    conn = _conn(connected)
    old_access = crypto.decrypt(conn.access_token_encrypted)
    conn.token_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    sim.stats_reset()
    calendars = services.list_calendars(connected)
    db.session.commit()
    assert [c["id"] for c in calendars] == [EMAIL]
    conn = _conn(connected)
    assert crypto.decrypt(conn.access_token_encrypted) != old_access
    assert conn.token_expires_at > utcnow() + timedelta(minutes=50)
    assert conn.status == "connected"
    requests_seen = sim.stats()["requests"]
    assert any("/token" in key for key in requests_seen), requests_seen


def test_access_token_rejected_by_google_is_refreshed_once_and_retried(connected, sim):
    sim.expire(access_tokens=True)  # Google forgets the token before our expiry says so
    calendars = services.list_calendars(connected)
    db.session.commit()
    assert [c["id"] for c in calendars] == [EMAIL]
    assert _conn(connected).status == "connected"


def test_revoked_grant_marks_needs_reauth_and_shows_the_banner_everywhere(
        client, connected, sim, page_text, activity_types):
    mapping = CalendarMapping(user_id=connected.id, activity_type_id=activity_types["Meeting"].id,
                              calendar_id=EMAIL, calendar_summary=EMAIL)
    db.session.add(mapping)
    db.session.commit()
    sim.revoke_grants(EMAIL)
    _conn(connected).token_expires_at = utcnow() - timedelta(minutes=1)  # force a refresh
    db.session.commit()
    text = page_text(client.get("/google/sync"))
    assert "Google no longer accepts the portal's access" in text
    conn = _conn(connected)
    assert conn.status == "needs_reauth"
    assert not services.connection_usable(connected)
    with pytest.raises(services.NotConnected):
        services.client_for(connected)
    # the banner, with a reconnect button, on an unrelated page
    text = page_text(client.get("/profile"))
    assert "Google needs reauthorization" in text and "Reconnect Google" in text
    # nothing else was lost
    assert db.session.get(CalendarMapping, mapping.id).calendar_id == EMAIL
    text = page_text(client.get("/google/sync"))
    assert "reconnect to change your calendars" in text and f"Meeting → {EMAIL}" in text


def test_reconnect_clears_the_banner(client, connected, sim, connect, page_text):
    services.mark_needs_reauth(connected, "test")
    db.session.commit()
    assert "Google needs reauthorization" in page_text(client.get("/profile"))
    connect(client, EMAIL)
    assert _conn(connected).status == "connected"
    assert "Google needs reauthorization" not in page_text(client.get("/profile"))


def test_banner_is_not_shown_to_others_or_on_the_login_page(app, client, connected, make_user,
                                                            login, page_text):
    services.mark_needs_reauth(connected, "test")
    db.session.commit()
    other = make_user()
    with app.app_context():
        fresh = app.test_client()
        assert "Google needs reauthorization" not in page_text(fresh.get("/login"))
        login(fresh, other)
        assert "Google needs reauthorization" not in page_text(fresh.get("/profile"))
    # error pages render it safely for the affected user
    response = client.get("/no-such-page")
    assert response.status_code == 404
    assert "Google needs reauthorization" in page_text(response)


def test_disconnect_revokes_at_google_and_deletes_tokens(client, connected, sim, google_base,
                                                         configured, page_text):
    refresh_token = crypto.decrypt(_conn(connected).refresh_token_encrypted)
    text = page_text(client.get("/google/disconnect"))
    assert "Keep them" in text and "Forget them" in text
    response = client.post_form("/google/disconnect", {"links": "keep"}, follow_redirects=True)
    assert "access was revoked at Google" in page_text(response)
    conn = _conn(connected)
    assert conn.status == "disconnected"
    assert conn.refresh_token_encrypted is None and conn.access_token_encrypted is None
    assert conn.links_on_disconnect == "keep"
    assert conn.google_email == EMAIL  # kept to recognise a reconnect to the same account
    answer = _token_grant(google_base, refresh_token, configured)
    assert answer.status_code == 400 and answer.json()["error"] == "invalid_grant"
    assert sim.grants(EMAIL) == []
    assert "Authorize and Connect" in page_text(client.get("/profile/external-accounts"))


def test_disconnect_and_forget_clears_sync_state(client, connected, activity_types):
    db.session.add(CalendarMapping(user_id=connected.id,
                                   activity_type_id=activity_types["Meeting"].id,
                                   calendar_id=EMAIL, sync_token="tok", last_synced_at=utcnow()))
    db.session.commit()
    forgotten = []

    def hook(user):
        forgotten.append(user.id)

    services.register_forget_links_hook(hook)
    try:
        client.post_form("/google/disconnect", {"links": "forget"})
    finally:
        services._forget_links_hooks.remove(hook)
    assert _conn(connected).links_on_disconnect == "forget"
    mapping = db.session.scalars(db.select(CalendarMapping)).one()
    assert mapping.sync_token is None and mapping.last_synced_at is None
    assert forgotten == [connected.id]


def test_reconnecting_another_google_account_does_not_reuse_the_old_ones(
        client, connected, connect, sim, activity_types):
    db.session.add(CalendarMapping(user_id=connected.id,
                                   activity_type_id=activity_types["Meeting"].id,
                                   calendar_id=EMAIL, calendar_summary=EMAIL, sync_token="tok"))
    db.session.commit()
    client.post_form("/google/disconnect", {"links": "keep"})
    connect(client, "other.account@example.com")
    assert _conn(connected).google_email == "other.account@example.com"
    mapping = db.session.scalars(db.select(CalendarMapping)).one()
    assert mapping.sync_token is None and mapping.calendar_id is None


def test_reconnecting_the_same_account_keeps_mappings(client, connected, connect,
                                                      activity_types):
    db.session.add(CalendarMapping(user_id=connected.id,
                                   activity_type_id=activity_types["Meeting"].id,
                                   calendar_id=EMAIL, calendar_summary=EMAIL, sync_token="tok"))
    db.session.commit()
    client.post_form("/google/disconnect", {"links": "keep"})
    connect(client, EMAIL)
    mapping = db.session.scalars(db.select(CalendarMapping)).one()
    assert mapping.sync_token == "tok" and mapping.calendar_id == EMAIL


def test_call_google_marks_needs_reauth_on_403_insufficient_permissions(connected, sim):
    sim.fault(path="/calendar/v3/users/me/calendarList", status=403,
              reason="insufficientPermissions")
    with pytest.raises(ReauthorizationNeeded):
        services.list_calendars(connected)
    db.session.commit()
    assert _conn(connected).status == "needs_reauth"


def test_token_close_to_expiry_is_refreshed_before_it_expires(connected, sim):
    """google-auth refreshes a few minutes early; the new token is written back."""
    conn = _conn(connected)
    old_access = crypto.decrypt(conn.access_token_encrypted)
    conn.token_expires_at = utcnow() + timedelta(seconds=90)  # still valid, but not for long
    db.session.commit()
    services.list_calendars(connected)
    db.session.commit()
    conn = _conn(connected)
    new_access = crypto.decrypt(conn.access_token_encrypted)
    assert new_access != old_access
    assert conn.token_expires_at > utcnow() + timedelta(minutes=50)
    # the stored token is the one Google now accepts
    response = requests.get(sim.base_url + "/calendar/v3/users/me/calendarList",
                            headers={"Authorization": f"Bearer {new_access}"})
    assert response.status_code == 200


def test_a_revoked_grant_stops_that_users_sync_only(app, client, connected, sim, make_user,
                                                    login, connect, make_activity):
    """The sync layer refuses to run for a user waiting for a reconnect; others go on."""
    from portal.sync.calendar.runner import run_mapping

    def meeting_mapping(user, email, subject):
        activity = make_activity(user, subject=subject)
        mapping = CalendarMapping(user_id=user.id, activity_type_id=activity.activity_type_id,
                                  calendar_id=email, calendar_summary=email)
        db.session.add(mapping)
        db.session.commit()
        return mapping

    meeting = meeting_mapping(connected, EMAIL, "My meeting")
    other = make_user()
    with app.app_context():
        other_client = app.test_client()
        login(other_client, other)
        connect(other_client, "other.person@example.com")
    other_mapping = meeting_mapping(other, "other.person@example.com", "Other's meeting")
    sim.revoke_grants(EMAIL)
    run = run_mapping(meeting.id)
    assert run.status == "needs_reauth"
    assert _conn(connected).status == "needs_reauth"
    assert sim.events(EMAIL, EMAIL) == []
    assert run_mapping(meeting.id).status == "needs_reauth"  # stays stopped
    assert run_mapping(other_mapping.id).status == "succeeded"
    assert [e["summary"] for e in sim.events("other.person@example.com",
                                            "other.person@example.com")] == ["Other's meeting"]


def test_the_banners_reconnect_button_starts_the_consent_flow(client, connected, sim,
                                                               google_base, page_text):
    services.mark_needs_reauth(connected, "test")
    db.session.commit()
    # post the banner's own form (its CSRF token) from an unrelated page
    response = client.post_form("/google/connect", page="/profile")
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith(google_base + "/o/oauth2/v2/auth?")
    assert "login_hint=sam.g%40example.com" in location


def _synced_meeting(client, user, make_activity, sync):
    """Map Meeting to the primary calendar and export one activity: one EventLink."""
    from portal.sync.calendar.models import EventLink

    activity = make_activity(user, subject="Quarterly review")
    mapping = CalendarMapping(user_id=user.id, activity_type_id=activity.activity_type_id,
                              calendar_id=EMAIL, calendar_summary=EMAIL)
    db.session.add(mapping)
    db.session.commit()
    assert sync(mapping).status == "succeeded"
    assert db.session.scalars(db.select(EventLink).filter_by(user_id=user.id)).all()
    return mapping


def _links(user):
    from portal.sync.calendar.models import EventLink

    db.session.expire_all()
    return db.session.scalars(db.select(EventLink).filter_by(user_id=user.id)).all()


def test_disconnect_keeping_links_then_reconnecting_the_same_account_duplicates_nothing(
        client, connected, connect, sim, make_activity, sync):
    mapping = _synced_meeting(client, connected, make_activity, sync)
    client.post_form("/google/disconnect", {"links": "keep"})
    assert len(_links(connected)) == 1
    assert sim.grants(EMAIL) == []
    connect(client, EMAIL)
    db.session.expire_all()
    assert sync(db.session.get(CalendarMapping, mapping.id)).status == "succeeded"
    live = [e for e in sim.events(EMAIL, EMAIL) if e["status"] != "cancelled"]
    assert [e["summary"] for e in live] == ["Quarterly review"]


def test_disconnect_forgetting_links_deletes_them(client, connected, sim, make_activity, sync,
                                                  page_text):
    _synced_meeting(client, connected, make_activity, sync)
    response = client.post_form("/google/disconnect", {"links": "forget"}, follow_redirects=True)
    assert "access was revoked at Google" in page_text(response)
    assert _links(connected) == []
    assert sim.grants(EMAIL) == []
    # the events themselves stay in Google
    assert [e["summary"] for e in sim.events(EMAIL, EMAIL)] == ["Quarterly review"]


@pytest.mark.parametrize("choice", ["keep", "forget"])
def test_a_different_google_account_never_gets_the_old_accounts_links_or_calendars(
        client, connected, connect, sim, make_activity, sync, choice):
    mapping = _synced_meeting(client, connected, make_activity, sync)
    client.post_form("/google/disconnect", {"links": choice})
    connect(client, "other.account@example.com")
    assert _links(connected) == []
    mapping = db.session.get(CalendarMapping, mapping.id)
    assert mapping.calendar_id is None and mapping.sync_token is None
    assert not services.synced_mappings(connected)


def test_disconnect_requires_csrf_and_a_choice(client, connected, page_text):
    assert client.post("/google/disconnect", data={"links": "forget"}).status_code == 400
    assert _conn(connected).status == "connected"
    text = page_text(client.post_form("/google/disconnect", {"links": "bogus"}))
    assert "Not a valid choice" in text
    assert _conn(connected).status == "connected"


@pytest.mark.parametrize("status,count", [(503, 5), (400, 1)])
def test_a_token_endpoint_answering_an_error_object_is_a_notice_not_a_500(
        client, connected, sim, monkeypatch, status, count):
    """Google's API envelope ({"error": {...}}) where the OAuth spec puts a string."""
    from types import SimpleNamespace

    from google.auth import _exponential_backoff

    monkeypatch.setattr(_exponential_backoff, "time", SimpleNamespace(sleep=lambda s: None))
    conn = _conn(connected)
    conn.token_expires_at = utcnow() - timedelta(minutes=1)
    db.session.commit()
    sim.fault(method="POST", path="/token", status=status, count=count)
    response = client.get("/google/sync")
    assert response.status_code == 200
    assert "Could not load your calendars from Google right now" in \
        response.get_data(as_text=True)
    assert _conn(connected).status == "connected"


def test_tokens_that_cannot_be_decrypted_are_marked_from_the_settings_page(client, connected,
                                                                          page_text):
    from cryptography.fernet import Fernet

    conn = _conn(connected)
    conn.refresh_token_encrypted = Fernet(Fernet.generate_key()).encrypt(b"rt").decode()
    db.session.commit()
    text = page_text(client.get("/google/sync"))
    assert "cannot be read any more; please reconnect" in text
    assert _conn(connected).status == "needs_reauth"
    assert 'data-testid="google-reauth-banner"' in client.get("/activities").get_data(
        as_text=True)
