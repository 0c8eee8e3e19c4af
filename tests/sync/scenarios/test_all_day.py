"""All-day activities end to end: Google's exclusive end dates, users far from UTC on both
sides of the date line, switching between all-day and timed on either side, all-day series
(googlesim, real client, RQ worker, the real forms)."""
from datetime import date, datetime

from portal.sync.calendar.engine import google_event_id

from scenario_kit import (UTC, activities, create_activity_via_form, crm_calendar, edit,
                          fresh, google_instances, live, submit_activity_form)


def dates(activity):
    return (activity.all_day, activity.start_date, activity.end_date)


def test_multi_day_all_day_round_trips_with_the_exclusive_end_and_settles(
        connect_user, make_activity, sim, sync):
    ann, mapping = connect_user()
    offsite = make_activity(ann, subject="Offsite", all_day=True,
                            start_date=date(2031, 12, 30), end_date=date(2032, 1, 2))
    sync(mapping)
    [event] = live(sim, ann.email)
    assert (event["start"], event["end"]) == ({"date": "2031-12-30"}, {"date": "2032-01-03"})
    sim.stats_reset()
    run = sync(mapping)
    assert (run.created, run.updated) == (0, 0) and sim.stats()["batch_parts"] == 0
    sim.patch_event(ann.email, ann.email, event["id"], {"end": {"date": "2032-01-04"}})
    sync(mapping)
    assert dates(fresh(offsite)) == (True, date(2031, 12, 30), date(2032, 1, 3))


def test_all_day_dates_are_the_same_for_users_either_side_of_the_date_line(
        connect_user, sim, sync, browser, activity_types):
    ann, ann_map = connect_user("ann@example.com", time_zone="Pacific/Kiritimati")  # UTC+14
    bob, bob_map = connect_user("bob@example.com", time_zone="Pacific/Pago_Pago")  # UTC-11
    response = create_activity_via_form(
        browser(ann), subject="New Year's Eve", activity_type_id=activity_types["Meeting"].id,
        all_day="y", start_date="2031-12-31", end_date="2031-12-31", participants=[bob.id])
    assert response.status_code == 302
    sync(ann_map)
    sync(bob_map)
    for owner in (ann.email, bob.email):
        [event] = live(sim, owner)
        assert (event["start"], event["end"]) == ({"date": "2031-12-31"}, {"date": "2032-01-01"})
    [activity] = activities()
    assert dates(activity) == (True, date(2031, 12, 31), date(2031, 12, 31))
    window = (datetime(2031, 12, 29, tzinfo=UTC), datetime(2032, 1, 3, tzinfo=UTC))
    assert crm_calendar(bob, *window) == [(date(2031, 12, 31), "New Year's Eve")]
    assert crm_calendar(ann, *window) == [(date(2031, 12, 31), "New Year's Eve")]


def test_timed_in_google_then_all_day_again_in_the_crm(connect_user, sim, sync, browser):
    ann, mapping = connect_user()
    made = sim.insert_event(ann.email, ann.email, {
        "summary": "Holiday", "start": {"date": "2031-08-04"}, "end": {"date": "2031-08-06"}})
    sync(mapping)
    [activity] = activities()
    assert dates(activity) == (True, date(2031, 8, 4), date(2031, 8, 5))
    # in Google's own page the user gives it a time
    sim.patch_event(ann.email, ann.email, made["id"], {
        "start": {"dateTime": "2031-08-04T09:00:00+02:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2031-08-04T17:00:00+02:00", "timeZone": "Europe/Berlin"}})
    sync(mapping)
    activity = fresh(activity)
    assert (activity.all_day, activity.start_at) == (False, datetime(2031, 8, 4, 7, tzinfo=UTC))
    # and makes it all-day again in the CRM
    response = submit_activity_form(browser(ann), activity.id, all_day="y",
                                    start_date="2031-08-04", end_date="2031-08-05")
    assert response.status_code == 302
    assert sync(mapping).errors == 0
    event = sim.get_event(ann.email, ann.email, made["id"])
    assert event["start"] == {"date": "2031-08-04"} and event["end"] == {"date": "2031-08-06"}


def test_all_day_across_a_dst_change_keeps_its_dates(connect_user, make_activity, sim, sync):
    ann, mapping = connect_user()
    trip = make_activity(ann, subject="Trip", all_day=True, start_date=date(2031, 3, 29),
                         end_date=date(2031, 3, 31))
    sync(mapping)
    event = sim.get_event(ann.email, ann.email, google_event_id(trip.uid))
    assert (event["start"], event["end"]) == ({"date": "2031-03-29"}, {"date": "2031-04-01"})
    edit(trip, subject="Trip to Rome")
    sync(mapping)
    event = sim.get_event(ann.email, ann.email, google_event_id(trip.uid))
    assert (event["start"], event["end"]) == ({"date": "2031-03-29"}, {"date": "2031-04-01"})
    assert dates(fresh(trip)) == (True, date(2031, 3, 29), date(2031, 3, 31))


def test_month_end_all_day_series_with_a_cancelled_occurrence(connect_user, sim, sync):
    """Closing the books on the 31st: months without a 31st are skipped; one occurrence is
    cancelled in Google and stays cancelled through a CRM edit."""
    ann, mapping = connect_user()
    made = sim.insert_event(ann.email, ann.email, {
        "summary": "Month-end close", "start": {"date": "2031-10-31"},
        "end": {"date": "2031-11-01"}, "recurrence": ["RRULE:FREQ=MONTHLY;BYMONTHDAY=31;COUNT=4"]})
    sync(mapping)
    sim.delete_event(ann.email, ann.email, made["id"] + "_20311231")
    assert sync(mapping).errors == 0
    [series] = activities()
    assert "EXDATE;VALUE=DATE:20311231" in series.recurrence.splitlines()
    edit(series, subject="Month-end close 🎉")
    assert sync(mapping).errors == 0
    expected = ["2031-10-31", "2032-01-31", "2032-03-31"]
    assert [i["start"]["date"] for i in google_instances(ann, made["id"])] == expected
    window = (datetime(2031, 10, 1, tzinfo=UTC), datetime(2032, 5, 1, tzinfo=UTC))
    assert [d.isoformat() for d, _ in crm_calendar(ann, *window)] == expected


def test_an_all_day_event_edited_through_the_form_by_a_user_far_from_utc(
        connect_user, sim, sync, browser):
    ann, mapping = connect_user(time_zone="Pacific/Kiritimati")
    made = sim.insert_event(ann.email, ann.email, {
        "summary": "Inventory", "start": {"date": "2031-09-01"}, "end": {"date": "2031-09-02"}})
    sync(mapping)
    [activity] = activities()
    response = submit_activity_form(browser(ann), activity.id, description="Count everything")
    assert response.status_code == 302
    assert sync(mapping).errors == 0
    event = sim.get_event(ann.email, ann.email, made["id"])
    assert (event["start"], event["end"]) == ({"date": "2031-09-01"}, {"date": "2031-09-02"})
    assert event["description"] == "Count everything"
    assert dates(fresh(activity)) == (True, date(2031, 9, 1), date(2031, 9, 1))
