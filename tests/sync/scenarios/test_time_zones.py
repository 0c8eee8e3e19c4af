"""Time zones and DST end to end: times typed in a DST gap, events in the repeated hour,
Lord Howe's 30-minute DST, events whose zone is not the user's, and users who change their
profile zone (googlesim, real client, RQ worker, the real forms)."""
from datetime import datetime
from zoneinfo import ZoneInfo

from portal.sync.calendar.engine import google_event_id

from scenario_kit import (UTC, activities, create_activity_via_form, crm_calendar, edit,
                          fresh, google_starts, live, post_form_page, submit_activity_form,
                          when)

BERLIN = "Europe/Berlin"


def instant(event, key="start"):
    return datetime.fromisoformat(event[key]["dateTime"]).astimezone(UTC)


def test_a_time_typed_in_the_spring_gap_reaches_google_as_the_saved_instant(
        connect_user, sync, browser, activity_types, sim):
    ann, mapping = connect_user()
    response = create_activity_via_form(
        browser(ann), subject="Night deploy", activity_type_id=activity_types["Meeting"].id,
        start_date="2031-03-30", start_time="02:30", end_date="2031-03-30", end_time="04:00")
    assert response.status_code == 302
    [activity] = activities()
    assert activity.start_at == datetime(2031, 3, 30, 1, 30, tzinfo=UTC)  # 03:30 CEST
    assert sync(mapping).created == 1
    [event] = live(sim, ann.email)
    assert event["start"]["dateTime"] == "2031-03-30T03:30:00+02:00"
    assert instant(event, "end") == activity.end_at


def test_lord_howe_half_hour_gap_typed_in_the_form(connect_user, sync, browser, activity_types,
                                                    sim):
    ann, mapping = connect_user(time_zone="Australia/Lord_Howe")
    response = create_activity_via_form(
        browser(ann), subject="Reef survey", activity_type_id=activity_types["Meeting"].id,
        start_date="2031-10-05", start_time="02:15", end_date="2031-10-05", end_time="03:30")
    assert response.status_code == 302
    [activity] = activities()
    # 02:15 does not exist (02:00 -> 02:30): saved as the instant shown as 02:45
    assert activity.start_at.astimezone(ZoneInfo("Australia/Lord_Howe")).strftime(
        "%H:%M %z") == "02:45 +1100"
    sync(mapping)
    [event] = live(sim, ann.email)
    assert instant(event) == activity.start_at
    assert event["start"]["timeZone"] == "Australia/Lord_Howe"


def test_an_event_in_another_zone_keeps_its_instant_through_a_form_edit(connect_user, sim, sync,
                                                                   browser):
    """A Tokyo meeting in a Berlin user's calendar: the CRM shows it at the right instant,
    and a CRM edit of its title leaves Google's time and zone alone."""
    ann, mapping = connect_user()
    made = sim.insert_event(ann.email, ann.email, {
        "summary": "Tokyo call", "start": when("2031-07-01T09:00:00", "Asia/Tokyo"),
        "end": when("2031-07-01T10:00:00", "Asia/Tokyo")})
    sync(mapping)
    [activity] = activities()
    assert activity.start_at == datetime(2031, 7, 1, 0, 0, tzinfo=UTC)
    response = submit_activity_form(browser(ann), activity.id, subject="Tokyo call (agenda)")
    assert response.status_code == 302
    assert sync(mapping).errors == 0
    event = sim.get_event(ann.email, ann.email, made["id"])
    assert event["summary"] == "Tokyo call (agenda)"
    assert instant(event) == datetime(2031, 7, 1, 0, 0, tzinfo=UTC)
    assert instant(event, "end") == datetime(2031, 7, 1, 1, 0, tzinfo=UTC)


def test_a_flight_across_zones_keeps_both_ends(connect_user, sim, sync):
    ann, mapping = connect_user()
    made = sim.insert_event(ann.email, ann.email, {
        "summary": "Flight BER-JFK", "start": when("2031-07-01T10:00:00", BERLIN),
        "end": when("2031-07-01T13:00:00", "America/New_York")})
    sync(mapping)
    [activity] = activities()
    assert (activity.start_at, activity.end_at) == (
        datetime(2031, 7, 1, 8, tzinfo=UTC), datetime(2031, 7, 1, 17, tzinfo=UTC))
    edit(activity, location="Gate B12")
    assert sync(mapping).errors == 0
    event = sim.get_event(ann.email, ann.email, made["id"])
    assert event["location"] == "Gate B12"
    assert event["end"] == {"dateTime": "2031-07-01T13:00:00-04:00",
                            "timeZone": "America/New_York"}
    assert event["start"]["dateTime"] == "2031-07-01T10:00:00+02:00"


def test_a_user_moving_to_another_zone_changes_nothing_in_google(
        connect_user, make_activity, sim, sync, browser):
    ann, mapping = connect_user()
    single = make_activity(ann, subject="Single", start=datetime(2031, 3, 25, 9, tzinfo=UTC))
    series = make_activity(ann, subject="Weekly", start=datetime(2031, 3, 24, 9, tzinfo=UTC),
                           recurrence="RRULE:FREQ=WEEKLY;COUNT=3")
    sync(mapping)
    series_id = google_event_id(series.uid)
    before = google_starts(ann, series_id)
    assert [s.astimezone(ZoneInfo(BERLIN)).hour for s in before] == [10, 10, 10]
    client = browser(ann)
    response = post_form_page(client, "/profile", {"time_zone": "America/New_York"},
                              has_field="time_zone", button="submit")
    assert response.status_code == 302
    assert fresh(single).organizer.time_zone == "America/New_York"
    sim.stats_reset()
    run = sync(mapping)
    assert (run.updated, run.created, run.deleted) == (0, 0, 0)
    assert sim.stats()["batch_parts"] == 0
    # descriptions edited from New York: the times stay where they were
    assert submit_activity_form(client, single.id, description="from NY").status_code == 302
    assert submit_activity_form(client, series.id, description="from NY").status_code == 302
    assert sync(mapping).errors == 0
    assert instant(sim.get_event(ann.email, ann.email, google_event_id(single.uid))) == \
        datetime(2031, 3, 25, 9, tzinfo=UTC)
    assert google_starts(ann, series_id) == before  # still 10:00 Berlin, across DST
    window = (datetime(2031, 3, 1, tzinfo=UTC), datetime(2031, 5, 1, tzinfo=UTC))
    assert [w for w, s in crm_calendar(fresh(single).organizer, *window) if s == "Weekly"] == \
        before


def test_a_calendar_in_another_zone_than_the_profile(connect_user, sim, sync):
    """Ann's CRM profile says Berlin but her Google calendar runs on Los Angeles time: an
    event Google answers in the calendar's zone lands at the right instant, and an all-day
    event keeps its date."""
    ann, mapping = connect_user()
    sim.create_account("ann@example.com", time_zone="America/Los_Angeles")
    sim.insert_event(ann.email, ann.email, {
        "summary": "LA breakfast", "start": {"dateTime": "2031-07-01T08:00:00-07:00"},
        "end": {"dateTime": "2031-07-01T09:00:00-07:00"}})
    sim.insert_event(ann.email, ann.email, {
        "summary": "Independence Day", "start": {"date": "2031-07-04"},
        "end": {"date": "2031-07-05"}})
    assert sync(mapping).errors == 0
    shown = {a.subject: a for a in activities()}
    assert shown["LA breakfast"].start_at == datetime(2031, 7, 1, 15, tzinfo=UTC)
    holiday = shown["Independence Day"]
    assert (holiday.all_day, holiday.start_date.isoformat(), holiday.end_date.isoformat()) == \
        (True, "2031-07-04", "2031-07-04")
