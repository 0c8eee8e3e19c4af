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
