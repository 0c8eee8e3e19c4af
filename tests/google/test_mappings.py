"""The "Google Calendar" page: calendars from googlesim, mapping rules, sync settings, and
that nobody reaches another user's connection or mappings."""
from datetime import date

import pytest

from portal.extensions import db
from portal.google.models import CalendarMapping, GoogleSyncSettings

EMAIL = "sam.g@example.com"


@pytest.fixture
def user(client, make_user, login, configured, connect, activity_types):
    user = make_user()
    login(client, user)
    connect(client, EMAIL)
    return user


def _form(activity_types, rows=None, **extra):
    """Form data for every activity type: not synchronized unless given in ``rows``."""
    data = {"save_mappings": "Save calendar mappings"}
    rows = rows or {}
    for name, t in activity_types.items():
        row = rows.get(name, {})
        data[f"t{t.id}-calendar"] = row.get("calendar", "")
        data[f"t{t.id}-new_calendar_name"] = row.get("new", "")
        data[f"t{t.id}-conflict_rule"] = row.get("conflict", "crm_wins")
        if row.get("export", True):
            data[f"t{t.id}-export_enabled"] = "y"
        if row.get("import", True):
            data[f"t{t.id}-import_enabled"] = "y"
        if "old" in row:
            data[f"t{t.id}-old_calendar_action"] = row["old"]
    data.update(extra)
    return data


def _mappings(user_id=None):
    db.session.expire_all()
    query = db.select(CalendarMapping)
    if user_id is not None:
        query = query.filter_by(user_id=user_id)
    return {m.activity_type.name: m for m in db.session.scalars(query)}


def test_account_with_only_the_primary_calendar(client, user, activity_types, page_text):
    text = page_text(client.get("/google/sync"))
    assert "Google calendar for Meeting" in text
    assert f">{EMAIL} (primary)</option>" in text
    assert "Create a new calendar named ..." in text
    response = client.post_form("/google/sync", _form(activity_types, {
        "Meeting": {"calendar": EMAIL}}), follow_redirects=True)
    assert "Calendar mappings saved." in page_text(response)
    meeting = _mappings()["Meeting"]
    assert meeting.calendar_id == EMAIL and meeting.export_enabled and meeting.import_enabled
    assert meeting.conflict_rule == "crm_wins"
    assert not meeting.delete_in_crm_when_deleted_in_google


def test_several_calendars_are_listed_and_mapped(client, user, sim, activity_types, page_text):
    work = sim.create_calendar(EMAIL, "Work")
    calls = sim.create_calendar(EMAIL, "Sales calls")
    text = page_text(client.get("/google/sync"))
    assert ">Work</option>" in text and ">Sales calls</option>" in text
    client.post_form("/google/sync", _form(activity_types, {
        "Meeting": {"calendar": work["id"], "import": False},
        "Call": {"calendar": calls["id"], "export": False, "conflict": "most_recent"}}))
    mappings = _mappings()
    assert mappings["Meeting"].calendar_id == work["id"]
    assert mappings["Meeting"].export_enabled and not mappings["Meeting"].import_enabled
    assert mappings["Call"].calendar_summary == "Sales calls"
    assert not mappings["Call"].export_enabled and mappings["Call"].conflict_rule == "most_recent"


def test_create_a_new_calendar(client, user, sim, activity_types, page_text):
    response = client.post_form("/google/sync", _form(activity_types, {
        "Meeting": {"calendar": "__new__", "new": "CRM meetings"}}), follow_redirects=True)
    assert "Calendar mappings saved." in page_text(response)
    created = [c for c in sim.calendars(EMAIL) if c["summary"] == "CRM meetings"]
    assert len(created) == 1
    assert _mappings()["Meeting"].calendar_id == created[0]["id"]


def test_new_calendar_needs_a_name(client, user, sim, activity_types, page_text):
    text = page_text(client.post_form("/google/sync", _form(activity_types, {
        "Meeting": {"calendar": "__new__", "new": "  "}})))
    assert "Enter a name for the new calendar." in text
    assert len(sim.calendars(EMAIL)) == 1 and _mappings() == {}


def test_one_calendar_holds_only_one_activity_type(client, user, activity_types, page_text):
    text = page_text(client.post_form("/google/sync", _form(activity_types, {
        "Meeting": {"calendar": EMAIL}, "Call": {"calendar": EMAIL}})))
    assert "This calendar is already used for" in text
    assert _mappings() == {}


def test_a_calendar_used_by_an_inactive_type_is_not_reused(client, user, activity_types,
                                                           page_text):
    task = activity_types["Task"]
    db.session.add(CalendarMapping(user_id=user.id, activity_type_id=task.id, calendar_id=EMAIL))
    task.active = False
    db.session.commit()
    active = {n: t for n, t in activity_types.items() if n != "Task"}
    text = page_text(client.post_form("/google/sync", _form(active, {
        "Meeting": {"calendar": EMAIL}})))
    assert "This calendar is already used for Task" in text
    assert "Meeting" not in _mappings()


def test_changing_the_calendar_asks_about_events_in_the_old_one(client, user, sim,
                                                                activity_types, page_text):
    work = sim.create_calendar(EMAIL, "Work")
    client.post_form("/google/sync", _form(activity_types, {"Meeting": {"calendar": EMAIL}}))
    mapping = _mappings()["Meeting"]
    mapping.sync_token = "old-token"
    db.session.commit()
    text = page_text(client.post_form("/google/sync", _form(activity_types, {
        "Meeting": {"calendar": work["id"]}})))
    assert "Events already exported there" in text or "already exported" in text
    assert "Delete them from that calendar" in text
    assert _mappings()["Meeting"].calendar_id == EMAIL  # not saved yet
    response = client.post_form("/google/sync", _form(activity_types, {
        "Meeting": {"calendar": work["id"], "old": "delete"}}), follow_redirects=True)
    assert "Calendar mappings saved." in page_text(response)
    mapping = _mappings()["Meeting"]
    assert mapping.calendar_id == work["id"]
    assert mapping.retired_calendar_id == EMAIL and mapping.retired_action == "delete"
    assert mapping.sync_token is None
    assert "will be deleted from it at the next sync" in page_text(response)


def test_two_types_can_swap_calendars(client, user, sim, activity_types):
    work = sim.create_calendar(EMAIL, "Work")
    client.post_form("/google/sync", _form(activity_types, {
        "Meeting": {"calendar": EMAIL}, "Call": {"calendar": work["id"]}}))
    client.post_form("/google/sync", _form(activity_types, {
        "Meeting": {"calendar": work["id"], "old": "leave"},
        "Call": {"calendar": EMAIL, "old": "leave"}}))
    mappings = _mappings()
    assert mappings["Meeting"].calendar_id == work["id"]
    assert mappings["Call"].calendar_id == EMAIL
    assert mappings["Call"].retired_action == "leave"


def test_sync_settings_are_saved(client, user, page_text):
    text = page_text(client.get("/google/sync"))
    assert "Synchronize calendar automatically" in text and "Every 4 hours" in text
    assert "Never" in text  # last successful sync
    response = client.post_form("/google/sync", {
        "auto_sync": "y", "period_minutes": "240", "sync_from": "2026-01-15",
        "save_settings": "Save sync settings"}, follow_redirects=True)
    assert "Sync settings saved." in page_text(response)
    db.session.expire_all()
    settings = db.session.scalars(db.select(GoogleSyncSettings)).one()
    assert settings.auto_sync and settings.period_minutes == 240
    assert settings.sync_from == date(2026, 1, 15)


def test_unknown_period_is_refused(client, user, page_text):
    text = page_text(client.post_form("/google/sync", {
        "period_minutes": "7", "save_settings": "Save sync settings"}))
    assert "Not a valid choice" in text
    assert db.session.scalars(db.select(GoogleSyncSettings)).first() is None


def test_google_unavailable_shows_a_message_not_an_error(client, user, sim, page_text):
    sim.fault(path="/calendar/v3/users/me/calendarList", status=503, count=5)
    response = client.get("/google/sync")
    assert response.status_code == 200
    assert "Could not load your calendars from Google right now" in page_text(response)


def test_mapping_form_requires_csrf(client, user, activity_types):
    response = client.post("/google/sync", data=_form(activity_types, {
        "Meeting": {"calendar": EMAIL}}))
    assert response.status_code == 400
    assert _mappings() == {}


def test_other_users_cannot_see_or_change_my_connection_or_mappings(
        app, client, user, make_user, login, activity_types, page_text):
    client.post_form("/google/sync", _form(activity_types, {"Meeting": {"calendar": EMAIL}}))
    mine = _mappings()["Meeting"]
    mine.sync_token = "mine"
    db.session.commit()
    intruder = make_user()
    with app.app_context():
        other = app.test_client()
        login(other, intruder)
        text = page_text(other.get("/google/sync"))
        assert EMAIL not in text and "Not connected" in text
        assert EMAIL not in page_text(other.get("/profile/external-accounts"))
        response = other.post_form(f"/google/mappings/{mine.id}/reset", page="/google/sync")
        assert response.status_code == 404
        # disconnecting acts on the intruder's (absent) connection only
        other.post_form("/google/disconnect", {"links": "forget"}, page="/google/sync")
    mapping = _mappings(user.id)["Meeting"]
    assert mapping.sync_token == "mine" and mapping.calendar_id == EMAIL
    assert "Connected" in page_text(client.get("/profile/external-accounts"))


def test_owner_can_reset_a_mapping(client, user, activity_types):
    client.post_form("/google/sync", _form(activity_types, {"Meeting": {"calendar": EMAIL}}))
    mapping = _mappings()["Meeting"]
    mapping.sync_token = "tok"
    db.session.commit()
    client.post_form(f"/google/mappings/{mapping.id}/reset", page="/google/sync")
    assert _mappings()["Meeting"].sync_token is None


def test_period_choices_are_exactly_creatios(client, user, page_text):
    import re

    text = page_text(client.get("/google/sync"))
    select = text[text.index('id="period_minutes"'):]
    select = select[:select.index("</select>")]
    assert re.findall(r'<option[^>]*value="(\d+)"[^>]*>([^<]+)<', select) == [
        ("15", "Every 15 minutes"), ("30", "Every 30 minutes"), ("60", "Every hour"),
        ("240", "Every 4 hours"), ("1440", "Daily")]


@pytest.mark.parametrize("data, message", [
    ({"period_minutes": "abc"}, "Not a valid choice"),
    ({"period_minutes": "60", "sync_from": "2026-13-45"}, "Not a valid date value"),
    ({"period_minutes": "60", "sync_from": "yesterday"}, "Not a valid date value"),
])
def test_bad_sync_settings_are_explained_and_not_saved(client, user, page_text, data, message):
    response = client.post_form("/google/sync", {**data, "save_settings": "Save sync settings"})
    assert response.status_code == 200
    assert message in page_text(response)
    assert db.session.scalars(db.select(GoogleSyncSettings)).first() is None


def test_sync_settings_and_reset_require_csrf(client, user, activity_types):
    assert client.post("/google/sync", data={
        "auto_sync": "y", "period_minutes": "15", "save_settings": "1"}).status_code == 400
    assert db.session.scalars(db.select(GoogleSyncSettings)).first() is None
    client.post_form("/google/sync", _form(activity_types, {"Meeting": {"calendar": EMAIL}}))
    mapping = _mappings()["Meeting"]
    mapping.sync_token = "tok"
    db.session.commit()
    assert client.post(f"/google/mappings/{mapping.id}/reset").status_code == 400
    assert _mappings()["Meeting"].sync_token == "tok"


def test_page_shows_status_and_last_successful_sync(client, user, page_text):
    from datetime import datetime, timezone

    from portal.google import services

    services.record_sync_success(user, datetime(2026, 3, 4, 9, 30, tzinfo=timezone.utc))
    db.session.commit()
    text = page_text(client.get("/google/sync"))
    status = text[text.index('data-testid="connection-status"'):][:300]
    assert "Connected" in status and EMAIL in status
    last = text[text.index('data-testid="last-sync"'):][:120]
    assert "Wed 04 Mar 2026 09:30" in last
    services.mark_needs_reauth(user, "test")
    db.session.commit()
    text = page_text(client.get("/google/sync"))
    assert "Needs reauthorization" in text[text.index('data-testid="connection-status"'):][:300]


def test_moving_a_type_to_not_synchronized_also_asks(client, user, activity_types, page_text):
    client.post_form("/google/sync", _form(activity_types, {"Meeting": {"calendar": EMAIL}}))
    text = page_text(client.post_form("/google/sync", _form(activity_types)))
    assert "Delete them from that calendar" in text
    assert _mappings()["Meeting"].calendar_id == EMAIL
    client.post_form("/google/sync", _form(activity_types, {"Meeting": {"old": "leave"}}))
    meeting = _mappings()["Meeting"]
    assert meeting.calendar_id is None and meeting.retired_action == "leave"
    assert not meeting.is_synced


@pytest.mark.parametrize("calendar", ["someone-else@example.com", "x" * 3000])
def test_a_calendar_not_in_the_users_list_is_refused(client, user, activity_types, page_text,
                                                     calendar):
    response = client.post_form("/google/sync", _form(activity_types, {
        "Meeting": {"calendar": calendar}}))
    assert response.status_code == 200
    assert "Not a valid choice" in page_text(response)
    assert _mappings() == {}


def test_every_route_with_another_users_ids(app, client, user, make_user, login,
                                            activity_types, page_text, sim):
    """The intruder tries the owner's mapping id on every route that takes one, and every
    page that shows connection data: 404 or only their own (empty) data."""
    client.post_form("/google/sync", _form(activity_types, {"Meeting": {"calendar": EMAIL}}))
    client.post_form("/google/sync", {"auto_sync": "y", "period_minutes": "15",
                                      "save_settings": "1"})
    mine = _mappings()["Meeting"]
    mine.sync_token = "mine"
    db.session.commit()
    intruder = make_user()
    with app.app_context():
        other = app.test_client()
        login(other, intruder)
        for mapping_id in (mine.id, 2**40, 0):
            assert other.post_form(f"/google/mappings/{mapping_id}/reset",
                                   page="/google/sync").status_code == 404
            assert other.post_form("/sync/now", {"mapping_id": str(mapping_id)},
                                   page="/google/sync").status_code in (302, 404)
        assert other.post_form("/sync/now", {"mapping_id": str(mine.id)},
                               page="/google/sync").status_code == 404
        # the intruder's own settings and mapping forms change only the intruder's rows
        other.post_form("/google/sync", {"period_minutes": "1440", "save_settings": "1"})
        text = page_text(other.get("/google/sync"))
        assert EMAIL not in text and "Google calendar for Meeting" not in text
        assert "Connect your Google account first" in text
        other.post_form("/google/sync", _form(activity_types, {"Meeting": {"calendar": EMAIL}}))
        assert other.get("/google/disconnect", follow_redirects=True).status_code == 200
    mapping = _mappings(user.id)["Meeting"]
    assert mapping.sync_token == "mine" and mapping.calendar_id == EMAIL
    assert _mappings(intruder.id) == {}
    settings = {s.user_id: s for s in db.session.scalars(db.select(GoogleSyncSettings))}
    assert settings[user.id].period_minutes == 15 and settings[user.id].auto_sync
    assert settings[intruder.id].period_minutes == 1440
    assert sim.grants(EMAIL) != []  # nobody revoked my grant
