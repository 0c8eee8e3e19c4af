"""Google Meet in a real browser: tick the box on a new activity, save, Synchronize now, and
the activity page offers the Meet link Google made."""
from datetime import timedelta

from portal.core.timezones import local_now



def synchronize_now(page, work):
    page.goto("/sync/runs")
    page.get_by_role("button", name="Synchronize now").click()
    page.wait_for_url("**/sync/runs/*")
    work()  # an RQ worker runs the queued job; the page follows it live
    page.get_by_test_id("run-status").get_by_text("Succeeded").wait_for()


def test_tick_meet_save_sync_and_join_from_the_activity_page(page, browser_login,
                                                             connect_user, work, sim):
    ann, mapping = connect_user("ann@example.com", time_zone="Europe/Berlin")
    browser_login(page, ann)
    day = local_now("Europe/Berlin").date() + timedelta(days=2)
    page.goto(f"/activities/new?date={day.isoformat()}")
    page.get_by_label("Subject").fill("Design review")
    page.get_by_label("Activity type").select_option(label="Meeting")
    page.get_by_label("Start date").fill(day.isoformat())
    page.get_by_label("Start time").fill("09:00")
    page.get_by_label("End time").fill("10:00")
    page.get_by_label("Add Google Meet video conferencing").check()
    page.get_by_role("button", name="Save activity").click()
    page.wait_for_url(lambda url: "/activities/new" not in url)
    activity_url = page.url
    page.get_by_test_id("conference-pending").wait_for()

    synchronize_now(page, work)
    [event] = [e for e in sim.events(ann.email, ann.email) if e["status"] != "cancelled"]
    meet = event["hangoutLink"]

    page.goto(activity_url)
    link = page.get_by_test_id("conference-link")
    assert link.get_attribute("href") == meet
    assert "Join Google Meet" in link.inner_text()
