"""The activity form changes only what the person changed: values shown coarser than stored
(seconds), rules the Repeat section shows differently, several lines of a location and every
reminder survive an edit of another field; validation never blocks an unrelated edit."""
import re
from datetime import datetime, timedelta, timezone

from portal.crm.models import Activity
from portal.crm.reminders import Reminders
from portal.extensions import db

UTC = timezone.utc


def form_of(client, activity):
    """The edit form as a browser would post it back untouched."""
    html = client.get(f"/activities/{activity.id}/edit").get_data(as_text=True)
    data = {}
    for match in re.finditer(r'<input([^>]*)>', html):
        attrs = match.group(1)
        name = re.search(r'name="([^"]+)"', attrs)
        if not name or 'type="submit"' in attrs:
            continue
        value = re.search(r'value="([^"]*)"', attrs)
        kind = re.search(r'type="([^"]+)"', attrs)
        if kind and kind.group(1) in ("checkbox", "radio"):
            if "checked" in attrs:
                data.setdefault(name.group(1), []).append(value.group(1) if value else "y")
            continue
        data[name.group(1)] = value.group(1) if value else ""
    for match in re.finditer(r'<textarea[^>]*name="([^"]+)"[^>]*>(.*?)</textarea>', html, re.S):
        data[match.group(1)] = match.group(2).lstrip("\r\n").replace("&#34;", '"')
    for match in re.finditer(r'(<select[^>]*name="([^"]+)"[^>]*>)(.*?)</select>', html, re.S):
        chosen = [re.search(r'value="([^"]*)"', option).group(1)
                  for option in re.findall(r'<option[^>]*>', match.group(3))
                  if re.search(r'\bselected\b', option)]
        data[match.group(2)] = chosen if "multiple" in match.group(1) else (
            chosen[0] if chosen else "")
    return data


def post_back(client, activity, **changes):
    data = form_of(client, activity)
    data.update(changes)
    data.pop("csrf_token", None)
    return client.post_form(f"/activities/{activity.id}/edit", data,
                            page=f"/activities/{activity.id}/edit")


def test_a_description_edit_keeps_the_seconds_the_form_does_not_show(
        client, login, make_user, make_activity):
    ann = make_user(time_zone="Europe/Berlin")
    start = datetime(2031, 5, 6, 9, 22, 33, tzinfo=UTC)
    activity = make_activity(ann, start=start, minutes=30)
    activity.end_at = start + timedelta(minutes=30, seconds=7)
    db.session.commit()
    login(client, ann)
    assert post_back(client, activity, description="Agenda").status_code == 302
    db.session.expire_all()
    saved = db.session.get(Activity, activity.id)
    assert saved.description == "Agenda"
    assert saved.start_at == start and saved.end_at == start + timedelta(minutes=30, seconds=7)
    # a real change of the time is taken as typed
    assert post_back(client, saved, start_time="11:45").status_code == 302
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).start_at == datetime(2031, 5, 6, 9, 45,
                                                                      tzinfo=UTC)


def test_a_series_starting_off_its_weekdays_can_still_be_edited(client, login, make_user,
                                                                make_activity):
    """Google allows a weekly series on Mondays to start on a Tuesday (its first occurrence
    is its start); a description edit must not be refused with "tick Tue too"."""
    ann = make_user(time_zone="Europe/Berlin")
    tuesday = datetime(2031, 5, 6, 8, tzinfo=UTC)
    activity = make_activity(ann, start=tuesday, time_zone="Europe/Berlin",
                             recurrence="RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4")
    login(client, ann)
    response = post_back(client, activity, description="Standing agenda")
    assert response.status_code == 302, re.findall(r'invalid-feedback[^>]*>([^<]+)',
                                                   response.get_data(as_text=True))
    db.session.expire_all()
    saved = db.session.get(Activity, activity.id)
    assert saved.description == "Standing agenda"
    assert saved.recurrence == "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4"


def test_several_lines_of_a_location_and_every_reminder_survive_another_edit(
        client, login, make_user, make_activity):
    ann = make_user()
    activity = make_activity(ann, location="Acme GmbH\nHauptstr. 1\n10115 Berlin")
    activity.reminders = Reminders.of(False, [("email", 1440), ("popup", 10), ("popup", 30)])
    db.session.commit()
    login(client, ann)
    assert post_back(client, activity, subject="Renamed").status_code == 302
    db.session.expire_all()
    saved = db.session.get(Activity, activity.id)
    assert saved.subject == "Renamed"
    assert saved.location == "Acme GmbH\nHauptstr. 1\n10115 Berlin"
    assert saved.reminders == Reminders.of(False, [("email", 1440), ("popup", 10),
                                                   ("popup", 30)])


def test_the_calendars_default_reminders_can_be_chosen_and_are_kept(client, login, make_user,
                                                                    make_activity):
    ann = make_user()
    activity = make_activity(ann)
    login(client, ann)
    assert post_back(client, activity, reminders_default="y").status_code == 302
    db.session.expire_all()
    saved = db.session.get(Activity, activity.id)
    assert saved.reminders.use_default
    assert post_back(client, saved, subject="Again").status_code == 302
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).reminders.use_default


def test_moving_a_series_moves_its_exdates(client, login, make_user, make_activity):
    """An occurrence taken out of a series stays out when the series moves 10:00 -> 11:00."""
    ann = make_user(time_zone="Europe/Berlin")
    start = datetime(2031, 5, 5, 8, tzinfo=UTC)  # a Monday, 10:00 in Berlin
    activity = make_activity(ann, start=start, time_zone="Europe/Berlin", recurrence=(
        "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4\nEXDATE;TZID=Europe/Berlin:20310512T100000\n"
        "EXDATE:20310519T080000Z"))
    login(client, ann)
    assert post_back(client, activity, start_time="11:00", end_time="12:00").status_code == 302
    db.session.expire_all()
    assert db.session.get(Activity, activity.id).recurrence.splitlines() == [
        "RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4", "EXDATE;TZID=Europe/Berlin:20310512T110000",
        "EXDATE:20310519T090000Z"]
