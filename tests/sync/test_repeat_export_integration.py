"""A weekly series typed into the activity form reaches Google (googlesim, real client) as
one recurring event whose instances stay at 10:00 Berlin time across the end of summer
time."""
from sqlalchemy import select

from portal.crm.models import Activity
from portal.extensions import db
from portal.google import services as google_services
from portal.sync.calendar.engine import google_event_id


def test_weekly_series_from_the_form_repeats_at_local_time_across_dst(
        connect_user, sync, sim, client, login, activity_types):
    ann, mapping = connect_user(time_zone="Europe/Berlin")
    login(client, ann)
    # Mondays 10:00-11:00 Berlin from 19 Oct 2026, four times; clocks go back on 25 Oct.
    response = client.post_form("/activities/new", {
        "subject": "Weekly planning", "activity_type_id": str(activity_types["Meeting"].id),
        "status": "Planned", "priority": "Medium", "start_date": "2026-10-19",
        "start_time": "10:00", "end_date": "2026-10-19", "end_time": "11:00",
        "show_in_calendar": "y", "visibility": "default", "repeat_freq": "WEEKLY",
        "repeat_interval": "1", "repeat_weekdays": "MO", "repeat_ends": "count",
        "repeat_count": "4"})
    assert response.status_code == 302

    run = sync(mapping)
    assert run.status == "succeeded" and run.errors == 0
    activity = db.session.scalars(select(Activity)).one()
    event_id = google_event_id(activity.uid)
    event = sim.get_event(ann.email, ann.email, event_id)
    assert event["recurrence"] == ["RRULE:FREQ=WEEKLY;BYDAY=MO;COUNT=4"]
    assert event["start"]["timeZone"] == "Europe/Berlin"

    calendar = google_services.client_for(ann).calendar
    instances = calendar.events().instances(calendarId=ann.email, eventId=event_id).execute()
    starts = sorted(i["start"]["dateTime"] for i in instances["items"])
    assert starts == ["2026-10-19T10:00:00+02:00", "2026-10-26T10:00:00+01:00",
                      "2026-11-02T10:00:00+01:00", "2026-11-09T10:00:00+01:00"]
