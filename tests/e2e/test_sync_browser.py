"""Two-way sync in a real browser: create an activity, Synchronize now, see it in googlesim;
edit it in googlesim, synchronize again, see the change in the CRM calendar."""
from datetime import timedelta

from portal.core.timezones import local_now


def synchronize_now(page, work):
    page.goto("/sync/runs")
    page.get_by_role("button", name="Synchronize now").click()
    page.wait_for_url("**/sync/runs/*")
    work()  # an RQ worker runs the queued job; the page follows it live
    page.get_by_test_id("run-status").get_by_text("Succeeded").wait_for()


def test_create_sync_edit_in_google_sync_back(page, browser_login, connect_user, work, sim):
    ann, mapping = connect_user("ann@example.com", time_zone="Europe/Berlin")
    browser_login(page, ann)
    day = local_now("Europe/Berlin").date() + timedelta(days=2)
    page.goto(f"/activities/new?date={day.isoformat()}")
    page.get_by_label("Subject").fill("Board meeting 📈")
    page.get_by_label("Activity type").select_option(label="Meeting")
    page.get_by_label("Start date").fill(day.isoformat())
    page.get_by_label("Start time").fill("09:00")
    page.get_by_label("End time").fill("10:00")
    page.get_by_role("button", name="Save activity").click()
    page.wait_for_url(lambda url: "/activities/new" not in url)

    synchronize_now(page, work)
    assert page.get_by_test_id("run-counts").locator('[data-count="created"]').inner_text() == "1"
    [event] = [e for e in sim.events(ann.email, ann.email) if e["status"] != "cancelled"]
    assert event["summary"] == "Board meeting 📈"
    assert event["start"]["dateTime"].startswith(f"{day.isoformat()}T09:00:00")

    sim.patch_event(ann.email, ann.email, event["id"], {"summary": "Board meeting (moved room)",
                                                        "location": "Room 4"})
    synchronize_now(page, work)
    assert page.get_by_test_id("run-log").get_by_text("Board meeting (moved room)").is_visible()

    page.goto(f"/?view=week&date={day.isoformat()}")
    assert page.get_by_role("link", name="Board meeting (moved room)").first.is_visible()
