"""Cron tasks: claims that hold across dispatchers, the admin page and its validation."""
import threading
from datetime import datetime, timedelta, timezone

from sqlalchemy import select

from portal.extensions import db
from portal.scheduler import services
from portal.scheduler.models import CronTask

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


def _tasks():
    services.ensure_default_tasks()
    db.session.commit()
    return {t.handler: t for t in services.all_tasks()}


def test_defaults_are_seeded_once(app):
    _tasks()
    _tasks()
    names = db.session.scalars(select(CronTask.name)).all()
    assert sorted(names) == ["Clean old sync runs", "Google Calendar export",
                             "Google Calendar import", "Google Contacts sync"]


def test_due_task_is_claimed_once_per_period(app):
    tasks = _tasks()
    claimed = {t.handler for t in services.claim_due_tasks(NOW)}
    assert claimed == set(tasks)
    assert services.claim_due_tasks(NOW + timedelta(minutes=1)) == []
    again = {t.handler for t in services.claim_due_tasks(NOW + timedelta(minutes=15))}
    assert again == {"google_calendar_export", "google_calendar_import",
                     "google_contacts_sync"}


def test_inactive_task_is_not_claimed(app):
    tasks = _tasks()
    services.set_active(tasks["google_calendar_import"], False)
    db.session.commit()
    claimed = {t.handler for t in services.claim_due_tasks(NOW)}
    assert "google_calendar_import" not in claimed


def test_two_dispatchers_at_the_same_moment_claim_each_task_once(_app, app):
    _tasks()
    results = []
    barrier = threading.Barrier(2)

    def dispatcher():
        with _app.app_context():
            barrier.wait()
            results.append([t.handler for t in services.claim_due_tasks(NOW)])
            db.session.remove()

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    claimed = results[0] + results[1]
    assert sorted(claimed) == sorted(set(claimed)) and len(claimed) == 4


def test_scheduler_page_is_admin_only(client, make_user, login):
    login(client, make_user())
    assert client.get("/admin/scheduler/").status_code == 403


def test_admin_toggles_a_task_and_sees_it_inactive(admin_client):
    _tasks()
    task = db.session.scalar(select(CronTask).where(CronTask.handler == "google_calendar_import"))
    admin_client.post_form(f"/admin/scheduler/{task.id}/active", page="/admin/scheduler/")
    page = admin_client.get("/admin/scheduler/").get_data(as_text=True)
    row = page.split('data-task="google_calendar_import"')[1].split("</tr>")[0]
    assert "Inactive" in row and "Activate" in row


def test_frequency_below_minimum_is_refused_with_a_message(admin_client):
    _tasks()
    task = db.session.scalar(select(CronTask).where(CronTask.handler == "google_calendar_export"))
    response = admin_client.post_form(f"/admin/scheduler/{task.id}/frequency",
                                      {f"t{task.id}-minutes": "1"}, page="/admin/scheduler/",
                                      follow_redirects=True)
    assert "frequency not changed" in response.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(CronTask, task.id).frequency_seconds == 900
    admin_client.post_form(f"/admin/scheduler/{task.id}/frequency",
                           {f"t{task.id}-minutes": "30"}, page="/admin/scheduler/")
    db.session.expire_all()
    assert db.session.get(CronTask, task.id).frequency_seconds == 1800


def test_non_numeric_frequency_is_refused(admin_client):
    _tasks()
    task = db.session.scalar(select(CronTask).where(CronTask.handler == "google_calendar_export"))
    response = admin_client.post_form(f"/admin/scheduler/{task.id}/frequency",
                                      {f"t{task.id}-minutes": "often"}, page="/admin/scheduler/",
                                      follow_redirects=True)
    assert response.status_code == 200
    assert "frequency not changed" in response.get_data(as_text=True)
