"""The admin's activity-type picklist editor."""
import pytest

from portal.crm import activity_type_services as types_svc
from portal.crm.models import ActivityType
from portal.crm.services import active_activity_types
from portal.extensions import db


def _order():
    db.session.expire_all()
    return [(t.name, t.active) for t in types_svc.all_activity_types()]


def test_page_is_for_admins_only(client, make_user, login, activity_types):
    login(client, make_user())
    assert client.get("/admin/activity-types").status_code == 403
    assert client.post_form("/admin/activity-types", {"name": "X"},
                            page="/contacts").status_code == 403


def test_seeded_types_are_listed_in_order(admin_client, activity_types):
    html = admin_client.get("/admin/activity-types").get_data(as_text=True)
    assert html.index('data-type="Call"') < html.index('data-type="Meeting"') \
        < html.index('data-type="Task"')


def test_add_appends_and_refuses_duplicates_ignoring_case(admin_client, activity_types):
    response = admin_client.post_form("/admin/activity-types", {"name": "  Demo  "})
    assert response.status_code == 302
    assert _order()[-1] == ("Demo", True)
    response = admin_client.post_form("/admin/activity-types", {"name": "meeting"})
    assert response.status_code == 422
    assert "already an activity type named \u201cMeeting\u201d" in response.get_data(as_text=True)
    response = admin_client.post_form("/admin/activity-types", {"name": ""})
    assert "Enter a name for the activity type." in response.get_data(as_text=True)


def test_rename_keeps_activities_and_refuses_a_clash(admin_client, activity_types,
                                                     make_user, make_activity):
    call = activity_types["Call"]
    activity = make_activity(make_user(), type_name="Call")
    response = admin_client.post_form(f"/admin/activity-types/{call.id}/rename",
                                      {"name": "Phone call"}, page="/admin/activity-types")
    assert response.status_code == 302
    db.session.expire_all()
    assert activity.activity_type.name == "Phone call"
    response = admin_client.post_form(f"/admin/activity-types/{call.id}/rename",
                                      {"name": "TASK"}, page="/admin/activity-types")
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "already an activity type named \u201cTask\u201d" in html
    assert 'value="TASK"' in html
    # Changing only the case of its own name is fine.
    admin_client.post_form(f"/admin/activity-types/{call.id}/rename", {"name": "PHONE CALL"},
                           page="/admin/activity-types")
    assert _order()[0] == ("PHONE CALL", True)


def test_move_up_and_down(admin_client, activity_types):
    task = activity_types["Task"]
    admin_client.post_form(f"/admin/activity-types/{task.id}/move", {"direction": "up"},
                           page="/admin/activity-types")
    assert [n for n, _ in _order()] == ["Call", "Task", "Meeting"]
    admin_client.post_form(f"/admin/activity-types/{activity_types['Call'].id}/move",
                           {"direction": "down"}, page="/admin/activity-types")
    assert [n for n, _ in _order()] == ["Task", "Call", "Meeting"]
    # Moving the last one down changes nothing.
    admin_client.post_form(f"/admin/activity-types/{activity_types['Meeting'].id}/move",
                           {"direction": "down"}, page="/admin/activity-types")
    assert [n for n, _ in _order()] == ["Task", "Call", "Meeting"]


def test_reorder_by_ids(app, activity_types):
    ids = [activity_types[n].id for n in ("Meeting", "Task")]
    types_svc.reorder_activity_types(ids)
    assert [n for n, _ in _order()] == ["Meeting", "Task", "Call"]


def test_deactivate_hides_from_pickers_and_reactivate_brings_back(admin_client, activity_types):
    meeting = activity_types["Meeting"]
    response = admin_client.post_form(f"/admin/activity-types/{meeting.id}/active",
                                      page="/admin/activity-types", follow_redirects=True)
    assert "deactivated" in response.get_data(as_text=True)
    assert [t.name for t in active_activity_types()] == ["Call", "Task"]
    admin_client.post_form(f"/admin/activity-types/{meeting.id}/active",
                           page="/admin/activity-types")
    assert [t.name for t in active_activity_types()] == ["Call", "Meeting", "Task"]


def test_the_last_active_type_cannot_be_deactivated(app, activity_types):
    types_svc.set_activity_type_active(activity_types["Call"], False)
    types_svc.set_activity_type_active(activity_types["Meeting"], False)
    with pytest.raises(types_svc.ActivityTypeError, match="last active"):
        types_svc.set_activity_type_active(activity_types["Task"], False)


def test_a_type_in_use_cannot_be_deleted_only_deactivated(admin_client, activity_types,
                                                          make_user, make_activity):
    meeting = activity_types["Meeting"]
    make_activity(make_user(), type_name="Meeting")
    page = admin_client.get(f"/admin/activity-types/{meeting.id}/delete").get_data(as_text=True)
    assert "cannot be deleted" in page and "Deactivate it instead" in page
    response = admin_client.post_form(f"/admin/activity-types/{meeting.id}/delete",
                                      page="/admin/activity-types", follow_redirects=True)
    html = response.get_data(as_text=True)
    assert "cannot be deleted: 1 activity uses it" in html
    assert db.session.get(ActivityType, meeting.id) is not None
    with pytest.raises(types_svc.ActivityTypeError, match="Deactivate it instead"):
        types_svc.delete_activity_type(meeting)


def test_an_unused_type_is_deleted_after_confirmation(admin_client, activity_types):
    call = activity_types["Call"]
    page = admin_client.get(f"/admin/activity-types/{call.id}/delete").get_data(as_text=True)
    assert "cannot be undone" in page
    response = admin_client.post_form(f"/admin/activity-types/{call.id}/delete")
    assert response.status_code == 302
    assert [n for n, _ in _order()] == ["Meeting", "Task"]
    assert [t.position for t in types_svc.all_activity_types()] == [0, 1]


def test_reactivate_hint_when_adding_a_deactivated_name(app, activity_types):
    types_svc.set_activity_type_active(activity_types["Task"], False)
    with pytest.raises(types_svc.ActivityTypeError, match="reactivate it instead"):
        types_svc.add_activity_type("task")


def test_a_types_colour_is_chosen_and_shown_on_its_activities(admin_client, activity_types,
                                                              make_user, make_activity):
    call = activity_types["Call"]
    page = admin_client.get("/admin/activity-types").get_data(as_text=True)
    assert f'type="color" id="color-{call.id}" name="color"' in page
    assert f'value="{call.color}"' in page
    response = admin_client.post_form(f"/admin/activity-types/{call.id}/color",
                                      {"color": "#AA3377"}, page="/admin/activity-types")
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(ActivityType, call.id).color == "#aa3377"
    activity = make_activity(make_user(), type_name="Call")
    assert activity.display_color == "#aa3377"


@pytest.mark.parametrize("value", ["red", "#abc", "#12345z", "", "#1234567", "x" * 500])
def test_a_colour_that_is_not_rrggbb_gets_a_clear_message(admin_client, activity_types, value):
    call = activity_types["Call"]
    before = call.color
    response = admin_client.post_form(f"/admin/activity-types/{call.id}/color",
                                      {"color": value}, page="/admin/activity-types")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Choose a colour as #rrggbb" in html
    assert f'id="color-err-{call.id}"' in html
    db.session.expire_all()
    assert db.session.get(ActivityType, call.id).color == before


def test_the_colour_form_needs_its_csrf_token(admin_client, activity_types):
    call = activity_types["Call"]
    response = admin_client.post(f"/admin/activity-types/{call.id}/color",
                                 data={"color": "#000000"})
    assert response.status_code in (400, 422)
    db.session.expire_all()
    assert db.session.get(ActivityType, call.id).color != "#000000"


def test_new_types_get_a_colour_no_other_type_has(admin_client, activity_types):
    admin_client.post_form("/admin/activity-types", {"name": "Visit"})
    colors = [t.color for t in types_svc.all_activity_types()]
    assert len(set(colors)) == len(colors) == 4
