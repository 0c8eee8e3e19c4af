"""Who sees and changes which activity: organizers edit, participants read, admins do all,
and everyone else gets a 404 as if the activity did not exist."""
from datetime import datetime, timezone

import pytest

from portal.crm.activities import can_edit, can_view
from portal.crm.models import Activity
from portal.extensions import db

START = datetime(2026, 11, 24, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def people(make_user):
    return {"organizer": make_user(name="Olga Organizer"),
            "participant": make_user(name="Pat Participant"),
            "stranger": make_user(name="Stan Stranger"),
            "admin": make_user(role="admin", name="Ada Admin")}


@pytest.fixture
def meeting(make_activity, people):
    return make_activity(people["organizer"], subject="Board meeting", start=START,
                         participants=[people["participant"]])


def edit_data(activity, **changes):
    data = {"subject": activity.subject, "activity_type_id": str(activity.activity_type_id),
            "status": "Planned", "priority": "Medium", "start_date": "2026-11-24",
            "start_time": "10:00", "end_date": "2026-11-24", "end_time": "11:00",
            "organizer_id": str(activity.organizer_id), "show_in_calendar": "y",
            "visibility": "default"}
    data.update(changes)
    return data


def test_can_view_and_can_edit_rules(people, meeting):
    assert can_view(people["organizer"], meeting) and can_edit(people["organizer"], meeting)
    assert can_view(people["participant"], meeting) and not can_edit(people["participant"], meeting)
    assert not can_view(people["stranger"], meeting) and not can_edit(people["stranger"], meeting)
    assert can_view(people["admin"], meeting) and can_edit(people["admin"], meeting)


@pytest.mark.parametrize("suffix", ["", "/edit", "/delete"])
def test_strangers_get_404_not_403(client, login, people, meeting, suffix):
    login(client, people["stranger"])
    assert client.get(f"/activities/{meeting.id}{suffix}").status_code == 404


def test_strangers_cannot_post_edits_or_deletes(client, login, people, meeting):
    login(client, people["stranger"])
    token = client.csrf_token("/activities/new")
    edit = client.post(f"/activities/{meeting.id}/edit",
                       data={**edit_data(meeting, subject="Hijacked"), "csrf_token": token})
    delete = client.post(f"/activities/{meeting.id}/delete", data={"csrf_token": token})
    assert edit.status_code == delete.status_code == 404
    db.session.expire_all()
    assert db.session.get(Activity, meeting.id).subject == "Board meeting"


def test_unknown_activity_is_404(client, login, people):
    login(client, people["admin"])
    assert client.get("/activities/999999").status_code == 404
    assert client.get("/activities/99999999999999999999999").status_code == 404
    assert client.get("/activities/99999999999999999999999/edit").status_code == 404


def test_participant_reads_but_cannot_edit_or_delete(client, login, people, meeting):
    login(client, people["participant"])
    page = client.get(f"/activities/{meeting.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Board meeting" in html and "only its organizer can change it" in html
    assert f"/activities/{meeting.id}/edit" not in html
    assert client.get(f"/activities/{meeting.id}/edit").status_code == 403
    token = client.csrf_token("/activities/new")
    response = client.post(f"/activities/{meeting.id}/edit",
                           data={**edit_data(meeting, subject="Changed"), "csrf_token": token})
    assert response.status_code == 403
    assert client.post(f"/activities/{meeting.id}/delete",
                       data={"csrf_token": token}).status_code == 403
    db.session.expire_all()
    assert db.session.get(Activity, meeting.id).subject == "Board meeting"


def test_organizer_edits(client, login, people, meeting):
    login(client, people["organizer"])
    response = client.post_form(f"/activities/{meeting.id}/edit",
                                edit_data(meeting, subject="Board meeting (moved)"))
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Activity, meeting.id).subject == "Board meeting (moved)"


def test_admin_edits_anyones_activity(client, login, people, meeting):
    login(client, people["admin"])
    response = client.post_form(f"/activities/{meeting.id}/edit",
                                edit_data(meeting, subject="Admin fixed it"))
    assert response.status_code == 302
    db.session.expire_all()
    saved = db.session.get(Activity, meeting.id)
    assert saved.subject == "Admin fixed it"
    assert saved.organizer_id == people["organizer"].id


def test_delete_asks_first_then_deletes_on_post(client, login, people, meeting):
    meeting_id = meeting.id
    login(client, people["organizer"])
    confirm = client.get(f"/activities/{meeting_id}/delete")
    html = confirm.get_data(as_text=True)
    assert confirm.status_code == 200
    assert "Delete this activity?" in html and 'method="post"' in html
    assert db.session.get(Activity, meeting_id) is not None
    response = client.post_form(f"/activities/{meeting_id}/delete")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Activity, meeting_id) is None


def test_delete_without_csrf_is_refused(client, login, people, meeting):
    login(client, people["organizer"])
    response = client.post(f"/activities/{meeting.id}/delete")
    assert response.status_code == 400
    db.session.expire_all()
    assert db.session.get(Activity, meeting.id) is not None


def test_anonymous_visitors_are_sent_to_login(client, meeting):
    for url in ("/", "/activities", f"/activities/{meeting.id}", "/activities/new"):
        response = client.get(url)
        assert response.status_code == 302 and "/login" in response.headers["Location"]


def test_calendar_of_a_stranger_is_404_for_users(client, login, people):
    login(client, people["stranger"])
    assert client.get(f"/?user={people['organizer'].id}").status_code == 404


def test_participant_may_open_the_organizers_calendar_but_sees_only_shared_items(
        client, login, people, meeting, make_activity):
    make_activity(people["organizer"], subject="Private dentist", start=START.replace(hour=14))
    login(client, people["participant"])
    response = client.get(f"/?view=week&date=2026-11-24&user={people['organizer'].id}")
    html = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "Board meeting" in html and "Private dentist" not in html
    assert "Olga Organizer" in html


def test_admin_may_open_any_calendar_and_sees_everything_in_it(client, login, people, meeting,
                                                               make_activity):
    make_activity(people["organizer"], subject="Private dentist", start=START.replace(hour=14))
    login(client, people["admin"])
    html = client.get(f"/?view=week&date=2026-11-24&user={people['organizer'].id}").get_data(
        as_text=True)
    assert "Board meeting" in html and "Private dentist" in html


def test_list_shows_only_visible_activities(client, login, people, meeting, make_activity):
    make_activity(people["stranger"], subject="Stranger things", start=START)
    login(client, people["participant"])
    html = client.get("/activities").get_data(as_text=True)
    assert "Board meeting" in html and "Stranger things" not in html
    # No edit button for a participant.
    assert f"/activities/{meeting.id}/edit" not in html


def test_admin_list_shows_everyones_activities(client, login, people, meeting, make_activity):
    make_activity(people["stranger"], subject="Stranger things", start=START)
    login(client, people["admin"])
    html = client.get("/activities").get_data(as_text=True)
    assert "Board meeting" in html and "Stranger things" in html
