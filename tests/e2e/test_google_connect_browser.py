"""An admin saves the Google credentials, a user connects through googlesim's consent page
and maps Meeting to a new calendar, all in a real browser."""
import pytest
from playwright.sync_api import expect

CLIENT_ID = "portal-e2e.apps.googleusercontent.com"
CLIENT_SECRET = "portal-e2e-secret"
GOOGLE_EMAIL = "rita.google@example.com"


@pytest.fixture
def google_sim(app, sim, live_server, googlesim_server):
    """The portal sends Google calls to googlesim; the live server's callback is registered."""
    previous = app.config.get("GOOGLE_BASE_URL")
    app.config["GOOGLE_BASE_URL"] = googlesim_server.base_url
    sim.register_client(CLIENT_ID, CLIENT_SECRET, [live_server + "/google/oauth/callback"])
    yield sim
    app.config["GOOGLE_BASE_URL"] = previous


def test_admin_configures_user_connects_and_maps_meeting(page, make_user, browser_login,
                                                         activity_types, google_sim,
                                                         live_server):
    admin = make_user(role="admin", name="Ada Admin")
    user = make_user(name="Rita User")

    # Admin: credentials, with the redirect URL already filled in for this portal.
    browser_login(page, admin)
    page.goto("/admin/google")
    expect(page.get_by_label("Redirect URL")).to_have_value(
        live_server + "/google/oauth/callback")
    page.get_by_label("OAuth client ID").fill(CLIENT_ID)
    page.get_by_label("Client secret").fill(CLIENT_SECRET)
    page.get_by_role("button", name="Check and save").click()
    expect(page.get_by_text("Google credentials checked with Google and saved.")).to_be_visible()
    page.context.clear_cookies()

    # User: Authorize and Connect, approve at (sandbox) Google.
    browser_login(page, user)
    expect(page.get_by_test_id("sandbox-badge")).to_be_visible()
    page.get_by_role("button", name="Rita User").click()
    page.get_by_role("link", name="Accounts in external resources").click()
    page.get_by_role("button", name="Authorize and Connect").click()
    page.get_by_label("Google account").fill(GOOGLE_EMAIL)
    page.get_by_role("button", name="Allow").click()
    expect(page.get_by_text(f"Connected to Google as {GOOGLE_EMAIL}")).to_be_visible()
    page.wait_for_load_state("load")  # the settings page's script runs on load, as a user's

    # Map Meeting to a new calendar with export and import on.
    page.get_by_label("Google calendar for Meeting").select_option(
        label="Create a new calendar named ...")
    page.get_by_label("New calendar name for Meeting").fill("CRM Meetings")
    page.get_by_label("Export Meeting to Google").check()
    page.get_by_label("Import Meeting from Google").check()
    expect(page.get_by_label("Export Meeting to Google")).to_be_enabled()
    page.get_by_role("button", name="Save calendar mappings").click()
    expect(page.get_by_text("Calendar mappings saved.")).to_be_visible()

    # The settings page shows it, after a fresh load.
    page.goto("/google/sync")
    meeting = page.get_by_label("Google calendar for Meeting")
    expect(meeting.locator("option:checked")).to_have_text("CRM Meetings")
    expect(page.get_by_label("Export Meeting to Google")).to_be_checked()
    expect(page.get_by_label("Import Meeting from Google")).to_be_checked()
    expect(page.get_by_test_id("connection-status")).to_contain_text(GOOGLE_EMAIL)
    assert "CRM Meetings" in [c["summary"] for c in google_sim.calendars(GOOGLE_EMAIL)]


def test_sync_settings_fit_a_phone_screen(_browser, make_user, browser_login, activity_types,
                                          google_sim, live_server, app):
    """On a phone the mapping rows stack: every switch is reachable without sideways
    scrolling, and the new-calendar name appears only when a new calendar is chosen."""
    from portal.extensions import db
    from portal.google import services

    with app.test_request_context():
        services.save_credentials(client_id=CLIENT_ID, client_secret=CLIENT_SECRET,
                                  redirect_url=live_server + "/google/oauth/callback")
    db.session.commit()
    google_sim.create_account(GOOGLE_EMAIL)
    google_sim.create_calendar(GOOGLE_EMAIL, "Sales calls with customers and partners abroad")
    context = _browser.new_context(base_url=live_server, viewport={"width": 390, "height": 844})
    context.set_default_timeout(10_000)
    page = context.new_page()
    try:
        browser_login(page, make_user(name="Pia Phone"))
        page.goto("/profile/external-accounts")
        page.get_by_role("button", name="Authorize and Connect").click()
        page.get_by_label("Google account").fill(GOOGLE_EMAIL)
        page.get_by_role("button", name="Allow").click()
        expect(page.get_by_text(f"Connected to Google as {GOOGLE_EMAIL}")).to_be_visible()
        for path in ("/google/sync", "/profile/external-accounts", "/google/disconnect"):
            page.goto(path)
            assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        page.goto("/google/sync")
        import_task = page.get_by_label("Import Task from Google")
        import_task.scroll_into_view_if_needed()
        expect(import_task).to_be_in_viewport()
        new_name = page.get_by_label("New calendar name for Meeting")
        expect(new_name).to_be_hidden()
        page.get_by_label("Google calendar for Meeting").select_option(
            label="Create a new calendar named ...")
        expect(new_name).to_be_visible()
    finally:
        context.close()
