"""Sync pages: *Synchronize now*, the run page (live progress, counts, per-event log) and
the list of recent runs. Users only ever see their own runs; admins may open anyone's (from
the Scheduler and Sync health pages)."""
from flask import Blueprint, abort, flash, jsonify, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy import select

from portal.core import params
from portal.core.forms import EmptyForm
from portal.core.urls import safe_next
from portal.extensions import db
from portal.sync import wording
from portal.sync.core.runs import RUN_RETRYING, SyncRun, SyncRunEntry

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
        flash(google_services.not_usable_reason(current_user), "warning")
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
    owner = _runs_owner()
    items = db.session.scalars(select(SyncRun).where(SyncRun.user_id == owner.id)
                              .order_by(SyncRun.id.desc()).limit(RECENT_RUNS)).all()
    own = owner.id == current_user.id
    return render_template("sync/runs.html", runs=items, owner=owner, own=own,
                           title="Sync runs" if own else f"Sync runs of {owner.name}")


def _runs_owner():
    """Whose runs the list shows: yours, or, for an admin coming from Sync health, the user
    of ``?user=``. Someone else's list does not exist for other users (404, as their runs)."""
    from portal.accounts.models import User

    user_id = params.int_arg("user")
    if user_id is None or user_id == current_user.id:
        return current_user
    if not current_user.is_admin:
        abort(404)
    return db.session.get(User, user_id) or abort(404)


@bp.get("/runs/<int:run_id>")
@login_required
def run_detail(run_id):
    run = _own_run(run_id)
    if request.args.get("format") == "json":
        return jsonify(_live_state(run))
    entries = db.session.scalars(select(SyncRunEntry).where(SyncRunEntry.run_id == run.id)
                                 .order_by(SyncRunEntry.id).limit(5000)).all()
    return render_template("sync/run_detail.html", run=run, entries=entries,
                           retry=retry_words(run), title="Sync run", form=EmptyForm())


COUNTS = ("created", "updated", "deleted", "kept", "skipped", "conflicts", "errors")


def _live_state(run):
    """What the run page's poller shows: the status, the message, the counts."""
    state = {name: getattr(run, name) for name in COUNTS}
    state.update(status=run.status, status_label=wording.status_label(run.status),
                 status_style=wording.status_style(run.status), finished=run.finished,
                 progress=run.progress or "", message=run.message or "",
                 retry=retry_words(run))
    return state


def retry_words(run):
    """"retrying at 14:05 (attempt 2 of 4)", in the viewer's zone; "" unless retrying."""
    from portal.core.templating import local_dt
    from portal.jobs.guarded import MAX_ATTEMPTS

    if run.status != RUN_RETRYING or run.retry_at is None:
        return ""
    return f"retrying at {local_dt(run.retry_at, '%H:%M')} " \
           f"(attempt {run.attempt} of {MAX_ATTEMPTS})"


def _connection_state(user):
    """"connected", "needs_reauth", "disconnected" or None (never connected)."""
    from portal.google.services import get_connection

    conn = get_connection(user) if user.is_authenticated else None
    return conn.status if conn is not None else None


@bp.app_context_processor
def sync_template_helpers():
    from portal.sync import services

    return {"sync_google_link": services.google_link,
            "google_connection_state": _connection_state,
            "sync_problem": services.sync_problem,
            "sync_line": services.sync_line,
            "last_successful_sync_at": services.last_successful_sync_at}


@bp.record_once
def _connect(state):
    from portal.sync.services import connect_signals

    connect_signals()
    # Globals, not a context processor: imported macros (sync/_status.html) see them too.
    state.app.jinja_env.globals.update(
        action_words=wording.action_words, direction_words=wording.direction_words,
        status_label=wording.status_label, status_style=wording.status_style)
