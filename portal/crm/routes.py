"""CRM pages: the calendar, the activity list and the activity forms."""
from datetime import time

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required
from sqlalchemy.orm.exc import StaleDataError

from portal.accounts.models import User
from portal.core import params
from portal.core.forms import EmptyForm
from portal.core.timezones import local_now
from portal.core.urls import safe_next, url_builder
from portal.crm import activities as services
from portal.crm import calendar_view as cal
from portal.crm import contact_routes  # noqa: F401  (registers the contact views on bp)
from portal.crm import display  # noqa: F401  (registers its template globals on bp)
from portal.crm.busy_routes import busy_for_form
from portal.crm.activity_forms import ActivityFilterForm, ActivityForm
from portal.crm.blueprint import bp
from portal.crm.models import Activity, ActivityType
from portal.crm.services import active_activity_types
from portal.extensions import db

PER_PAGE = 25


def _zone():
    return current_user.time_zone or "UTC"


def _today():
    return local_now(_zone()).date()


def _calendar_owner():
    """The user whose calendar is shown: ``?user=<id>`` when the viewer may open it."""
    owner_id = params.int_arg("user")
    if owner_id is None or owner_id == current_user.id:
        return current_user
    owner = db.session.get(User, owner_id)
    if not services.may_open_calendar(current_user, owner):
        abort(404)
    return owner


# -- calendar ---------------------------------------------------------------------------

@bp.get("/")
@login_required
def calendar():
    view = cal.parse_view(request.args.get("view"))
    today = _today()
    anchor = params.date_arg("date") or params.date_arg("start") or today
    owner = _calendar_owner()
    days = cal.visible_days(view, anchor)
    start_utc, end_utc = cal.utc_range(days[0], days[-1], _zone())
    items = services.occurrences_in_range(current_user, start_utc, end_utc, owner=owner,
                                          zone_name=_zone(), annotated=False)
    google = _google_events(owner, start_utc, end_utc)
    page = cal.build_page(view, anchor, items + google.events, _zone(), today)
    # Only what the page draws: a month of 1,000 activities draws about a hundred.
    services.annotate([a for a in page.drawn_activities()
                       if not getattr(a, "is_google_event", False)])
    owners = services.calendar_owners(current_user)
    owner_arg = owner.id if owner.id != current_user.id else None

    def cal_url(**changes):
        args = {"view": view, "date": anchor.isoformat(), "user": owner_arg,
                "google": "1" if google.shown else None}
        args.update(changes)
        return url_for("crm.calendar", **{k: v for k, v in args.items() if v is not None})

    here = cal_url()
    # Links every day cell and activity repeats, each built once (see url_builder).
    links = {"day_url": url_builder("crm.calendar", "date", view="day", date=None,
                                    user=owner_arg, google="1" if google.shown else None),
             "new_url": url_builder("crm.activity_new", "date", user=owner_arg, next=here),
             "activity_url": url_builder("crm.activity_detail", "activity_id", next=here)}
    return render_template("crm/calendar.html", page=page, owner=owner, owners=owners,
                           cal_url=cal_url, here=here, **links, zone=_zone(),
                           title=f"Calendar · {page.title}",
                           can_edit=lambda a: services.can_edit(current_user, a),
                           owner_arg=owner_arg, google=google, add_form=EmptyForm())


class _GoogleOnCalendar:
    """The *Show Google events* state of the calendar page."""

    def __init__(self, available=False, shown=False, events=(), notices=()):
        self.available, self.shown = available, shown
        self.events, self.notices = list(events), list(notices)


def _google_events(owner, start_utc, end_utc):
    """Google events offered for *Add into CRM* on your own calendar, fetched live only when
    you ticked *Show Google events* (``?google=1``) and only from calendars whose import is
    off. A Google problem becomes a notice; it never stops the calendar from rendering."""
    from portal.sync.calendar import add_into_crm

    if owner.id != current_user.id:
        return _GoogleOnCalendar()
    mappings = add_into_crm.add_into_crm_mappings(current_user)
    if not mappings:
        return _GoogleOnCalendar()
    if request.args.get("google") != "1":
        return _GoogleOnCalendar(available=True)
    found = add_into_crm.fetch_unlinked_events(current_user._get_current_object(),
                                               start_utc, end_utc)
    # Keep a refreshed access token or a "reconnect needed" mark.
    db.session.commit()
    return _GoogleOnCalendar(available=True, shown=True, events=found.events,
                             notices=found.notices)


# -- list -------------------------------------------------------------------------------

def _all_types():
    return db.session.scalars(db.select(ActivityType)
                              .order_by(ActivityType.position, ActivityType.name)).all()


@bp.get("/activities")
@login_required
def activity_list():
    form = ActivityFilterForm(request.args, types=_all_types())
    valid = form.validate() if request.args else True
    for field in (form.date_from, form.date_to):
        if field.data is not None and params.bounded_date(field.data) is None:
            field.errors = list(field.errors) + [params.DATE_RANGE_MESSAGE]
            valid = False
    filters = {}
    if valid:
        filters = {"activity_type_id": form.type.data, "status": form.status.data or None,
                   "descending": form.sort.data == "-start"}
        first, last = form.date_from.data, form.date_to.data
        if first or last:
            start_utc, end_utc = cal.utc_range(first or last, last or first, _zone())
            filters.update(start_utc=start_utc if first else None,
                           end_utc=end_utc if last else None,
                           first_date=first, last_date=last)
    page_number = params.int_arg("page", maximum=100_000) or 1
    pagination = db.paginate(services.list_query(current_user, **filters), page=page_number,
                             per_page=PER_PAGE, error_out=False)
    services.annotate(pagination.items)
    args = {k: v for k, v in request.args.items() if k != "page" and v}

    def page_url(number):
        return url_for("crm.activity_list", page=number, **args)

    def sort_url(order):
        return url_for("crm.activity_list", **{**args, "sort": order})

    here = request.full_path
    return render_template("crm/activity_list.html", form=form, pagination=pagination,
                           activity_url=url_builder("crm.activity_detail", "activity_id",
                                                    next=here),
                           edit_url=url_builder("crm.activity_edit", "activity_id", next=here),
                           page_url=page_url, sort_url=sort_url, filtered=bool(args),
                           descending=filters.get("descending", False),
                           can_edit=lambda a: services.can_edit(current_user, a),
                           rule_summary=cal.summarize_recurrence, title="Activities")


# -- forms ------------------------------------------------------------------------------

def _form_for(activity=None, formdata=None):
    types = list(active_activity_types())
    if activity is not None and activity.activity_type is not None \
            and all(t.id != activity.activity_type_id for t in types):
        types.append(activity.activity_type)
    users = services.assignable_users(current_user, activity)
    contacts = services.invitable_contacts(current_user, activity)
    kwargs = {} if formdata is None else {"formdata": formdata}
    return ActivityForm(types=types, users=users, contacts=contacts, zone_name=_zone(),
                        activity=activity, **kwargs)


def _apply(form, activity):
    """Save ``form`` onto ``activity`` through the service; False when it was refused."""
    values = form.values()
    users = {u.id: u for u in services.assignable_users(current_user, activity)}
    contacts = {c.id: c for c in services.invitable_contacts(current_user, activity)}
    organizer = users.get(values.pop("organizer_id")) or activity.organizer \
        or current_user._get_current_object()
    participants = [users[i] for i in form.participants.data if i in users]
    if organizer is not None and organizer.id != current_user.id \
            and not current_user.is_admin \
            and all(p.id != current_user.id for p in participants):
        # Handing the activity to someone else keeps you on it as a participant, so it
        # does not vanish from your own calendar.
        participants.append(current_user._get_current_object())
    values.update(organizer=organizer, participants=participants,
                  invitees=[contacts[i] for i in form.invitees.data if i in contacts])
    try:
        services.save_activity(activity, actor=current_user._get_current_object(),
                               notify_guests=bool(form.notify_guests.data), **values)
    except services.ActivityError as exc:
        field = getattr(form, exc.field or "", None) or form.subject
        field.errors = list(field.errors) + [str(exc)]
        db.session.rollback()
        return False
    except StaleDataError:
        db.session.rollback()
        form.form_errors.append("Someone else saved this activity while you were editing it. "
                                "Reload it to see their changes.")
        return False
    return True


def _done(activity, fallback=None):
    target = safe_next(request.args.get("next") or request.form.get("next"))
    return redirect(target or fallback or url_for("crm.activity_detail", activity_id=activity.id))


@bp.route("/activities/new", methods=["GET", "POST"])
@login_required
def activity_new():
    form = _form_for(formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        day = params.date_arg("date") or _today()
        slot = _parse_time(request.args.get("time"))
        organizer_id = params.int_arg("user")
        if organizer_id not in {u_id for u_id, _ in form.organizer_id.choices}:
            organizer_id = current_user.id
        if not current_user.is_admin and organizer_id != current_user.id:
            organizer_id = current_user.id
        form.prefill(day=day, hour=slot.hour if slot else None,
                     minute=slot.minute if slot else 0,
                     all_day=request.args.get("all_day") in ("1", "true", "y"),
                     organizer_id=organizer_id)
        types = [c for c in form.activity_type_id.choices if c[0] != ""]
        if types:
            form.activity_type_id.data = types[0][0]
    elif form.validate_on_submit():
        activity = Activity()
        if _apply(form, activity):
            db.session.commit()
            _flash_saved(form, activity, "created")
            return _done(activity)
    return render_template("crm/activity_form.html", form=form, activity=None,
                           next=safe_next(request.args.get("next")), zone=_zone(),
                           busy=busy_for_form(form, None), title="New activity")


def _parse_time(value):
    if not value:
        return None
    try:
        return time.fromisoformat(value)
    except ValueError:
        return None


def _flash_saved(form, activity, verb):
    flash(f"Activity “{activity.subject}” {verb}.", "success")
    for note in form.notes:
        flash(note, "warning")


def _visible_or_404(activity_id):
    return services.get_visible(current_user, activity_id) or abort(404)


class _ReadOnly(Exception):
    def __init__(self, activity):
        self.activity = activity


def _editable_or_403(activity_id):
    activity = _visible_or_404(activity_id)
    if services.locked_reason(activity) is not None:
        raise _ReadOnly(activity)
    if not services.can_edit(current_user, activity):
        abort(403)
    return activity


@bp.errorhandler(_ReadOnly)
def _read_only_page(error):
    """Editing or deleting an activity Google owns: say why and where to change it."""
    activity = error.activity
    return render_template("crm/activity_read_only.html", activity=activity,
                           reason=services.locked_reason(activity), zone=_zone(),
                           next=safe_next(request.args.get("next")),
                           title=f"{activity.subject} is read-only"), 403


@bp.get("/activities/<int:activity_id>")
@login_required
def activity_detail(activity_id):
    from portal.sync.calendar.models import ExternalAttendee

    activity = _visible_or_404(activity_id)
    services.annotate([activity])
    user_answers, contact_answers = services.answers(activity)
    externals = db.session.scalars(db.select(ExternalAttendee).where(
        ExternalAttendee.activity_id == activity.id).order_by(ExternalAttendee.id)).all()
    return render_template("crm/activity_detail.html", activity=activity,
                           editable=services.can_edit(current_user, activity),
                           locked=services.locked_reason(activity),
                           rule=cal.summarize_recurrence(activity.recurrence, activity.time_zone),
                           can_answer=services.can_answer(current_user, activity),
                           my_answer=user_answers.get(current_user.id, "needsAction"),
                           user_answers=user_answers, contact_answers=contact_answers,
                           answer_labels=services.ANSWER_LABELS,
                           outside_organizer=next((x for x in externals if x.is_organizer), None),
                           outside_guests=[x for x in externals if not x.is_organizer],
                           answer_form=EmptyForm(),
                           next=safe_next(request.args.get("next")), zone=_zone(),
                           title=activity.subject)


@bp.post("/activities/<int:activity_id>/answer")
@login_required
def activity_answer(activity_id):
    """Accept, Maybe or Decline an invitation (only the user's own answer changes)."""
    activity = _visible_or_404(activity_id)
    if not EmptyForm().validate_on_submit():
        abort(400)
    status = request.form.get("answer", "")
    try:
        services.answer_invitation(activity, current_user._get_current_object(), status)
    except services.ActivityError as exc:
        db.session.rollback()
        flash(str(exc), "warning")
    else:
        db.session.commit()
        flash(f"Your answer: {services.ANSWER_LABELS[status]}. It goes to Google with the next "
              "sync.", "success")
    return redirect(url_for("crm.activity_detail", activity_id=activity.id,
                            next=safe_next(request.args.get("next"))))


@bp.route("/activities/<int:activity_id>/edit", methods=["GET", "POST"])
@login_required
def activity_edit(activity_id):
    activity = _editable_or_403(activity_id)
    form = _form_for(activity, formdata=request.form if request.method == "POST" else None)
    if request.method == "GET":
        form.fill_from(activity)
    elif form.validate_on_submit():
        if form.version.data and form.version.data != str(activity.version):
            form.form_errors.append(
                "Someone else (or the Google sync) changed this activity after you opened it. "
                "Your entries are kept below; save again to overwrite their changes, or "
                "reload the page to see them.")
            form.version.data = str(activity.version)
        elif _apply(form, activity):
            db.session.commit()
            _flash_saved(form, activity, "saved")
            return _done(activity)
    return render_template("crm/activity_form.html", form=form, activity=activity,
                           next=safe_next(request.args.get("next")), zone=_zone(),
                           busy=busy_for_form(form, activity),
                           title=f"Edit {activity.subject}")


@bp.route("/activities/<int:activity_id>/delete", methods=["GET", "POST"])
@login_required
def activity_delete(activity_id):
    activity = _editable_or_403(activity_id)
    form = EmptyForm()
    if form.validate_on_submit():
        subject = activity.subject
        services.delete_activity(activity, actor=current_user._get_current_object())
        db.session.commit()
        flash(f"Activity “{subject}” deleted.", "success")
        target = safe_next(request.args.get("next"))
        if target and f"/activities/{activity_id}" in target:
            target = None
        return redirect(target or url_for("crm.calendar"))
    return render_template("crm/activity_delete.html", activity=activity, form=form,
                           next=safe_next(request.args.get("next")), zone=_zone(),
                           title=f"Delete {activity.subject}")
