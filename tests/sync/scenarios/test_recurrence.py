"""Recurring series end to end: COUNT and UNTIL rules, truncation, moved and cancelled
occurrences, series moved or deleted on either side, and DST gaps (googlesim, real client,
RQ worker). What is checked is what each calendar shows: Google's instances and the CRM's
occurrences."""
from datetime import datetime, timedelta

import pytest

from portal.sync.calendar.engine import google_event_id

from scenario_kit import (UTC, activities, crm_calendar, edit, fresh, google_instances,
                          google_starts, live, submit_activity_form, when)

BERLIN = "Europe/Berlin"
MONDAY = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)  # Monday 3 March 2031, 10:00 in Berlin
SPRING = (datetime(2031, 2, 1, tzinfo=UTC), datetime(2031, 6, 1, tzinfo=UTC))


def weekly_from_google(sim, email, count=4, summary="Weekly"):
    return sim.insert_event(email, email, {
        "summary": summary, "start": when("2031-03-03T10:00:00", BERLIN),
        "end": when("2031-03-03T11:00:00", BERLIN),
        "recurrence": [f"RRULE:FREQ=WEEKLY;COUNT={count}"]})


def move_second_cancel_third(sim, email, series_id):
    """In Google: move the 10 March occurrence to Tuesday 15:00 and cancel 17 March."""
    sim.patch_event(email, email, series_id + "_20310310T090000Z", {
        "summary": "Weekly (moved)", "start": when("2031-03-11T15:00:00", BERLIN),
        "end": when("2031-03-11T16:00:00", BERLIN)})
    sim.delete_event(email, email, series_id + "_20310317T090000Z")


def test_count_series_truncated_with_the_form_is_truncated_in_google(
        connect_user, make_activity, sync, browser):
    ann, mapping = connect_user()
    series = make_activity(ann, subject="Weekly", start=MONDAY,
                           recurrence="RRULE:FREQ=WEEKLY;COUNT=6")
    sync(mapping)
    event_id = google_event_id(series.uid)
    assert len(google_starts(ann, event_id)) == 6
    response = submit_activity_form(browser(ann), series.id, repeat_count=3)
    assert response.status_code == 302
    assert sync(mapping).errors == 0
    expected = [MONDAY + timedelta(weeks=n) for n in range(3)]
    assert google_starts(ann, event_id) == expected
    assert [when for when, _ in crm_calendar(ann, *SPRING)] == expected


def test_until_series_from_google_keeps_its_rule_through_a_form_edit(
        connect_user, sim, sync, browser):
    ann, mapping = connect_user()
    rule = "RRULE:FREQ=DAILY;UNTIL=20310607T215959Z"
    made = sim.insert_event(ann.email, ann.email, {
        "summary": "Sprint", "start": when("2031-06-02T10:00:00", BERLIN),
        "end": when("2031-06-02T10:15:00", BERLIN), "recurrence": [rule]})
    sync(mapping)
    [series] = activities()
    google_before = google_starts(ann, made["id"])
    assert len(google_before) == 6
    window = (datetime(2031, 5, 1, tzinfo=UTC), datetime(2031, 7, 1, tzinfo=UTC))
    assert [w for w, _ in crm_calendar(ann, *window)] == google_before
    response = submit_activity_form(browser(ann), series.id, description="Stand at the board")
    assert response.status_code == 302
    assert sync(mapping).errors == 0
    event = sim.get_event(ann.email, ann.email, made["id"])
    assert event["description"] == "Stand at the board"
    assert event["recurrence"] == [rule]
    assert google_starts(ann, made["id"]) == google_before
    assert [w for w, _ in crm_calendar(ann, *window)] == google_before


def test_series_truncated_in_google_ends_early_in_the_crm(connect_user, sim, sync):
    ann, mapping = connect_user()
    made = weekly_from_google(sim, ann.email, count=8)
    sync(mapping)
    # Google's "this and following events": the series gets an end
    sim.patch_event(ann.email, ann.email, made["id"], {
        "recurrence": ["RRULE:FREQ=WEEKLY;UNTIL=20310317T225959Z"]})
    assert sync(mapping).errors == 0
    shown = crm_calendar(ann, *SPRING)
    assert [w for w, _ in shown] == [MONDAY + timedelta(weeks=n) for n in range(3)]
    assert google_starts(ann, made["id"]) == [w for w, _ in shown]


def test_moved_and_cancelled_occurrences_show_once_on_both_sides(connect_user, sim, sync):
    ann, mapping = connect_user()
    made = weekly_from_google(sim, ann.email)
    sync(mapping)
    move_second_cancel_third(sim, ann.email, made["id"])
    assert sync(mapping).errors == 0
    shown = crm_calendar(ann, *SPRING)
    assert shown == [
        (MONDAY, "Weekly"),
        (datetime(2031, 3, 11, 14, tzinfo=UTC), "Weekly (moved)"),
        (MONDAY + timedelta(weeks=3), "Weekly")]
    assert google_starts(ann, made["id"]) == [w for w, _ in shown]
    # settled: nothing more to do either way
    run = sync(mapping)
    assert (run.created, run.updated, run.deleted) == (0, 0, 0)


def test_a_moved_occurrence_edited_in_the_crm_changes_only_that_occurrence(
        connect_user, sim, sync, browser):
    ann, mapping = connect_user()
    made = weekly_from_google(sim, ann.email)
    sync(mapping)
    move_second_cancel_third(sim, ann.email, made["id"])
    sync(mapping)
    [moved] = activities(subject="Weekly (moved)")
    response = submit_activity_form(browser(ann), moved.id, location="Room 5")
    assert response.status_code == 302
    assert sync(mapping).errors == 0
    instances = {i["start"]["dateTime"]: i for i in google_instances(ann, made["id"])}
    assert instances["2031-03-11T15:00:00+01:00"].get("location") == "Room 5"
    assert [i.get("location") for k, i in sorted(instances.items())
            if k != "2031-03-11T15:00:00+01:00"] == [None, None]
    assert sim.get_event(ann.email, ann.email, made["id"]).get("location") in (None, "")


def test_an_occurrence_cancelled_in_google_stays_cancelled_when_the_crm_edits_the_series(
        connect_user, make_activity, sim, sync):
    ann, mapping = connect_user()
    series = make_activity(ann, subject="Weekly", start=MONDAY,
                           recurrence="RRULE:FREQ=WEEKLY;COUNT=4")
    sync(mapping)
    event_id = google_event_id(series.uid)
    sim.delete_event(ann.email, ann.email, event_id + "_20310317T090000Z")
    sync(mapping)
    edit(series, subject="Weekly (agenda)", location="Room 1")
    assert sync(mapping).errors == 0
    expected = [MONDAY, MONDAY + timedelta(weeks=1), MONDAY + timedelta(weeks=3)]
    assert google_starts(ann, event_id) == expected
    assert [w for w, _ in crm_calendar(ann, *SPRING)] == expected


@pytest.mark.parametrize("delete_in_crm", [False, True])
def test_series_deleted_in_google_takes_its_moved_occurrence_along(
        connect_user, sim, sync, delete_in_crm):
    ann, mapping = connect_user(delete_in_crm_when_deleted_in_google=delete_in_crm)
    made = weekly_from_google(sim, ann.email)
    sync(mapping)
    move_second_cancel_third(sim, ann.email, made["id"])
    sync(mapping)
    assert len(activities()) == 2
    sim.delete_event(ann.email, ann.email, made["id"])
    assert sync(mapping).errors == 0
    assert live(sim, ann.email) == []
    if delete_in_crm:
        assert activities() == []
    else:
        # kept in the CRM, both of them, and never sent back to Google
        assert sorted(a.subject for a in activities()) == ["Weekly", "Weekly (moved)"]
        run = sync(mapping)
        assert (run.created, run.errors) == (0, 0)
        assert live(sim, ann.email) == []


def test_a_held_series_is_kept_when_google_deletes_it(connect_user, make_activity, sim, sync):
    ann, mapping = connect_user(delete_in_crm_when_deleted_in_google=True)
    series = make_activity(ann, subject="Weekly", start=MONDAY,
                           recurrence="RRULE:FREQ=WEEKLY;COUNT=4")
    sync(mapping)
    edit(series, status="Held")
    sync(mapping)
    sim.delete_event(ann.email, ann.email, google_event_id(series.uid))
    assert sync(mapping).errors == 0
    assert fresh(series) is not None and fresh(series).status == "Held"


def test_dst_gap_occurrence_cancelled_in_google_stays_cancelled(connect_user, sim, sync):
    """A daily series at 02:30 in Berlin: 30 March 2031 has no 02:30 (clocks jump to 03:00);
    Google shows that occurrence at 03:30. Cancelling it in Google cancels it in the CRM,
    and a CRM edit of the series does not bring it back."""
    ann, mapping = connect_user()
    made = sim.insert_event(ann.email, ann.email, {
        "summary": "Night job", "start": when("2031-03-28T02:30:00", BERLIN),
        "end": when("2031-03-28T02:45:00", BERLIN), "recurrence": ["RRULE:FREQ=DAILY;COUNT=5"]})
    sync(mapping)
    starts = google_starts(ann, made["id"])
    gap_day = [s for s in starts if s.astimezone().date().isoformat() == "2031-03-30"
               or s.date().isoformat() == "2031-03-30"]
    assert len(gap_day) == 1
    instance = next(i for i in google_instances(ann, made["id"])
                    if i["start"]["dateTime"].startswith("2031-03-30"))
    sim.delete_event(ann.email, ann.email, instance["id"])
    assert sync(mapping).errors == 0
    expected = [s for s in starts if s != gap_day[0]]
    assert google_starts(ann, made["id"]) == expected
    assert [w for w, _ in crm_calendar(ann, *SPRING)] == expected
    [series] = activities()
    edit(series, subject="Night job (v2)")
    assert sync(mapping).errors == 0
    assert google_starts(ann, made["id"]) == expected
    assert [w for w, _ in crm_calendar(ann, *SPRING)] == expected


def test_series_deleted_in_google_is_kept_held_and_its_moved_occurrence_too(
        connect_user, sim, sync):
    ann, mapping = connect_user(delete_in_crm_when_deleted_in_google=True)
    made = weekly_from_google(sim, ann.email)
    sync(mapping)
    move_second_cancel_third(sim, ann.email, made["id"])
    sync(mapping)
    [moved] = activities(subject="Weekly (moved)")
    edit(moved, status="Held")
    sync(mapping)
    sim.delete_event(ann.email, ann.email, made["id"])
    assert sync(mapping).errors == 0
    # the held occurrence is the CRM's record of what happened: never deleted
    assert [a.subject for a in activities()] == ["Weekly (moved)"]


@pytest.mark.parametrize("zone,start_local,rule", [
    # Berlin: 30 March has no 02:30, 26 October has two
    ("Europe/Berlin", datetime(2031, 3, 28, 2, 30), "RRULE:FREQ=DAILY;COUNT=4"),
    ("Europe/Berlin", datetime(2031, 10, 24, 2, 30), "RRULE:FREQ=DAILY;COUNT=4"),
    # Lord Howe's half-hour DST: 5 October has no 02:15, 6 April has 01:45 twice
    ("Australia/Lord_Howe", datetime(2031, 10, 3, 2, 15), "RRULE:FREQ=DAILY;COUNT=4"),
    ("Australia/Lord_Howe", datetime(2031, 4, 4, 1, 45), "RRULE:FREQ=DAILY;COUNT=4"),
    # New York, weekly on Sundays at 02:30 across 9 March
    ("America/New_York", datetime(2031, 3, 2, 2, 30), "RRULE:FREQ=WEEKLY;COUNT=3"),
])
def test_crm_and_google_show_the_same_occurrences_across_dst_changes(
        connect_user, make_activity, sync, zone, start_local, rule):
    from zoneinfo import ZoneInfo

    ann, mapping = connect_user(time_zone=zone)
    start = start_local.replace(tzinfo=ZoneInfo(zone)).astimezone(UTC)
    series = make_activity(ann, subject="Night job", start=start, minutes=15,
                           recurrence=rule, time_zone=zone)
    assert sync(mapping).errors == 0
    window = (start - timedelta(days=1), start + timedelta(days=30))
    crm_starts = [w for w, _ in crm_calendar(ann, *window)]
    assert len(crm_starts) == int(rule.rsplit("=", 1)[1])
    assert google_starts(ann, google_event_id(series.uid)) == crm_starts
    # the wall-clock time is kept on every day that has it
    tz = ZoneInfo(zone)
    kept = [s.astimezone(tz).time() for s in crm_starts]
    assert kept.count(start_local.time()) >= len(kept) - 1



def test_a_series_ending_on_a_date_typed_far_east_of_utc_ends_on_that_day_everywhere(
        connect_user, sync, browser, activity_types):
    """Mondays 08:00 in Auckland (Sundays 19:00 UTC) until Monday 24 March: the last
    occurrence is kept on both sides, though it is still 23 March in UTC."""
    from scenario_kit import create_activity_via_form

    ann, mapping = connect_user(time_zone="Pacific/Auckland")
    response = create_activity_via_form(
        browser(ann), subject="Standup", activity_type_id=activity_types["Meeting"].id,
        start_date="2031-03-03", start_time="08:00", end_date="2031-03-03", end_time="08:30",
        repeat_freq="WEEKLY", repeat_interval="1", repeat_weekdays=["MO"], repeat_ends="until",
        repeat_until="2031-03-24")
    assert response.status_code == 302
    [series] = activities()
    assert sync(mapping).errors == 0
    crm_starts = [w for w, _ in crm_calendar(ann, *SPRING)]
    assert crm_starts == [datetime(2031, 3, d, 19, tzinfo=UTC) for d in (2, 9, 16, 23)]
    assert google_starts(ann, google_event_id(series.uid)) == crm_starts


def test_a_series_extended_with_the_form_keeps_the_occurrence_cancelled_in_google(
        connect_user, make_activity, sim, sync, browser):
    ann, mapping = connect_user()
    series = make_activity(ann, subject="Weekly", start=MONDAY,
                           recurrence="RRULE:FREQ=WEEKLY;COUNT=4")
    sync(mapping)
    event_id = google_event_id(series.uid)
    sim.delete_event(ann.email, ann.email, event_id + "_20310310T090000Z")
    sync(mapping)
    response = submit_activity_form(browser(ann), series.id, repeat_count=6)
    assert response.status_code == 302
    assert sync(mapping).errors == 0
    # six Mondays at 10:00 Berlin (CEST from 30 March), 10 March still cancelled
    expected = [datetime(2031, 3, 3, 9, tzinfo=UTC), datetime(2031, 3, 17, 9, tzinfo=UTC),
                datetime(2031, 3, 24, 9, tzinfo=UTC), datetime(2031, 3, 31, 8, tzinfo=UTC),
                datetime(2031, 4, 7, 8, tzinfo=UTC)]
    assert google_starts(ann, event_id) == expected
    assert [w for w, _ in crm_calendar(ann, *SPRING)] == expected


def test_a_series_extended_in_google_grows_in_the_crm_and_keeps_its_moved_occurrence(
        connect_user, sim, sync):
    ann, mapping = connect_user()
    made = weekly_from_google(sim, ann.email)
    sync(mapping)
    move_second_cancel_third(sim, ann.email, made["id"])
    sync(mapping)
    sim.patch_event(ann.email, ann.email, made["id"],
                    {"recurrence": ["RRULE:FREQ=WEEKLY;COUNT=6"]})
    assert sync(mapping).errors == 0
    shown = crm_calendar(ann, *SPRING)
    assert [s for _, s in shown].count("Weekly (moved)") == 1
    assert len(shown) == 5
    assert google_starts(ann, made["id"]) == [w for w, _ in shown]
