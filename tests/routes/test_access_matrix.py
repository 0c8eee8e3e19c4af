"""Who may use each route: anonymous visitors, Sam (who owns the objects in the URL), Rita
(another user) and Ada (an admin). Generated from the URL map: a new route fails this test
until it is classified below, so no route can skip access control by accident."""
import pytest

#: Google's push notifications: called by Google, without a session; it answers every caller
#: alike and acts only on a known channel with its secret token (tests/sync/test_push_*)
WEBHOOKS = {"google.notifications"}
PUBLIC = {"accounts.login", "static", "bootstrap.static"} | WEBHOOKS
ADMIN_ONLY = {
    "accounts.admin_users", "accounts.admin_user_new", "accounts.admin_user_edit",
    "accounts.admin_user_toggle_active", "accounts.admin_user_password",
    "crm.activity_types", "crm.activity_type_toggle", "crm.activity_type_delete",
    "crm.activity_type_move", "crm.activity_type_rename", "crm.activity_type_color",
    "google.admin_credentials",
    "scheduler.index", "scheduler.detail", "scheduler.toggle", "scheduler.frequency",
    "scheduler.run_now", "sync_health.index",
}
#: pages about no particular object (or about the logged-in user's own things)
ANY_USER = {
    "crm.calendar", "crm.activity_list", "crm.activity_new", "crm.contact_list",
    "crm.contact_new", "crm.tag_list", "accounts.profile", "accounts.logout",
    "google.accounts", "google.callback", "google.connect", "google.disconnect",
    "google.sync_settings", "sync.runs", "contacts_sync.settings_page", "contacts_sync.sync_now",
    "accounts.communication_options",
    # busy times of the users the viewer may pick anyway (others' ids are ignored)
    "crm.busy_times_json",
}
#: Sam's objects that an admin may open too
OWNER_OR_ADMIN = {
    "crm.activity_detail", "crm.activity_edit", "crm.activity_delete", "crm.contact_detail",
    "crm.contact_edit", "crm.contact_delete", "sync.run_detail", "crm.activity_answer",
}
#: Sam's objects that nobody else may touch, admins included
OWNER_ONLY = {"crm.tag_edit", "crm.tag_delete", "google.mapping_reset", "sync.add_into_crm",
              "sync.sync_now", "accounts.communication_option_delete"}
CLASSIFIED = PUBLIC | ADMIN_ONLY | ANY_USER | OWNER_OR_ADMIN | OWNER_ONLY


def expected(endpoint, role):
    """"allowed", "login" (sent to the login page), or the status that refuses."""
    if endpoint in PUBLIC:
        return "allowed"
    if role == "anonymous":
        return "login"
    if endpoint in ADMIN_ONLY:
        return "allowed" if role == "ada" else 403
    if endpoint in ANY_USER:
        return "allowed"
    if role == "sam" or (role == "ada" and endpoint in OWNER_OR_ADMIN):
        return "allowed"
    return 404  # someone else's object does not exist for you


def outcome(response):
    location = response.headers.get("Location", "")
    if response.status_code in (302, 303) and "/login" in location and "next=" in location:
        return "login"
    if response.status_code in (401, 403, 404, 405) or response.status_code >= 500:
        return response.status_code
    return "allowed"


@pytest.mark.parametrize("role", ["anonymous", "rita", "sam", "ada"])
def test_access_control_matrix(app, plain_world, as_user, route, role):
    endpoint, rule, method = route
    assert endpoint in CLASSIFIED, f"new route {endpoint}: classify it in {__file__}"
    world = plain_world
    [url_rule] = [r for r in app.url_map.iter_rules()
                  if r.endpoint == endpoint and r.rule == rule]
    path = app.url_map.bind("localhost").build(endpoint, world.url_values(url_rule))
    client = as_user(None if role == "anonymous" else getattr(world, role))
    if method == "GET":
        response = client.get(path)
    else:  # a valid form token, and Sam's mapping for the buttons that name one
        response = client.post(path, data={"csrf_token": client.token,
                                           "mapping_id": world.mapping.id})
    assert outcome(response) == expected(endpoint, role), \
        f"{role} {method} {path}: {response.status_code} {response.headers.get('Location')}"
