"""Sync pages: *Synchronize now*, the run page (live progress, counts, per-event log) and
the list of recent runs. Users only ever see their own runs."""
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.core.forms import EmptyForm
from portal.core.urls import safe_next
from portal.extensions import db
from portal.sync.core.runs import SyncRun, SyncRunEntry

bp = Blueprint("sync", __name__, url_prefix="/sync")

RECENT_RUNS = 50


def _own_run(run_id):
    """The run, if it is the user's own; admins may open any (the Scheduler page links them)."""
    run = db.session.get(SyncRun, run_id)
    if run is None or (run.user_id != current_user.id and not current_user.is_admin):
        abort(404)
    return run


@bp.post("/now")
@login_required
def sync_now():
    """Queue a sync of one of the user's mappings (``mapping_id``) or all of them."""
    from portal.google import services as google_services
    from portal.jobs.connection import QueueUnavailable
    from portal.jobs.sync import enqueue_sync

    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    mapping = None
    mapping_id = request.form.get("mapping_id", type=int)
    if mapping_id:
        mapping = google_services.get_user_mapping(current_user, mapping_id)
        if mapping is None:
            abort(404)
    if not google_services.connection_usable(current_user):
        flash("Connect your Google account first; then you can synchronize.", "warning")
        return redirect(request.referrer or url_for("sync.runs"))
    try:
        runs = enqueue_sync(current_user, mapping)
    except QueueUnavailable as exc:
        flash(str(exc), "danger")
        return redirect(request.referrer or url_for("sync.runs"))
    if not runs:
        flash("No calendar is set up for syncing yet.", "warning")
        return redirect(request.referrer or url_for("sync.runs"))
    busy = [r for r in runs if getattr(r, "already_running", False)]
    if busy:
        flash("A sync of this calendar is already running; showing it." if len(runs) == 1
              else f"{len(busy)} of {len(runs)} calendars were already syncing.", "info")
    else:
        flash("Synchronization started.", "success")
    if len(runs) == 1:
        return redirect(url_for("sync.run_detail", run_id=runs[0].id))
    return redirect(url_for("sync.runs"))


@bp.post("/add-into-crm")
@login_required
def add_into_crm():
    """*Add into CRM*: turn one Google event of an import-off calendar into a CRM activity."""
    from portal.google import services as google_services
    from portal.sync.calendar import add_into_crm as service

    form = EmptyForm()
    if not form.validate_on_submit():
        abort(400)
    back = safe_next(request.form.get("next")) or url_for("crm.calendar")
    mapping = google_services.get_user_mapping(current_user,
                                               request.form.get("mapping_id", type=int))
    if mapping is None:
        abort(404)
    try:
        activity = service.add_event_into_crm(current_user._get_current_object(), mapping,
                                              (request.form.get("event_id") or "").strip())
    except service.AddIntoCrmError as exc:
        flash(str(exc), "warning")
        db.session.commit()  # nothing was added; keeps a "reconnect needed" mark
        return redirect(back)
    db.session.commit()
    flash(f"“{activity.subject}” was added into the CRM. From now on the CRM keeps the master "
          "copy: the next sync updates the Google event from here.", "success")
    return redirect(back)


@bp.get("/runs")
@login_required
def runs():
    items = db.session.scalars(select(SyncRun).where(SyncRun.user_id == current_user.id)
                              .order_by(SyncRun.id.desc()).limit(RECENT_RUNS)).all()
    return render_template("sync/runs.html", runs=items, title="Sync runs")


@bp.get("/runs/<int:run_id>")
@login_required
def run_detail(run_id):
    run = _own_run(run_id)
    if request.args.get("format") == "json":
        return jsonify(status=run.status, finished=run.finished, progress=run.progress,
                       created=run.created, updated=run.updated, deleted=run.deleted,
                       skipped=run.skipped, conflicts=run.conflicts, errors=run.errors,
                       message=run.message)
    entries = db.session.scalars(select(SyncRunEntry).where(SyncRunEntry.run_id == run.id)
                                 .order_by(SyncRunEntry.id).limit(5000)).all()
    return render_template("sync/run_detail.html", run=run, entries=entries,
                           title="Sync run", form=EmptyForm())


@bp.app_context_processor
def sync_template_helpers():
    from portal.sync import services

    return {"sync_google_link": services.google_link,
            "sync_problem": services.sync_problem,
            "last_successful_sync_at": services.last_successful_sync_at}


@bp.record_once
def _connect(state):
    from portal.sync.services import connect_signals

    connect_signals()
