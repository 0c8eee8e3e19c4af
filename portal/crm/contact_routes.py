"""Contact, tag and activity-type picklist pages, on the CRM blueprint.

Contacts and tags follow the visibility rules in ``portal.crm.contacts``: a contact the viewer
may not see answers 404; a tag the viewer may see but not manage answers 403.
"""
from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required

from portal.core import params
from portal.core.auth import admin_required
from portal.core.forms import EmptyForm
from portal.core.timezones import local_now
from portal.crm import activity_type_services as types_svc
from portal.crm import contacts as svc
from portal.crm.activities import annotate
from portal.crm.blueprint import bp
from portal.crm.contact_forms import (MIN_ROWS, ActivityTypeColorForm, ActivityTypeNameForm,
                                      ContactForm, TagForm, TagRenameForm)
from portal.crm.models import TAG_PRIVATE, ActivityType
from portal.extensions import db

PER_PAGE = 25


def _viewer_today():
    return local_now(current_user.time_zone).date()


def _contact_or_404(contact_id):
    return svc.get_contact_for(current_user, contact_id) or abort(404)


# --- contacts -------------------------------------------------------------------------------

@bp.get("/contacts")
@login_required
def contact_list():
    q = request.args.get("q", "").strip()
    tag_id = params.int_arg("tag")
    owner_id = params.int_arg("owner") if current_user.is_admin else None
    sort = request.args.get("sort", "name")
    if sort not in svc.SORTS:
        sort = "name"
    page = params.int_arg("page", maximum=100_000) or 1
    tags = svc.visible_tags(current_user)
    active_tag = svc.get_visible_tag(tag_id, current_user)
    pagination = svc.search_contacts(current_user, q=q, tag_id=active_tag and active_tag.id,
                                     owner_id=owner_id, sort=sort, page=page, per_page=PER_PAGE)
    filters = {k: v for k, v in {"q": q, "tag": active_tag and active_tag.id, "owner": owner_id,
                                 "sort": sort if sort != "name" else None}.items() if v}
    return render_template(
        "crm/contacts_list.html", title="Contacts", pagination=pagination,
        contacts=pagination.items, tags=tags, active_tag=active_tag, q=q, sort=sort,
        sorts=svc.SORTS, owner_id=owner_id, filters=filters,
        owners=svc.owners_for_filter() if current_user.is_admin else [],
        tags_of=lambda c: svc.contact_tags_for(c, current_user))


def _build_form(contact=None):
    """The contact form; on GET filled from ``contact``, on POST from the request."""
    today = _viewer_today()
    if request.method == "POST":
        form = ContactForm(today=today)
    else:
        data = {}
        if contact is not None:
            data = {f: getattr(contact, f) for f in (
                "first_name", "last_name", "organization", "job_title", "street", "city",
                "postal_code", "region", "country", "birthday", "notes")}
            data.update(
                emails=[{"email": e.email, "label": e.label} for e in contact.emails],
                phones=[{"number": p.number, "label": p.label} for p in contact.phones],
                tags=[t.id for t in svc.contact_tags_for(contact, current_user)],
                owner_id=contact.owner_id, version=str(contact.version))
        else:
            data = {"owner_id": current_user.id}
        form = ContactForm(data=data, today=today)
        # Existing rows plus at least one blank line of each kind.
        for rows, existing in ((form.emails, data.get("emails", [])),
                               (form.phones, data.get("phones", []))):
            while len(rows) < min(max(MIN_ROWS, len(existing) + 1), rows.max_entries):
                rows.append_entry()
    form.tags.choices = [(t.id, t.name) for t in svc.visible_tags(current_user)]
    if current_user.is_admin:
        form.owner_id.choices = [(u.id, u.name + ("" if u.active else " (deactivated)"))
                                 for u in svc.owners_for_filter()]
    else:
        del form.owner_id
    return form


def _form_data(form):
    return svc.ContactData(
        first_name=form.first_name.data, last_name=form.last_name.data,
        organization=form.organization.data, job_title=form.job_title.data,
        street=form.street.data, city=form.city.data, postal_code=form.postal_code.data,
        region=form.region.data, country=form.country.data, birthday=form.birthday.data,
        notes=form.notes.data,
        emails=[(row.form.email.data, row.form.label.data) for row in form.emails],
        phones=[(row.form.number.data, row.form.label.data) for row in form.phones],
        tag_ids=list(form.tags.data or []),
        owner_id=form.owner_id.data if "owner_id" in form else None)


def _attach_error(form, exc):
    field = exc.field or ""
    if field.startswith("emails-"):
        index = int(field.split("-")[1])
        form.emails[index].form.email.errors.append(str(exc))
    elif field and field in form:
        form[field].errors = list(form[field].errors) + [str(exc)]
    else:
        form.form_errors.append(str(exc))


def _render_form(form, contact):
    tags = svc.visible_tags(current_user)
    return render_template("crm/contacts_form.html", form=form, contact=contact, tags=tags,
                           private=TAG_PRIVATE,
                           title=f"Edit {contact.full_name}" if contact else "New contact")


@bp.route("/contacts/new", methods=["GET", "POST"])
@login_required
def contact_new():
    form = _build_form()
    if form.validate_on_submit():
        try:
            contact = svc.save_contact(current_user, _form_data(form), today=_viewer_today())
        except svc.ContactError as exc:
            _attach_error(form, exc)
        else:
            db.session.commit()
            flash(f"Contact {contact.full_name} created.", "success")
            return redirect(url_for("crm.contact_detail", contact_id=contact.id))
    return _render_form(form, None)


@bp.get("/contacts/<int:contact_id>")
@login_required
def contact_detail(contact_id):
    contact = _contact_or_404(contact_id)
    return render_template("crm/contacts_detail.html", contact=contact, title=contact.full_name,
                           tags=svc.contact_tags_for(contact, current_user),
                           activities=annotate(svc.invited_activities(contact, current_user)),
                           can_edit=svc.can_edit_contact(current_user, contact))


@bp.route("/contacts/<int:contact_id>/edit", methods=["GET", "POST"])
@login_required
def contact_edit(contact_id):
    contact = _contact_or_404(contact_id)
    if not svc.can_edit_contact(current_user, contact):
        abort(403)
    form = _build_form(contact)
    if form.validate_on_submit():
        if form.version.data and form.version.data != str(contact.version):
            # Someone saved in between: keep this person's input, but make them look first.
            form.version.data = str(contact.version)
            form.form_errors.append(
                "Someone else changed this contact while you were editing it. Check the "
                "contact in another tab, then save again to keep your version.")
        else:
            try:
                svc.save_contact(current_user, _form_data(form), contact=contact,
                                 today=_viewer_today())
            except svc.ContactError as exc:
                _attach_error(form, exc)
            else:
                db.session.commit()
                flash(f"Contact {contact.full_name} saved.", "success")
                return redirect(url_for("crm.contact_detail", contact_id=contact.id))
    return _render_form(form, contact)


@bp.route("/contacts/<int:contact_id>/delete", methods=["GET", "POST"])
@login_required
def contact_delete(contact_id):
    contact = _contact_or_404(contact_id)
    if not svc.can_edit_contact(current_user, contact):
        abort(403)
    form = EmptyForm()
    if form.validate_on_submit():
        name = contact.full_name
        svc.delete_contact(current_user, contact)
        db.session.commit()
        flash(f"Contact {name} deleted.", "success")
        return redirect(url_for("crm.contact_list"))
    return render_template("crm/contacts_delete.html", contact=contact, form=form,
                           invited=len(contact.activities), title=f"Delete {contact.full_name}")


# --- tags -----------------------------------------------------------------------------------

def _visible_tag_or_404(tag_id):
    return svc.get_visible_tag(tag_id, current_user) or abort(404)


@bp.route("/tags", methods=["GET", "POST"])
@login_required
def tag_list():
    form = TagForm()
    form.visibility.choices = svc.tag_visibility_choices(current_user)
    if form.validate_on_submit():
        try:
            tag = svc.create_tag(current_user, form.name.data, form.visibility.data)
        except svc.TagError as exc:
            form.name.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Tag \u201c{tag.name}\u201d created.", "success")
            return redirect(url_for("crm.tag_list"))
    tags = svc.visible_tags(current_user)
    return render_template("crm/tags_list.html", form=form, tags=tags, title="Tags",
                           usage=svc.tag_usage(current_user, tags),
                           can_manage=lambda t: svc.can_manage_tag(current_user, t))


@bp.route("/tags/<int:tag_id>/edit", methods=["GET", "POST"])
@login_required
def tag_edit(tag_id):
    tag = _visible_tag_or_404(tag_id)
    if not svc.can_manage_tag(current_user, tag):
        abort(403)
    form = TagRenameForm(obj=tag)
    if form.validate_on_submit():
        try:
            svc.rename_tag(current_user, tag, form.name.data)
        except svc.TagError as exc:
            form.name.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Tag renamed to \u201c{tag.name}\u201d.", "success")
            return redirect(url_for("crm.tag_list"))
    return render_template("crm/tags_form.html", form=form, tag=tag, title="Rename tag")


@bp.route("/tags/<int:tag_id>/delete", methods=["GET", "POST"])
@login_required
def tag_delete(tag_id):
    tag = _visible_tag_or_404(tag_id)
    if not svc.can_manage_tag(current_user, tag):
        abort(403)
    form = EmptyForm()
    if form.validate_on_submit():
        name = tag.name
        svc.delete_tag(current_user, tag)
        db.session.commit()
        flash(f"Tag \u201c{name}\u201d deleted.", "success")
        return redirect(url_for("crm.tag_list"))
    usage = svc.tag_usage(current_user, [tag]).get(tag.id, 0)
    return render_template("crm/tags_delete.html", form=form, tag=tag, usage=usage,
                           title="Delete tag")


# --- activity-type picklist (admins) ----------------------------------------------------------

def _type_or_404(type_id):
    return db.session.get(ActivityType, type_id) or abort(404)


def _render_types(add_form, rename_errors=None, rename_values=None, status=200,
                  color_errors=None, color_values=None):
    return render_template(
        "crm/activity_types.html", title="Activity types", form=add_form,
        types=types_svc.all_activity_types(), usage=types_svc.usage_counts(),
        rename_errors=rename_errors or {}, rename_values=rename_values or {},
        color_errors=color_errors or {}, color_values=color_values or {},
        button_form=EmptyForm()), status


@bp.route("/admin/activity-types", methods=["GET", "POST"])
@admin_required
def activity_types():
    form = ActivityTypeNameForm()
    if form.validate_on_submit():
        try:
            added = types_svc.add_activity_type(form.name.data)
        except types_svc.ActivityTypeError as exc:
            form.name.errors.append(str(exc))
        else:
            db.session.commit()
            flash(f"Activity type \u201c{added.name}\u201d added.", "success")
            return redirect(url_for("crm.activity_types"))
    return _render_types(form, status=422 if form.errors else 200)


@bp.post("/admin/activity-types/<int:type_id>/rename")
@admin_required
def activity_type_rename(type_id):
    activity_type = _type_or_404(type_id)
    form = ActivityTypeNameForm()
    error = None
    if form.validate_on_submit():
        old = activity_type.name
        try:
            types_svc.rename_activity_type(activity_type, form.name.data)
        except types_svc.ActivityTypeError as exc:
            error = str(exc)
        else:
            db.session.commit()
            if old != activity_type.name:
                flash(f"\u201c{old}\u201d renamed to \u201c{activity_type.name}\u201d.", "success")
            return redirect(url_for("crm.activity_types"))
    else:
        error = "; ".join(form.name.errors) or "The form expired; try again."
    db.session.rollback()
    return _render_types(ActivityTypeNameForm(formdata=None), {type_id: error},
                         {type_id: form.name.data}, status=422)


@bp.post("/admin/activity-types/<int:type_id>/color")
@admin_required
def activity_type_color(type_id):
    activity_type = _type_or_404(type_id)
    form = ActivityTypeColorForm()
    if form.validate_on_submit():
        try:
            types_svc.set_activity_type_color(activity_type, form.color.data)
        except types_svc.ActivityTypeError as exc:
            error = str(exc)
        else:
            db.session.commit()
            flash(f"\u201c{activity_type.name}\u201d now shows in {activity_type.color}.",
                  "success")
            return redirect(url_for("crm.activity_types", _anchor=f"type-{type_id}"))
    else:
        error = "The form expired; try again."
    db.session.rollback()
    # An invalid value is shown back as typed (as text: a colour input cannot hold it).
    return _render_types(ActivityTypeNameForm(formdata=None), status=422,
                         color_errors={type_id: error},
                         color_values={type_id: (form.color.data or "")[:32]})


@bp.post("/admin/activity-types/<int:type_id>/move")
@admin_required
def activity_type_move(type_id):
    activity_type = _type_or_404(type_id)
    if EmptyForm().validate_on_submit():
        offset = -1 if request.form.get("direction") == "up" else 1
        types_svc.move_activity_type(activity_type, offset)
        db.session.commit()
    return redirect(url_for("crm.activity_types", _anchor=f"type-{type_id}"))


@bp.post("/admin/activity-types/<int:type_id>/active")
@admin_required
def activity_type_toggle(type_id):
    activity_type = _type_or_404(type_id)
    if EmptyForm().validate_on_submit():
        try:
            types_svc.set_activity_type_active(activity_type, not activity_type.active)
        except types_svc.ActivityTypeError as exc:
            flash(str(exc), "danger")
        else:
            db.session.commit()
            state = "reactivated" if activity_type.active else (
                "deactivated: it is hidden from new activities and kept on existing ones")
            flash(f"\u201c{activity_type.name}\u201d {state}.", "success")
    return redirect(url_for("crm.activity_types"))


@bp.route("/admin/activity-types/<int:type_id>/delete", methods=["GET", "POST"])
@admin_required
def activity_type_delete(type_id):
    activity_type = _type_or_404(type_id)
    form = EmptyForm()
    if form.validate_on_submit():
        name = activity_type.name
        try:
            types_svc.delete_activity_type(activity_type)
        except types_svc.ActivityTypeError as exc:
            flash(str(exc), "danger")
            return redirect(url_for("crm.activity_types"))
        db.session.commit()
        flash(f"Activity type \u201c{name}\u201d deleted.", "success")
        return redirect(url_for("crm.activity_types"))
    return render_template("crm/activity_types_delete.html", form=form,
                           activity_type=activity_type,
                           used=types_svc.usage_count(activity_type),
                           title=f"Delete {activity_type.name}")
