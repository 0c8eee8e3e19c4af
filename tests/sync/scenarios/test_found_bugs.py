"""Scenarios that expose bugs in the portal (issue 9). Each test states what a user sees,
what is expected, and where the root cause is. They fail until the engine is fixed."""
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from portal.sync.engine import google_event_id

from scenario_kit import (UTC, activities, crm_calendar, delete, edit, fresh,
                          google_instances, google_starts, live, submit_activity_form, when)

BERLIN = "Europe/Berlin"
MONDAY = datetime(2031, 3, 3, 9, 0, tzinfo=UTC)  # Monday 3 March 2031, 10:00 in Berlin
SPRING = (datetime(2031, 2, 1, tzinfo=UTC), datetime(2031, 6, 1, tzinfo=UTC))


def weekly_from_google(sim, email, count=4, summary="Weekly"):
    return sim.insert_event(email, email, {
        "summary": summary, "start": when("2031-03-03T10:00:00", BERLIN),
        "end": when("2031-03-03T11:00:00", BERLIN),
        "recurrence": [f"RRULE:FREQ=WEEKLY;COUNT={count}"]})


def move_second_cancel_third(sim, email, series_id):
    sim.patch_event(email, email, series_id + "_20310310T090000Z", {
        "summary": "Weekly (moved)", "start": when("2031-03-11T15:00:00", BERLIN),
        "end": when("2031-03-11T16:00:00", BERLIN)})
    sim.delete_event(email, email, series_id + "_20310317T090000Z")


# -- time zones -----------------------------------------------------------------------------

@pytest.mark.parametrize("zone,start,end", [
    # the second 02:30 of 26 October 2031 in Berlin (CET, after the clocks went back)
    ("Europe/Berlin", "2031-10-26T02:30:00+01:00", "2031-10-26T03:30:00+01:00"),
    # the second 01:45 of 6 April 2031 on Lord Howe Island (+10:30, after a 30-minute step)
    ("Australia/Lord_Howe", "2031-04-06T01:45:00+10:30", "2031-04-06T02:45:00+10:30"),
])
def test_editing_the_description_of_an_event_in_the_repeated_hour_moves_it(
        connect_user, sim, sync, browser, zone, start, end):
    """What a user sees: an event in the hour that happens twice when the clocks go back
    (Google: 02:30 CET on 26 October, i.e. the second 02:30) comes into the CRM right, but
    after the user edits only its description in the CRM, the event jumps to the *first*
    02:30 (an hour earlier; 30 minutes on Lord Howe) in the CRM and in Google.

    Expected: a description-only edit leaves the time alone on both sides.

    Root cause: the activity form works in naive local wall-clock times.
    portal/crm/activity_forms.py ActivityForm.fill_from() shows the instant as a local
    date and time (dropping ``fold``), and _check_timed() turns the posted time back into
    an instant with portal/core/timezones.py local_to_utc(), which always resolves an
    ambiguous wall-clock time to its first occurrence (fold=0). The saved start_at differs
    from the stored one, so the "timing" field group changed and the engine
    (engine.plan_export -> _plan_changed_activity) rightly patches Google with the new
    time. The form must keep the instant it showed when the user did not change the time
    (e.g. compare the posted local values with those it rendered, or carry the fold)."""
    user, mapping = connect_user(time_zone=zone)
    made = sim.insert_event(user.email, user.email, {
        "summary": "Night shift", "start": {"dateTime": start, "timeZone": zone},
        "end": {"dateTime": end, "timeZone": zone}})
    sync(mapping)
    [activity] = activities()
    instant = datetime.fromisoformat(start).astimezone(UTC)
    assert activity.start_at == instant
    response = submit_activity_form(browser(user), activity.id, description="Bring coffee")
    assert response.status_code == 302
    assert sync(mapping).errors == 0
    assert fresh(activity).start_at == instant
    event = sim.get_event(user.email, user.email, made["id"])
    assert event["description"] == "Bring coffee"
    assert datetime.fromisoformat(event["start"]["dateTime"]) == datetime.fromisoformat(start)


# -- recurrence -----------------------------------------------------------------------------


def test_an_occurrence_cancelled_in_google_stays_cancelled_when_the_crm_moves_the_series(
        connect_user, make_activity, sim, sync, browser):
    """What a user sees: a weekly 10:00 series made in the CRM; one occurrence (17 March) is
    cancelled in Google. The user then moves the whole series to 11:00 in the CRM: the
    cancelled occurrence comes back at 11:00, in Google and in the CRM calendar alike.

    Expected (issue 9, item 13): EXDATEs follow the series' time; 17 March stays cancelled.

    Root cause: the EXDATE that mirrors Google's cancellation keeps the old slot
    (``EXDATE;TZID=Europe/Berlin:20310317T100000``) when the series moves:
    portal/crm/recurrence_rules.py recurrence_text() and crm/activities.save_activity()
    keep EXDATE lines verbatim, so in the CRM it no longer matches the 11:00 occurrence.
    On the Google side, engine.patch_for() sends the rule with the start via
    _recurrence_body(activity, link.google_exdates), which drops the EXDATEs derived from
    Google's exceptions on the assumption that "Google already has those exceptions"; but
    Google's cancelled exception is keyed to the old original start (10:00), so the 11:00
    instance is a new, uncancelled one. When timing changes, the engine must send every
    EXDATE shifted to the new time of day (and the CRM must shift its own lines), then
    forget the derived ones (runner.remember_event keeps them as long as the activity
    still has them)."""
    ann, mapping = connect_user()
    series = make_activity(ann, subject="Weekly", start=MONDAY,
                           recurrence="RRULE:FREQ=WEEKLY;COUNT=4")
    sync(mapping)
    event_id = google_event_id(series.uid)
    sim.delete_event(ann.email, ann.email, event_id + "_20310317T090000Z")
    sync(mapping)
    response = submit_activity_form(browser(ann), series.id, start_time="11:00",
                                    end_time="12:00")
    assert response.status_code == 302
    assert sync(mapping).errors == 0
    expected = [MONDAY + timedelta(hours=1, weeks=n) for n in (0, 1, 3)]
    assert google_starts(ann, event_id) == expected
    assert [w for w, _ in crm_calendar(ann, *SPRING)] == expected


def test_series_deleted_in_the_crm_takes_its_moved_occurrence_along_everywhere(
        connect_user, sim, sync):
    """What a user sees: a weekly series made in Google with one occurrence moved to
    Tuesday (the CRM shows it as its own activity, "Weekly (moved)"). The user deletes the
    series in the CRM: Google removes the series and the moved occurrence, but the CRM keeps
    "Weekly (moved)" as an orphan activity, now unlinked from any Google event.

    Expected (issue 9, item 13): deleting a series, on either side, removes its moved
    occurrences too.

    Root cause: nothing ties a moved occurrence's activity to its series' activity. The
    export deletes the series (engine._plan_tombstone -> DELETE_EVENT); Google cancels its
    exceptions, and the next import sees the moved instance cancelled and plans it as an
    ordinary "deleted in Google" (engine._ImportPlanner.plan_cancelled), which with the
    default option keeps the activity and detaches the link. plan_cancelled (or the export
    of the tombstone) must recognise an instance whose series' link is a tombstone (its
    ``recurring_event_id`` is the deleted series' event id) and delete the occurrence's
    activity with it (held ones excepted)."""
    ann, mapping = connect_user()
    made = weekly_from_google(sim, ann.email)
    sync(mapping)
    move_second_cancel_third(sim, ann.email, made["id"])
    sync(mapping)
    [series] = activities(subject="Weekly")
    delete(series)
    assert sync(mapping).errors == 0
    sync(mapping)
    assert live(sim, ann.email) == []
    assert [a.subject for a in activities()] == []
