"""An admin opens Sync health from the Admin menu, filters the users who need attention and
opens one of their runs."""
from datetime import timedelta

from portal.core.types import utcnow
from portal.extensions import db
from portal.google.models import STATUS_NEEDS_REAUTH, GoogleConnection
from portal.sync.core.runs import SyncRun


def test_admin_finds_who_needs_attention_and_opens_their_run(
        page, browser_login, make_user, connect_user, sync):
    ann, mapping = connect_user("ann@example.com")
    good = sync(mapping)
    bob = make_user(email="bob@example.com", name="Bob Broken")
    db.session.add(GoogleConnection(user_id=bob.id, google_email=bob.email,
                                    status=STATUS_NEEDS_REAUTH, connected_at=utcnow(),
                                    last_error="Google refused the saved authorization."))
    when = utcnow() - timedelta(minutes=30)
    failed = SyncRun(job_id="bob-failed", user_id=bob.id, status="needs_reauth",
                     direction="export", created_at=when, started_at=when, finished_at=when,
                     message="Reconnect Google to go on synchronizing.")
    db.session.add(failed)
    make_user(email="carl@example.com", name="Carl Calm")
    db.session.commit()
    browser_login(page, make_user(role="admin", name="Ada Admin", time_zone="Europe/Madrid"))

    page.goto("/")
    page.get_by_role("button", name="Admin", exact=True).click()
    page.get_by_role("link", name="Sync health").click()
    page.wait_for_url("**/admin/sync-health/")
    assert page.get_by_test_id("zone-note").inner_text() == "Times in Europe/Madrid"
    assert page.locator("tr[data-user]").count() == 4
    ann_row = page.locator("tr[data-user='ann@example.com']")
    assert ann_row.get_by_test_id("state").inner_text() == "Connected"
    page.screenshot(path="/tmp/sync_health.png", full_page=True)

    page.get_by_test_id("filter-attention").click()
    assert page.locator("tr[data-user]").count() == 1
    bob_row = page.locator("tr[data-user='bob@example.com']")
    assert bob_row.get_by_test_id("state").inner_text() == "Reconnect needed"
    page.screenshot(path="/tmp/sync_health_attention.png", full_page=True)
    bob_row.get_by_test_id("failed-run-link").click()
    page.wait_for_url(f"**/sync/runs/{failed.id}")
    assert page.get_by_text("Reconnect Google to go on synchronizing.").first.is_visible()

    page.goto("/admin/sync-health/")
    page.locator("tr[data-user='ann@example.com']").get_by_test_id("run-link").first.click()
    page.wait_for_url(f"**/sync/runs/{good.id}")

    page.goto("/admin/sync-health/")
    page.locator("tr[data-user='ann@example.com']").get_by_test_id("all-runs").click()
    assert page.get_by_role("heading", name=f"Sync runs of {ann.name}").is_visible()
    page.screenshot(path="/tmp/sync_runs_of_user.png", full_page=True)
    page.get_by_role("link", name="Back to Sync health").click()
    page.wait_for_url("**/admin/sync-health/")
