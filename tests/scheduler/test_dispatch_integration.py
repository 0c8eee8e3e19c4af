"""The dispatcher end to end: due tasks fan out sync jobs that real workers run against
googlesim; inactive tasks, users without automatic sync and users needing reconnection are
left out; Run now works; a failed job shows on the Scheduler page."""
from datetime import datetime, timedelta, timezone

from rq.job import Job
from sqlalchemy import select

from portal.extensions import db
from portal.google import services as google
from portal.google.models import STATUS_NEEDS_REAUTH
from portal.jobs.connection import get_queue
from portal.scheduler import dispatch, services
from portal.scheduler.fanout import enqueue_due_syncs
from portal.scheduler.models import CronTask
from portal.sync.core.runs import SyncRun

LATER = timedelta(hours=2)


def _auto(user, period=15):
    google.save_sync_settings(user, auto_sync=True, period_minutes=period, sync_from=None)
    db.session.commit()


def _task(handler):
    services.ensure_default_tasks()
    db.session.commit()
    return db.session.scalar(select(CronTask).where(CronTask.handler == handler))


def _queued_directions():
    """(mapping id, direction) of every job waiting: queued, or deferred behind another."""
    queue = get_queue()
    deferred = [Job.fetch(job_id, connection=queue.connection)
                for job_id in queue.deferred_job_registry.get_job_ids()]
    return sorted(job.args for job in queue.get_jobs() + deferred)


def test_tick_enqueues_export_and_import_for_auto_sync_users_only(connect_user):
    ann, ann_map = connect_user("ann@example.com")
    _, bob_map = connect_user("bob@example.com")  # automatic sync off
    _auto(ann)
    _task("google_calendar_export")

    dispatch.tick()

    # both crons due on this tick: one job per mapping does both directions
    assert _queued_directions() == [(ann_map.id, "both")]
    assert bob_map.id not in {args[0] for args in _queued_directions()}


def test_export_and_import_due_together_run_as_one_job_and_both_tasks_say_so(
        connect_user, work, admin_client):
    ann, mapping = connect_user("ann@example.com")
    _auto(ann)
    _task("google_calendar_export")
    dispatch.tick()
    work()
    runs = db.session.scalars(select(SyncRun).where(SyncRun.mapping_id == mapping.id)
                              .order_by(SyncRun.started_at)).all()
    assert [(r.direction, r.status) for r in runs] == [("both", "succeeded")]
    for handler in ("google_calendar_export", "google_calendar_import"):
        task = db.session.scalars(select(CronTask).where(CronTask.handler == handler)).one()
        assert task.last_job_ids == runs[0].job_id and task.last_status == "ok"



def test_a_second_tick_in_the_same_period_enqueues_nothing(connect_user, work):
    ann, _ = connect_user("ann@example.com")
    _auto(ann)
    _task("google_calendar_export")
    dispatch.tick()
    work()
    dispatch.tick()
    assert _queued_directions() == []


def test_inactive_import_task_enqueues_no_import(connect_user):
    ann, mapping = connect_user("ann@example.com")
    _auto(ann)
    services.set_active(_task("google_calendar_import"), False)
    db.session.commit()
    dispatch.tick()
    assert _queued_directions() == [(mapping.id, "export")]


def test_user_period_must_elapse_since_that_mappings_last_run(connect_user, work):
    ann, mapping = connect_user("ann@example.com")
    _auto(ann, period=60)
    first = enqueue_due_syncs("export")
    work()
    assert len(first.job_ids) == 1
    assert enqueue_due_syncs("export").job_ids == []
    later = enqueue_due_syncs("export", now=datetime.now(timezone.utc) + LATER)
    assert len(later.job_ids) == 1


def test_users_needing_reauthorization_are_skipped_and_counted(connect_user):
    ann, _ = connect_user("ann@example.com")
    _auto(ann)
    google.get_connection(ann).status = STATUS_NEEDS_REAUTH
    db.session.commit()
    task = _task("google_calendar_export")
    dispatch.tick()
    db.session.refresh(task)
    assert _queued_directions() == []
    assert "1 skipped: reconnect needed" in task.last_message


def test_scheduled_job_exports_the_activity_to_google(connect_user, make_activity, work, sim):
    ann, mapping = connect_user("ann@example.com")
    _auto(ann)
    make_activity(ann, subject="Planning with the board")
    result = enqueue_due_syncs("export")
    work()
    run = db.session.scalar(select(SyncRun).where(SyncRun.job_id == result.job_ids[0]))
    assert run.status == "succeeded"
    summaries = [e["summary"] for e in sim.events("ann@example.com", "ann@example.com")]
    assert summaries == ["Planning with the board"]


def test_run_now_runs_the_task_and_the_page_shows_the_outcome(connect_user, work, client,
                                                             make_user, login):
    ann, _ = connect_user("ann@example.com")
    _auto(ann)
    task = _task("google_calendar_export")
    login(client, make_user(role="admin"))
    client.post_form(f"/admin/scheduler/{task.id}/run", page="/admin/scheduler/")
    work()  # runs the Run-now job, then the sync job it enqueued
    page = client.get("/admin/scheduler/").get_data(as_text=True)
    row = page.split('data-task="google_calendar_export"')[1].split("</tr>")[0]
    assert "1 calendar queued" in row
    assert "1 run: 1 succeeded" in row


def test_a_failed_sync_job_shows_as_failed_on_the_scheduler_page(connect_user, work, sim,
                                                                admin_client, make_activity):
    ann, _ = connect_user("ann@example.com")
    _auto(ann)
    make_activity(ann, subject="Needs Google")
    task = _task("google_calendar_export")
    sim.revoke_grants("ann@example.com")
    sim.expire(access_tokens=True)
    dispatch.tick()
    work()
    page = admin_client.get("/admin/scheduler/").get_data(as_text=True)
    row = page.split('data-task="google_calendar_export"')[1].split("</tr>")[0]
    assert "1 run: 1 reconnect needed" in row
    detail = admin_client.get(f"/admin/scheduler/{task.id}").get_data(as_text=True)
    assert "Reconnect needed" in detail and ann.name in detail


def test_cron_scheduler_enqueues_the_tick_that_a_worker_runs(app, connect_user, work):
    ann, mapping = connect_user("ann@example.com")
    _auto(ann)
    _task("google_calendar_export")
    cron = dispatch.build_cron_scheduler(app)
    for job in cron.get_jobs():  # due now rather than at the next whole minute
        job.next_enqueue_time = datetime.now(timezone.utc) - timedelta(seconds=1)
    enqueued = cron.enqueue_jobs()
    assert [j.func_name for j in enqueued] == ["portal.scheduler.dispatch.tick"]
    work()
    runs = db.session.scalars(select(SyncRun).where(SyncRun.mapping_id == mapping.id)).all()
    assert [r.direction for r in runs] == ["both"]
    assert all(r.status == "succeeded" for r in runs)


def test_two_dispatchers_ticking_at_once_enqueue_each_job_once(_app, connect_user):
    import threading

    ann, mapping = connect_user("ann@example.com")
    _auto(ann)
    _task("google_calendar_export")
    barrier = threading.Barrier(2)

    def dispatcher():
        with _app.app_context():
            barrier.wait()
            dispatch.tick()
            db.session.remove()

    threads = [threading.Thread(target=dispatcher) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert _queued_directions() == [(mapping.id, "both")]


def test_clean_old_sync_runs_deletes_month_old_runs_and_their_logs(connect_user, sync,
                                                                   make_activity):
    from portal.sync.core.runs import SyncRunEntry

    ann, mapping = connect_user("ann@example.com")
    make_activity(ann, subject="Logged")
    old, recent = sync(mapping), sync(mapping)
    old.created_at = old.started_at = old.finished_at = \
        datetime.now(timezone.utc) - timedelta(days=31)
    db.session.commit()
    assert db.session.scalar(select(db.func.count(SyncRunEntry.id))
                             .where(SyncRunEntry.run_id == old.id)) > 0
    old_id, recent_id = old.id, recent.id

    dispatch.run_claimed(_task("clean_sync_runs"))

    db.session.expire_all()
    assert db.session.get(SyncRun, old_id) is None
    assert db.session.get(SyncRun, recent_id) is not None
    assert db.session.scalar(select(db.func.count(SyncRunEntry.id))
                             .where(SyncRunEntry.run_id == old_id)) == 0


def test_a_mapping_busy_in_one_direction_gets_the_other_chained_and_not_the_same_again(
        connect_user, work):
    from portal.jobs.sync import enqueue_sync

    # Cara first: the busy mapping is not the first of the batch, so a holder read for the
    # wrong mapping would show.
    cara, cara_map = connect_user("cara@example.com")
    ann, mapping = connect_user("ann@example.com")
    _auto(ann)
    _auto(cara)
    # Ann pressed "Synchronize now" for an export that no worker has picked up yet.
    (queued,) = enqueue_sync(ann, mapping, direction="export")

    # Hours later (the run still waiting, say a worker was down): both crons fall due.
    later = datetime.now(timezone.utc) + LATER
    imports = enqueue_due_syncs("import", now=later)
    exports = enqueue_due_syncs("export", now=later)

    # The same direction is already on its way: not queued twice (Cara's goes ahead, behind
    # her own import).
    assert [j for j in exports.job_ids if j.startswith(f"sync-{mapping.id}-")] == []
    assert exports.skipped_busy == 1
    assert any(j.startswith(f"sync-{cara_map.id}-") for j in exports.job_ids)
    # The import waits behind Ann's export instead of being dropped, and runs after it.
    (chained,) = [j for j in imports.job_ids if j.startswith(f"sync-{mapping.id}-")]
    job = Job.fetch(chained, connection=get_queue().connection)
    assert job.dependency_ids == [queued.job_id]
    work()
    runs = {r.job_id: r for r in db.session.scalars(
        select(SyncRun).where(SyncRun.mapping_id == mapping.id))}
    assert runs[queued.job_id].status == runs[chained].status == "succeeded"
    assert runs[queued.job_id].finished_at <= runs[chained].started_at
