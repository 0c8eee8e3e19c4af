"""CRM pages. (Placeholder views; the calendar and activity forms replace these.)"""
from flask import Blueprint, render_template
from flask_login import login_required

bp = Blueprint("crm", __name__)


@bp.get("/")
@login_required
def calendar():
    return render_template("crm/placeholder.html", title="Calendar")


@bp.get("/activities")
@login_required
def activity_list():
    return render_template("crm/placeholder.html", title="Activities")
