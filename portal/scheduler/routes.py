"""The admin Scheduler page: cron tasks with active toggles, frequencies and Run now."""
from flask import Blueprint, abort, flash, redirect, render_template, url_for

from portal.core.auth import admin_required
from portal.core.forms import EmptyForm
from portal.extensions import db
from portal.jobs.connection import QueueUnavailable
from portal.scheduler import services
from portal.scheduler.dispatch import enqueue_run_now
from portal.scheduler.forms import FrequencyForm
from portal.scheduler.models import CronTask
from portal.scheduler.outcomes import spawned_run_summary

bp = Blueprint("scheduler", __name__, url_prefix="/admin/scheduler")


def _task(task_id):
    return db.session.get(CronTask, task_id) or abort(404)


@bp.get("/")
@admin_required
def index():
    services.ensure_default_tasks()
    db.session.commit()
    tasks = services.all_tasks()
    forms = {t.id: FrequencyForm(prefix=f"t{t.id}", minutes=t.frequency_seconds // 60)
             for t in tasks}
    return render_template("scheduler/index.html", tasks=tasks, forms=forms,
                           summaries={t.id: spawned_run_summary(t) for t in tasks},
                           button=EmptyForm(), title="Scheduler")


@bp.post("/<int:task_id>/active")
@admin_required
def toggle(task_id):
    task = _task(task_id)
    if EmptyForm().validate_on_submit():
        services.set_active(task, not task.active)
        db.session.commit()
        flash(f"{task.name} is now {'active' if task.active else 'inactive'}.", "success")
    return redirect(url_for("scheduler.index"))


@bp.post("/<int:task_id>/frequency")
@admin_required
def frequency(task_id):
    task = _task(task_id)
    form = FrequencyForm(prefix=f"t{task.id}")
    errors = []
    if form.validate_on_submit():
        try:
            services.set_frequency(task, form.minutes.data)
        except services.SchedulerError as exc:
            errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"{task.name} now runs every {form.minutes.data} minutes.", "success")
    errors += [e for errs in form.errors.values() for e in errs]
    if errors:
        flash(f"{task.name}: frequency not changed. {' '.join(errors)}", "danger")
    return redirect(url_for("scheduler.index"))


@bp.post("/<int:task_id>/run")
@admin_required
def run_now(task_id):
    task = _task(task_id)
    if EmptyForm().validate_on_submit():
        try:
            enqueue_run_now(task)
        except QueueUnavailable as exc:
            flash(f"{task.name} was not queued. {exc}", "danger")
        else:
            flash(f"{task.name} queued; its outcome shows here once a worker has run it.",
                  "info")
    return redirect(url_for("scheduler.index"))


@bp.get("/<int:task_id>")
@admin_required
def detail(task_id):
    task = _task(task_id)
    return render_template("scheduler/detail.html", task=task,
                           summary=spawned_run_summary(task, with_runs=True), title=task.name)
