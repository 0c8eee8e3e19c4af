"""Busy times beside the activity form's time fields (Google freeBusy, see
portal/google/busy.py): computed once per form render, and again through a small JSON
endpoint when the person changes the people or the day (static/busy_times.js)."""
from flask import jsonify, request
from flask_login import current_user, login_required

from portal.core import params
from portal.core.timezones import local_now
from portal.crm import activities as services
from portal.crm.blueprint import bp
from portal.extensions import db


def _zone():
    return current_user.time_zone or "UTC"


def _today():
    return local_now(_zone()).date()


#: at most this many people's busy times per request (Google answers 50 calendars a query)
BUSY_PEOPLE_MAX = 50


def _busy_people(organizer_id, participant_ids, activity=None):
    """The organizer and participants among the users ``current_user`` may pick (anyone
    else's id is ignored: nobody learns about users they cannot see)."""
    users = {u.id: u for u in services.assignable_users(current_user, activity)}
    ids = [organizer_id] + [i for i in participant_ids if i != organizer_id]
    return [users[i] for i in ids if i in users][:BUSY_PEOPLE_MAX]


def busy_for_form(form, activity):
    """Busy times beside the form's time fields: one freeBusy call per render."""
    from portal.google import busy as busy_times

    organizer_id = form.organizer_id.data if isinstance(form.organizer_id.data, int) \
        else (activity.organizer_id if activity is not None else current_user.id)
    participants = [i for i in (form.participants.data or []) if isinstance(i, int)]
    day = params.bounded_date(form.start_date.data) or _today()
    result = busy_times.busy_times(current_user._get_current_object(),
                                   _busy_people(organizer_id, participants, activity),
                                   day, _zone())
    db.session.commit()  # a refreshed access token is kept (nothing else is pending)
    return result


@bp.get("/activities/busy-times")
@login_required
def busy_times_json():
    """The form's busy times again after a participant or date change (busy_times.js)."""
    from portal.google import busy as busy_times

    day = params.parse_date(request.args.get("date"))
    if day is None:
        return jsonify({"error": "Give the day as date=YYYY-MM-DD."}), 400
    ids = []
    for value in request.args.getlist("user")[:BUSY_PEOPLE_MAX + 1]:
        parsed = params.parse_int(value)
        if parsed is None:
            return jsonify({"error": "user must be a user id."}), 400
        ids.append(parsed)
    if not ids:
        ids = [current_user.id]
    activity = None
    activity_id = request.args.get("activity")
    if activity_id:
        parsed = params.parse_int(activity_id)
        activity = services.get_visible(current_user, parsed) if parsed else None
    result = busy_times.busy_times(current_user._get_current_object(),
                                   _busy_people(ids[0], ids[1:], activity), day, _zone())
    db.session.commit()  # a refreshed access token is kept (nothing else is pending)
    response = jsonify(result.as_json())
    response.headers["Cache-Control"] = "no-store"
    return response
