"""The contacts sync page: *Send all contacts with a tag from the CRM to Google*, automatic
sync and its interval, the latest sync, *Synchronize now*, the field mapping and the run
history. A user only ever sees and changes their own."""
from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, SubmitField

from portal.core.forms import EmptyForm
from portal.extensions import db
from portal.google import services as google_services
from portal.google.forms import CONFLICT_CHOICES, PERIOD_LABELS
from portal.google.models import SYNC_PERIODS
from portal.sync.contacts import services

bp = Blueprint("contacts_sync", __name__)


def _int_or_none(value):
    try:
        return int(value) if value not in (None, "", "None") else None
    except (TypeError, ValueError):
        return -1


class ContactsSyncForm(FlaskForm):
    tag_id = SelectField("Send all contacts with a tag from the CRM to Google",
                         coerce=_int_or_none,
                         description="One of your own private tags. Its contacts go to a "
                                     "Google label of the same name, and people you put in "
                                     "that label come back with the tag.")
    auto_sync = BooleanField("Synchronize contacts automatically")
    period_minutes = SelectField("How often", coerce=_int_or_none, default=60,
                                 choices=[(p, PERIOD_LABELS[p]) for p in SYNC_PERIODS])
    conflict_rule = SelectField("When a contact changed on both sides",
                                choices=CONFLICT_CHOICES, default="crm_wins")
    delete_in_crm = BooleanField(
        "Delete the contact in the CRM when it is deleted in Google",
        description="Otherwise the contact stays in the CRM and is no longer synced.")
    save = SubmitField("Save contacts sync")

    def __init__(self, *args, tags=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.tag_id.choices = [(None, "Off: do not synchronize contacts")] + [
            (t.id, t.name) for t in tags]


@bp.route("/google/contacts", methods=["GET", "POST"])
@login_required
def settings_page():
    user = current_user._get_current_object()
    settings = services.get_settings(user)
    form = ContactsSyncForm(tags=services.private_tags(user), obj=settings)
    if settings is not None and not form.is_submitted():
        form.delete_in_crm.data = settings.delete_in_crm_when_deleted_in_google
    if form.validate_on_submit():
        try:
            services.save_settings(
                user, tag_id=form.tag_id.data, auto_sync=form.auto_sync.data,
                period_minutes=form.period_minutes.data, conflict_rule=form.conflict_rule.data,
                delete_in_crm_when_deleted_in_google=form.delete_in_crm.data)
        except services.ContactsSyncError as exc:
            db.session.rollback()
            getattr(form, exc.field or "tag_id").errors.append(str(exc))
        else:
            db.session.commit()
            flash("Contacts sync settings saved.", "success")
            return redirect(url_for("contacts_sync.settings_page"))
    conn = google_services.get_connection(user)
    return render_template(
        "google/contacts_sync.html", form=form, settings=settings, conn=conn,
        configured=google_services.is_configured(),
        connected=google_services.connection_usable(user),
        contacts_access=services.has_contacts_access(user), mapping=services.FIELD_MAPPING,
        runs=services.recent_runs(user), action_form=EmptyForm(), title="Google Contacts")


@bp.post("/google/contacts/sync-now")
@login_required
def sync_now():
    from portal.jobs.contacts import enqueue_contacts_sync

    if not EmptyForm().validate_on_submit():
        abort(400)
    user = current_user._get_current_object()
    settings = services.get_settings(user)
    if settings is None or settings.tag_id is None:
        flash("Choose the tag whose contacts to synchronize first.", "warning")
        return redirect(url_for("contacts_sync.settings_page"))
    if not google_services.connection_usable(user):
        flash(google_services.not_usable_reason(current_user), "warning")
        return redirect(url_for("contacts_sync.settings_page"))
    if not services.has_contacts_access(user):
        flash("Allow the portal to use your Google Contacts first.", "warning")
        return redirect(url_for("contacts_sync.settings_page"))
    try:
        run = enqueue_contacts_sync(user, settings)
    except Exception:  # noqa: BLE001 - Redis down: say so, lose nothing
        db.session.rollback()
        flash("The job queue is not reachable; nothing was lost. Try again in a moment.",
              "danger")
        return redirect(url_for("contacts_sync.settings_page"))
    flash("A sync of your contacts is already running; showing it."
          if getattr(run, "already_running", False) else "Contacts synchronization started.",
          "info")
    return redirect(url_for("sync.run_detail", run_id=run.id))
