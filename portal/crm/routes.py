"""CRM pages. (Placeholder views; the calendar and activity forms replace these.)"""
from flask import render_template
from flask_login import login_required

from portal.crm import contact_routes  # noqa: F401  (registers the contact views on bp)
from portal.crm.blueprint import bp


@bp.get("/")
@login_required
def calendar():
    return render_template("crm/placeholder.html", title="Calendar")


@bp.get("/activities")
@login_required
def activity_list():
    return render_template("crm/placeholder.html", title="Activities")
