"""An admin turns the Google import cron off and on again on the Scheduler page."""
from rq.job import Job

from portal.extensions import db
from portal.google import services as google
from portal.jobs.connection import get_queue
from portal.scheduler import dispatch


def _waiting_directions():
    queue = get_queue()
    ids = queue.get_job_ids() + queue.deferred_job_registry.get_job_ids()
    return sorted(Job.fetch(i, connection=queue.connection).args[1] for i in ids)


def _row(page, name):
    return page.locator("#cron-tasks tr", has_text=name)


def test_admin_deactivates_import_then_reactivates_and_runs_it_now(
        page, browser_login, make_user, connect_user, work):
    ann, _ = connect_user("ann@example.com")
    google.save_sync_settings(ann, auto_sync=True, period_minutes=15, sync_from=None)
    db.session.commit()
    browser_login(page, make_user(role="admin", name="Ada Admin"))

    page.goto("/admin/scheduler/")
    _row(page, "Google Calendar import").get_by_role("button", name="Deactivate").click()
    assert _row(page, "Google Calendar import").get_by_test_id("task-state").inner_text() \
        == "Inactive"

    dispatch.tick()
    assert _waiting_directions() == ["export"]
    work()

    _row(page, "Google Calendar import").get_by_role("button", name="Activate").click()
    assert _row(page, "Google Calendar import").get_by_test_id("task-state").inner_text() \
        == "Active"
    _row(page, "Google Calendar import").get_by_role("button", name="Run now").click()
    assert page.get_by_text("Google Calendar import queued").is_visible()

    work()
    page.reload()
    last_run = _row(page, "Google Calendar import").get_by_test_id("last-run").inner_text()
    assert "1 calendar queued" in last_run
    assert "1 run: 1 succeeded" in last_run
