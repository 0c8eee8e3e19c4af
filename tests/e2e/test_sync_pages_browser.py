"""The sync as users see it (issue 13), in a real browser: a run page that follows retries
live, plain words and one time zone, the mapping table's switches, Reconnect everywhere when
Google needs it, and the activity page's sync line."""
import os
import re
import pytest

from portal.extensions import db

SHOTS = os.environ.get("SCREENSHOT_DIR")


def shot(page, name):
    """Screenshots to look at by eye: SCREENSHOT_DIR=/tmp/shots pytest tests/e2e/..."""
    if SHOTS:
        os.makedirs(SHOTS, exist_ok=True)
        page.screenshot(path=os.path.join(SHOTS, f"{name}.png"), full_page=True)


def run_retries_now(app):
    """RQ waits before a retry; a test does not: move the scheduled retries to the queue."""
    from rq.job import Job
    from rq.registry import ScheduledJobRegistry

    from portal.jobs.connection import get_queue, get_redis

    queue = get_queue()
    registry = ScheduledJobRegistry(queue=queue)
    ids = registry.get_job_ids()
    for job_id in ids:
        registry.remove(job_id)
        queue.enqueue_job(Job.fetch(job_id, connection=get_redis()))
    return ids


def test_run_page_follows_a_retry_live_and_ends_in_plain_words(
        page, browser_login, connect_user, make_activity, work, sim, app, monkeypatch):
    from portal.google import calendar_events as ce

    monkeypatch.setattr(ce.Backoff, "wait", lambda self, attempt: None)
    ann, mapping = connect_user("ann@example.com", time_zone="America/New_York")
    activity = make_activity(ann, subject="Quarterly review")
    browser_login(page, ann)
    sim.fault(method="POST", path="/batch/calendar/v3", status=503, reason="backendError",
              count=50)
    page.goto("/sync/runs")
    page.get_by_role("button", name="Synchronize now").click()
    page.wait_for_url("**/sync/runs/*")
    assert page.get_by_test_id("run-status").inner_text() == "Queued"
    work()  # the first attempt meets Google's 503s; RQ schedules a retry
    # the page, never reloaded, now says so
    page.get_by_test_id("run-status").get_by_text("Retrying").wait_for()
    retry = page.get_by_test_id("run-retry").inner_text()
    assert re.fullmatch(r"retrying at \d\d:\d\d \(attempt 2 of 4\)", retry), retry
    assert "will retry automatically" in page.get_by_test_id("run-message").inner_text()
    shot(page, "run-retrying")
    sim.clear_faults()
    assert run_retries_now(app)
    work()
    page.get_by_test_id("run-status").get_by_text("Succeeded").wait_for()
    assert not page.get_by_test_id("run-progress").is_visible()  # no spinner any more
    about = page.get_by_test_id("run-about").inner_text()
    assert "Both ways" in about and "Times in America/New_York" in about
    assert "UTC" not in page.locator("main").inner_text()
    row = page.get_by_test_id("run-log").locator("tr", has_text="Quarterly review")
    assert row.locator("td").first.inner_text() == "Sent to Google"
    row.get_by_role("link", name="Quarterly review").click()
    page.wait_for_url(f"**/activities/{activity.id}**")
    line = page.get_by_test_id("sync-line").inner_text().strip()
    assert line.startswith("In Google since") and "last synced" in line
    assert "America/New_York" in line


def test_kept_in_the_crm_is_said_and_counted_apart_from_deletes(
        page, browser_login, connect_user, make_activity, sync, sim):
    ann, mapping = connect_user("ann@example.com")
    make_activity(ann, subject="Stays here")
    sync(mapping)
    [event] = [e for e in sim.events(ann.email, ann.email) if e["status"] != "cancelled"]
    sim.delete_event(ann.email, ann.email, event["id"])
    run = sync(mapping)
    browser_login(page, ann)
    page.goto(f"/sync/runs/{run.id}")
    counts = page.get_by_test_id("run-counts")
    assert counts.locator('[data-count="deleted"]').inner_text() == "0"
    assert counts.locator('[data-count="kept"]').inner_text() == "1"
    row = page.get_by_test_id("run-log").locator("tr", has_text="Stays here")
    assert row.locator("td").first.inner_text() == "Kept in the CRM (deleted in Google)"
    # a second run has nothing to say about it
    again = sync(mapping)
    page.goto(f"/sync/runs/{again.id}")
    assert page.get_by_text("Nothing needed syncing.").is_visible()


def test_switches_are_off_while_a_type_is_not_synchronized(page, browser_login, connect_user):
    ann, mapping = connect_user("ann@example.com")
    browser_login(page, ann)
    page.goto("/google/sync")
    row = page.get_by_test_id("mapping-Meeting")
    export = row.get_by_role("switch", name="Export Meeting to Google")
    assert export.is_enabled() and export.is_checked()
    row.get_by_label("Google calendar for Meeting").select_option(label="Not synchronized")
    assert export.is_disabled()
    assert row.get_by_text("Choose a calendar to synchronize this type.").is_visible()
    shot(page, "mapping-not-synchronized")
    page.get_by_role("button", name="Save calendar mappings").click()
    row = page.get_by_test_id("mapping-Meeting")
    assert row.get_by_role("switch", name="Export Meeting to Google").is_disabled()
    # choosing the calendar again brings the switches back as they were
    row.get_by_label("Google calendar for Meeting").select_option(index=1)
    export = row.get_by_role("switch", name="Export Meeting to Google")
    assert export.is_enabled() and export.is_checked()


def test_when_google_needs_a_reconnect_every_sync_button_says_reconnect(
        page, browser_login, connect_user):
    from portal.google import services as google_services

    ann, mapping = connect_user("ann@example.com")
    google_services.mark_needs_reauth(ann, "Google refused access (invalid_grant).")
    db.session.commit()
    browser_login(page, ann)
    for path in ("/sync/runs", "/google/sync"):
        page.goto(path)
        form = page.get_by_test_id("sync-now-form").first
        assert form.get_by_role("button").inner_text() == "Reconnect", path
        assert "Connect first" not in page.locator("main").inner_text()
    page.goto("/activities")
    page.get_by_test_id("activities-actions").get_by_role("button", name="Actions").click()
    assert page.get_by_test_id("activities-actions").get_by_role(
        "button", name="Reconnect").is_visible()
    page.goto("/profile/external-accounts")
    page.get_by_role("link", name="Disconnect Google").click()
    page.wait_for_url("**/google/disconnect")


@pytest.mark.parametrize("case", ["waiting", "hidden", "not_mapped"])
def test_activity_page_says_where_it_stands_before_the_first_sync(
        page, browser_login, connect_user, make_activity, case):
    ann, mapping = connect_user("ann@example.com")
    activity = make_activity(ann, subject="Not yet", type_name="Call" if case == "not_mapped"
                             else "Meeting")
    if case == "hidden":
        activity.show_in_calendar = False
        db.session.commit()
    browser_login(page, ann)
    page.goto(f"/activities/{activity.id}")
    line = page.get_by_test_id("sync-line").inner_text()
    expected = {"waiting": "Waiting for the next sync.",
                "hidden": "Not sent to Google: it is hidden from the calendar.",
                "not_mapped": "Not sent to Google: Call is not synchronized with a Google "
                              "calendar."}[case]
    assert expected in line
