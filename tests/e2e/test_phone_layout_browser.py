"""On a phone (390 px wide): the calendar, the activity form, the Google sync page and run
pages fit the screen (nothing to scroll sideways) and their main controls are reachable."""
import os

import pytest

PHONE = {"width": 390, "height": 844}
SHOTS = os.environ.get("SCREENSHOT_DIR")


@pytest.fixture
def phone(_browser, live_server):
    context = _browser.new_context(base_url=live_server, viewport=PHONE, is_mobile=True,
                                   has_touch=True, device_scale_factor=2)
    context.set_default_timeout(10_000)
    page = context.new_page()
    yield page
    context.close()


def fits(page, name):
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"phone-{name}.png"), full_page=True)
    overflow = page.evaluate("""() => {
        const width = document.documentElement.clientWidth;
        const wide = [...document.querySelectorAll('main *')].filter(el => {
            const box = el.getBoundingClientRect();
            if (box.width === 0 || box.right <= width + 1) return false;
            // inside a box that scrolls by design (a wide table, a code block) is fine
            for (let p = el.parentElement; p; p = p.parentElement) {
                const style = getComputedStyle(p);
                if (['auto', 'scroll'].includes(style.overflowX)) return false;
            }
            return true;
        });
        return {page: document.documentElement.scrollWidth - width,
                wide: wide.slice(0, 5).map(el => el.tagName + '.' + el.className)};
    }""")
    assert overflow["page"] <= 0 and not overflow["wide"], (name, overflow)


def test_sync_pages_fit_a_phone(phone, browser_login, connect_user, make_activity, sync):
    ann, mapping = connect_user("ann@example.com")
    activity = make_activity(ann, subject="A meeting with a rather long subject to wrap")
    run = sync(mapping)
    browser_login(phone, ann)
    for name, path in [("calendar-month", "/?view=month"), ("calendar-week", "/?view=week"),
                       ("calendar-day", "/?view=day"), ("activity-new", "/activities/new"),
                       ("activity", f"/activities/{activity.id}"),
                       ("activity-edit", f"/activities/{activity.id}/edit"),
                       ("google-sync", "/google/sync"), ("runs", "/sync/runs"),
                       ("run", f"/sync/runs/{run.id}"), ("contacts-sync", "/google/contacts")]:
        phone.goto(path)
        fits(phone, name)
    # the main actions can be reached and pressed
    phone.goto("/google/sync")
    phone.get_by_role("button", name="Synchronize now").first.scroll_into_view_if_needed()
    assert phone.get_by_role("button", name="Synchronize now").first.is_visible()
    phone.goto("/activities/new")
    phone.get_by_role("button", name="Save activity").scroll_into_view_if_needed()
    assert phone.get_by_role("button", name="Save activity").is_visible()
