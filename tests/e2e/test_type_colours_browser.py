"""An admin picks a colour for an activity type; the calendar shows its activities in it."""
from datetime import datetime, timedelta, timezone


def test_admin_picks_a_type_colour_and_sees_it_in_the_calendar(
        page, browser_login, make_user, make_activity, activity_types):
    admin = make_user(role="admin", name="Ada Admin")
    today = datetime.now(timezone.utc).replace(hour=10, minute=0, second=0, microsecond=0)
    meeting = make_activity(admin, subject="Colourful review", type_name="Meeting",
                            start=today + timedelta(days=1))
    browser_login(page, admin)

    page.goto("/admin/activity-types")
    row = page.locator("li[data-type='Meeting']")
    row.get_by_label("Colour of Meeting", exact=True).fill("#dc2127")
    row.get_by_role("button", name="Save the colour of Meeting").click()
    assert page.get_by_text("\u201cMeeting\u201d now shows in #dc2127.").is_visible()
    assert page.get_by_label("Colour of Meeting", exact=True).input_value() == "#dc2127"
    page.screenshot(path="/tmp/activity_types_colours.png", full_page=True)

    page.goto(f"/?view=week&date={(today + timedelta(days=1)).date().isoformat()}")
    item = page.locator(f".cal-item[data-activity-id='{meeting.id}']").first
    assert item.evaluate("e => getComputedStyle(e).borderLeftColor") == "rgb(220, 33, 39)"
    page.screenshot(path="/tmp/calendar_colours.png", full_page=True)

    page.goto("/activities")
    dot = page.locator(f"tr[data-activity-id='{meeting.id}'] .color-dot")
    assert dot.evaluate("e => getComputedStyle(e).backgroundColor") == "rgb(220, 33, 39)"


def test_a_colour_that_is_not_rrggbb_is_refused_with_a_message(
        page, browser_login, make_user, activity_types):
    browser_login(page, make_user(role="admin"))
    page.goto("/admin/activity-types")
    # A browser's colour input only ever sends #rrggbb; a hand-made request may not.
    row = page.locator("li[data-type='Task']")
    row.get_by_label("Colour of Task", exact=True).evaluate("e => { e.type = 'text'; e.value = 'teal'; }")
    row.get_by_role("button", name="Save the colour of Task").click()
    assert page.get_by_text("Choose a colour as #rrggbb").is_visible()
