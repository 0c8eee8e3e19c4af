"""Regressions: scenarios that exposed bugs in the portal (issue 9), found by an adversarial
review. Each test states what a user saw, what is expected, and where the root cause was."""
from datetime import date, datetime, timedelta

import pytest

from portal.extensions import db
from portal.google.models import CalendarMapping
from portal.sync.calendar.engine import google_event_id

from scenario_kit import (UTC, activities, crm_calendar, delete, edit, fresh, google_starts,
                          live, post_form_page, save_mapping, submit_activity_form, when)

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


TIMES = {"start": {"dateTime": "2031-05-06T10:00:00+02:00"},
         "end": {"dateTime": "2031-05-06T11:00:00+02:00"}}


def google_made(sim, email, **fields):
    return sim.insert_event(email, email, dict(TIMES, **fields))


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


def test_a_title_edit_in_the_form_rewrites_the_time_zones_of_a_flight(
        connect_user, sim, sync, browser):
    """What a user sees: a flight made in Google leaves Tokyo at 11:00 (Asia/Tokyo) and
    lands in New York at 10:00 (America/New_York). A Berlin user corrects only its title on
    the CRM's form; Google then shows it leaving at 04:00 and landing at 16:00, both
    Europe/Berlin: the event's own time zones are replaced by the user's profile zone.

    Expected: a title edit leaves the times and their zones alone (only "subject" is
    patched).

    Root cause: portal/crm/activity_forms.py values() always saves
    ``time_zone=self.zone_name`` (the viewer's zone) for a non-recurring activity, so the
    "timing" group (which includes the zone) changes on every form save and the engine
    (_plan_changed_activity -> patch_for -> event_when) sends start and end, both in that
    one zone; the activity keeps a single ``time_zone`` (engine.activity_fields takes the
    start's), so an end zone that differs is lost on any timing write. The form must keep
    the activity's zone unless the user changes the time."""
    ann, mapping = connect_user()
    made = sim.insert_event(ann.email, ann.email, {
        "summary": "Flight HND-JFK", "start": when("2031-07-01T11:00:00", "Asia/Tokyo"),
        "end": when("2031-07-01T10:00:00", "America/New_York")})
    sync(mapping)
    [activity] = activities()
    response = submit_activity_form(browser(ann), activity.id, subject="Flight NH 110")
    assert response.status_code == 302
    assert sync(mapping).errors == 0
    event = sim.get_event(ann.email, ann.email, made["id"])
    assert event["summary"] == "Flight NH 110"
    assert event["start"] == {"dateTime": "2031-07-01T11:00:00+09:00",
                              "timeZone": "Asia/Tokyo"}
    assert event["end"] == {"dateTime": "2031-07-01T10:00:00-04:00",
                            "timeZone": "America/New_York"}


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
    ordinary "deleted in Google" (engine.ImportPlanner.plan_cancelled), which with the
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


# -- the activity form changes what the user did not touch ----------------------------------

@pytest.mark.parametrize("reminders", [
    {"useDefault": True},
    {"useDefault": False, "overrides": [{"method": "email", "minutes": 1440},
                                        {"method": "popup", "minutes": 10}]},
], ids=["calendar-default", "email-and-popup"])
def test_a_description_edit_in_the_form_wipes_googles_reminders(
        connect_user, sim, sync, browser, reminders):
    """What a user sees: an event with the calendar's default reminders (or an email a day
    before plus a notification) is imported; the user edits only its description in the
    CRM; after the sync the event has no reminder at all in Google (or only the one
    notification), and the activity shows "None"/one reminder.

    Expected (issue 9, items 10 and 15-16): reminders are kept whole unless the user
    changes them; a patch sends only what the user changed.

    Root cause: portal/crm/activity_forms.py. The form has a single
    ``reminder_minutes`` input: fill_from() shows ``activity.reminder_minutes`` (the first
    popup only; None for useDefault or email-only sets) and values() always returns
    ``reminder_minutes=...``, which crm/activities.save_activity() applies through the
    Activity.reminder_minutes setter as ``Reminders.popup(minutes)``: the whole reminder set
    is replaced. The "reminders" group then differs from the base and
    engine._plan_changed_activity/patch_for send ``reminders`` to Google. values() must leave
    ``reminders`` alone when the posted minutes equal what the form showed."""
    ann, mapping = connect_user()
    made = google_made(sim, ann.email, summary="Review", reminders=reminders)
    sync(mapping)
    [activity] = activities()
    before = fresh(activity).reminders
    response = submit_activity_form(browser(ann), activity.id, description="Read first")
    assert response.status_code == 302
    assert sync(mapping).errors == 0
    assert fresh(activity).reminders == before
    event = sim.get_event(ann.email, ann.email, made["id"])
    assert event["description"] == "Read first"
    assert event["reminders"] == reminders


def test_a_description_edit_in_the_form_flattens_a_multi_line_location(
        connect_user, sim, sync, browser):
    """What a user sees: a Google event whose location has several lines ("Building A" /
    "Room 301") is imported; the user edits only the description on the CRM's form; Google
    then shows the location run together on one line ("Building ARoom 301").

    Expected (issue 9, item 11): "a multi-line location survives a CRM edit of another
    field (the form keeps its newlines)".

    Root cause: portal/crm/activity_forms.py declares ``location`` as a StringField, which
    renders ``<input type="text">``; browsers strip line breaks from such an input's value
    (HTML's value sanitization), so the posted location differs from the stored one,
    values() saves it, the "location" group changed and engine.patch_for() sends it. Make it
    a TextAreaField (or keep the stored value when the posted one only lost its newlines)."""
    ann, mapping = connect_user()
    location = "Building A\nRoom 301"
    made = google_made(sim, ann.email, summary="Visit", location=location)
    sync(mapping)
    [activity] = activities()
    response = submit_activity_form(browser(ann), activity.id, description="Ring twice")
    assert response.status_code == 302
    assert sync(mapping).errors == 0
    assert fresh(activity).location == location
    assert sim.get_event(ann.email, ann.email, made["id"])["location"] == location


def test_a_description_edit_in_the_form_moves_an_event_that_starts_at_seconds(
        connect_user, sim, sync, browser):
    """What a user sees: a Google event starting at 11:22:33 (made by another tool) is
    imported; after the user edits only its description in the CRM, the event starts at
    11:22:00 in Google (for a series, every instance id changes with it).

    Expected (issue 9, item 16): the form keeps values it shows coarser than it stores.

    Root cause: portal/crm/activity_forms.py ``start_time``/``end_time`` are TimeFields
    with ``format=["%H:%M", "%H:%M:%S"]``; WTForms renders with the first format, so the
    page shows and posts 11:22, and _check_timed()/values() save 11:22:00. The "timing"
    group changed, and the engine patches start/end. The form must render seconds when
    there are some (or keep the stored instant when the posted minute is unchanged)."""
    ann, mapping = connect_user()
    made = sim.insert_event(ann.email, ann.email, {
        "summary": "Odd start", "start": {"dateTime": "2031-05-06T11:22:33+02:00"},
        "end": {"dateTime": "2031-05-06T12:00:00+02:00"}})
    sync(mapping)
    [activity] = activities()
    start = fresh(activity).start_at
    response = submit_activity_form(browser(ann), activity.id, description="notes")
    assert response.status_code == 302
    assert sync(mapping).errors == 0
    assert fresh(activity).start_at == start
    assert sim.get_event(ann.email, ann.email, made["id"])["start"]["dateTime"] == \
        "2031-05-06T11:22:33+02:00"


def test_the_form_refuses_a_description_edit_of_an_event_with_a_long_title(
        connect_user, sim, sync, browser):
    """What a user sees: a Google event with a 2,500-character title (Google accepts it;
    the CRM imports it whole) cannot be edited at all in the CRM: saving a new description
    shows "Field cannot be longer than 2000 characters" on the subject.

    Expected (issue 9, item 17): validation never blocks editing a field unrelated to what
    it validates.

    Root cause: portal/crm/activity_forms.py ActivityForm.subject (and location) carry
    ``Length(max=2000)`` although Activity.subject/location are Text columns filled
    whole by the import (engine.activity_fields / sync.crm_writes.values_for); the
    limit must not apply to a value the user did not change (or must match Google's)."""
    ann, mapping = connect_user()
    made = google_made(sim, ann.email, summary="T" * 2500)
    sync(mapping)
    [activity] = activities()
    assert len(activity.subject) == 2500
    response = submit_activity_form(browser(ann), activity.id, description="notes")
    assert response.status_code == 302
    assert sync(mapping).errors == 0
    assert sim.get_event(ann.email, ann.email, made["id"])["description"] == "notes"


def test_a_location_edit_in_the_form_overwrites_a_description_changed_in_google(
        connect_user, sim, sync, browser):
    """What a user sees: Ann fixes the agenda (description) of a meeting on her phone in
    Google; before the next sync she changes only the room on the CRM's form (the page
    still shows the old agenda). After the sync her Google edit of the agenda is gone: the
    old agenda came back from the CRM ("CRM wins"), and the run logs a conflict on the
    description although nobody touched it in the CRM.

    Expected: a field the user did not change in the CRM is not a CRM change; the
    description edit made in Google survives (only the location came from the CRM).

    Root cause: browsers submit a <textarea>'s line breaks as CRLF.
    portal/crm/activity_forms.py values() saves ``description`` as posted
    ("line 1\\r\\nline 2" for a stored "line 1\\nline 2"), so the description group
    differs from the base; engine.merge() then sees it changed on both sides and the
    mapping's rule (CRM wins by default) overwrites Google's edit. values() must
    normalise CRLF to LF (as the stored and Google's texts are)."""
    ann, mapping = connect_user()
    made = google_made(sim, ann.email, summary="Board", description="1. Budget\n2. Hiring")
    sync(mapping)
    [activity] = activities()
    sim.patch_event(ann.email, ann.email, made["id"],
                    {"description": "1. Budget\n2. Hiring\n3. Offsite"})
    response = submit_activity_form(browser(ann), activity.id, location="Room 4")
    assert response.status_code == 302
    run = sync(mapping)
    assert run.conflicts == 0
    event = sim.get_event(ann.email, ann.email, made["id"])
    assert (event["location"], event["description"]) == (
        "Room 4", "1. Budget\n2. Hiring\n3. Offsite")
    assert fresh(activity).description == "1. Budget\n2. Hiring\n3. Offsite"


# -- text -----------------------------------------------------------------------------------


def test_a_blank_title_from_google_does_not_stop_the_import(connect_user, sim, sync):
    """What a user sees: one event in their Google calendar has a title of only spaces.
    Every sync of that calendar now fails ("The sync failed unexpectedly (ActivityError)"),
    and nothing else is imported any more: "Real one" never shows up in the CRM.

    Expected: a blank title is shown as "(no title)", like an empty one (and one bad event
    is logged and skipped, never blocks the rest - DESIGN.md).

    Root cause: portal/sync/calendar/engine.py activity_fields() uses
    ``resource.get("summary") or NO_TITLE`` and portal/sync/calendar/crm_writes.py values_for()
    ``values["subject"] or e.NO_TITLE``: "   " is truthy, so it is kept;
    crm/activities.check_activity() refuses it with ActivityError("Enter a subject."),
    which runner.Runner.create_activity()/apply_local() do not catch, so the exception ends
    the whole job (jobs/sync._sync_mapping marks the run failed). Strip before the
    fallback, and catch ActivityError per event (log + skip)."""
    ann, mapping = connect_user()
    for summary in ("   ", "Real one"):
        sim.insert_event(ann.email, ann.email, {
            "summary": summary, "start": {"dateTime": "2031-05-06T10:00:00+02:00"},
            "end": {"dateTime": "2031-05-06T11:00:00+02:00"}})
    run = sync(mapping)
    assert run.status == "succeeded"
    subjects = sorted(a.subject for a in activities())
    assert "Real one" in subjects and len(subjects) == 2
    assert all(s.strip() for s in subjects)
    assert sorted(e["summary"] for e in live(sim, ann.email)) == ["   ", "Real one"]


# -- mapping changes ------------------------------------------------------------------------

def test_not_synchronized_with_delete_never_deletes_the_exported_events(
        connect_user, make_activity, sim, sync, browser, activity_types, work):
    """What a user sees: on the Google Calendar page the user sets Meeting to "Not
    synchronized" and chooses "Delete them from that calendar"; the page says the events
    "will be deleted from it at the next sync". They press *Synchronize now*: nothing is
    deleted, ever (the scheduler never does it either).

    Expected (issue 9, item 8): the cleanup happens.

    Root cause: runner.run_mapping() can clean up a mapping that has only a
    ``retired_calendar_id`` (handle_retired), but nothing ever enqueues one:
    jobs/sync.enqueue_sync(user) (behind *Synchronize now* for all calendars) takes
    google/services.synced_mappings(), which keeps only ``is_synced`` mappings (a calendar
    id); scheduler/fanout.due_mappings() filters ``calendar_id IS NOT NULL`` too. Mappings
    with a pending retirement must be included in both."""
    ann, mapping = connect_user()
    make_activity(ann, subject="Made in CRM", start=datetime(2031, 5, 6, 8, tzinfo=UTC))
    sync(mapping)
    client = browser(ann)
    save_mapping(client, activity_types["Meeting"], calendar="", old_calendar_action="delete")
    post_form_page(client, "/google/sync", {}, testid="sync-now-form")
    work()
    assert live(sim, ann.email) == []


def test_moving_synchronize_from_earlier_never_imports_the_older_google_events(
        connect_user, make_activity, sim, sync, browser):
    """What a user sees: with *Synchronize from* 1 June, an older CRM activity (1 May) and
    an older Google event (2 May) are left alone. The user moves *Synchronize from* to 1
    April: the CRM activity is exported, but the Google event never comes into the CRM.

    Expected (issue 9, item 9): moving the date earlier syncs older items in both
    directions alike.

    Root cause: google/services.save_sync_settings() (the settings page) stores the new
    ``sync_from`` but keeps every mapping's ``sync_token``; runner.Runner.list_events()
    then lists incrementally, and Google reports only changes since the token, so events
    older than the old date that did not change never appear. The export side works
    because runner.candidate_condition() re-reads ``sync_from`` each run. Moving the date
    earlier (or clearing it) must drop the sync tokens (a full listing from the new date)."""
    ann, mapping = connect_user(sync_from=date(2031, 6, 1))
    make_activity(ann, subject="Old CRM", start=datetime(2031, 5, 1, 8, tzinfo=UTC))
    sim.insert_event(ann.email, ann.email, {
        "summary": "Old Google", "start": {"dateTime": "2031-05-02T10:00:00+02:00"},
        "end": {"dateTime": "2031-05-02T11:00:00+02:00"}})
    sync(mapping)
    assert [a.subject for a in activities()] == ["Old CRM"]
    assert [e["summary"] for e in live(sim, ann.email)] == ["Old Google"]
    response = post_form_page(browser(ann), "/google/sync", {"sync_from": "2031-04-01"},
                              has_field="save_settings", button="save_settings")
    assert response.status_code == 302
    db.session.expire_all()
    sync(db.session.get(CalendarMapping, mapping.id))
    assert sorted(e["summary"] for e in live(sim, ann.email)) == ["Old CRM", "Old Google"]
    assert sorted(a.subject for a in activities()) == ["Old CRM", "Old Google"]


def test_with_import_off_a_crm_delete_is_undone_from_google(connect_user, make_activity,
                                                            sim, sync):
    """What a user sees: Import is off for Meeting (Google wins on conflicts). The user
    deletes a meeting in the CRM after someone renamed it in Google; after the sync the
    meeting is back in the CRM, with Google's title.

    Expected (issue 9): "Import off: nothing read" - nothing comes from Google into the CRM.

    Root cause: the export's delete carries If-Match, Google answers 412, and
    runner.Runner.resolve_changed_event() hands Google's fresh copy to
    engine.ImportPlanner.plan_edit_of_deleted(), which decides by the conflict rule alone
    and returns CREATE_ACTIVITY when Google wins - without looking at
    ``mapping.import_enabled`` (every other import path goes through rights(), which
    grants nothing to read when import is off)."""
    ann, mapping = connect_user(import_enabled=False, conflict_rule="google_wins")
    meeting = make_activity(ann, subject="Budget", start=datetime(2031, 5, 6, 8, tzinfo=UTC))
    sync(mapping)
    sim.patch_event(ann.email, ann.email, google_event_id(meeting.uid),
                    {"summary": "Budget (renamed in Google)"})
    delete(meeting)
    assert sync(mapping).errors == 0
    assert activities() == []


def test_a_kept_activity_does_not_say_it_was_deleted_in_google(connect_user, sim, sync,
                                                               browser):
    """What a user sees: an event made in Google is deleted there; the CRM keeps the
    activity (the default choice), but its page still looks synced: "From Google" with an
    "Open in Google Calendar" link that leads to a deleted event, and no word of the
    deletion.

    Expected (issue 9, item 12): "a kept activity says it was deleted in Google".

    Root cause: the detached link (EventLink.state "detached") is never shown:
    portal/sync/services.mark_activities() sets ``from_google`` and ``google_html_link``
    from any link, active or not (``next(... for l in own if l.html_link)``), and nothing
    (no attribute, no template in templates/crm/activity_detail.html or
    sync/_badges.html) tells the user the event is gone."""
    ann, mapping = connect_user()
    made = google_made(sim, ann.email, summary="Dentist")
    sync(mapping)
    sim.delete_event(ann.email, ann.email, made["id"])
    sync(mapping)
    [activity] = activities()
    html = browser(ann).get(f"/activities/{activity.id}").get_data(as_text=True)
    assert "deleted in Google" in html
    assert made["htmlLink"] not in html


def test_the_disconnect_page_says_what_happens_with_another_google_account(connect_user,
                                                                          browser):
    """What a user sees: the Disconnect page offers "keep the links" or "forget them", but
    says nothing of what happens if they later connect a *different* Google account (the
    portal then forgets every link and empties every calendar mapping).

    Expected (issue 9, item 4): "For a different Google account, choose a policy, show it
    on the disconnect page, and test it."

    Root cause: the policy exists (google/services.complete_connect() ->
    _forget_account()), but templates/google/disconnect.html and DisconnectForm
    (google/forms.py) never mention it."""
    ann, _ = connect_user()
    html = browser(ann).get("/google/disconnect").get_data(as_text=True).lower()
    assert "different google account" in html or "another google account" in html


def test_most_recent_lets_a_guests_later_answer_beat_the_organizers_newer_crm_edit(
        connect_user, make_activity, sim, sync):
    """What a user sees: Ann's rule is "most recent change wins". She renames her meeting
    with Bob in Google ("Older Google title"), then later renames it again in the CRM
    ("Newer CRM title"). Bob then accepts in Google. After Ann's sync the meeting is called
    "Older Google title" everywhere: her newer edit lost.

    Expected: the most recent *edit* of the title wins; a guest's answer is not an edit of
    the title.

    Root cause: engine._conflict_winner() is called from ImportPlanner.plan_changed()
    (and plan_cancelled/plan_edit_of_deleted) with ``event.updated``, the time of the
    event's last change of any kind. A guest's answer is written into the organizer's event
    (as Google does), which moves ``updated`` past the CRM edit, so Google "wins" a
    conflict on the subject that Bob never touched. The rule needs the time of the
    conflicting change (e.g. remember on the link when each group was first seen changed
    at an import), not the event's ``updated``."""
    ann, ann_map = connect_user("ann@example.com", conflict_rule="most_recent")
    bob, bob_map = connect_user("bob@example.com")
    meeting = make_activity(ann, subject="Budget", start=datetime(2031, 5, 6, 8, tzinfo=UTC),
                            participants=[bob])
    sync(ann_map)
    sync(bob_map)
    event_id = google_event_id(meeting.uid)
    sim.patch_event(ann.email, ann.email, event_id, {"summary": "Older Google title"})
    edit(meeting, subject="Newer CRM title")
    copy = sim.get_event(bob.email, bob.email, event_id)
    sim.patch_event(bob.email, bob.email, event_id, {"attendees": [
        dict(a, responseStatus="accepted") if a["email"] == bob.email else a
        for a in copy["attendees"]]})
    assert sync(ann_map).errors == 0
    assert fresh(meeting).subject == "Newer CRM title"
    assert sim.get_event(ann.email, ann.email, event_id)["summary"] == "Newer CRM title"


def test_an_activity_deleted_in_the_crm_comes_back_after_forget_links_and_reconnect(
        connect_user, make_activity, sim, sync, browser):
    """What a user sees: Ann deletes a meeting in the CRM, then disconnects Google choosing
    "Forget the links" before any sync ran. She reconnects the same account and syncs:
    the deleted meeting is back in her CRM (now marked "From Google"), while its event was
    never removed from Google.

    Expected (issue 9, item 4): after a reconnect, events are matched (activity UID in
    extendedProperties, iCalUID, event id) before anything is created; an event that
    points at an activity the CRM deleted is not a new Google event.

    Root cause: engine.ImportPlanner._match() recognises the portal's own events only when
    the activity behind ``event.activity_uid`` still exists (runner.import_ loads
    activities by uid); the CRM's delete was remembered only by the link's tombstone, which
    services.forget_user_links() deleted. plan_new() then treats the event as made in Google
    and returns CREATE_ACTIVITY (origin google). An event with the portal's marker and an
    activity uid that no longer exists must never be imported as new (delete it in Google,
    or at least skip it)."""
    from scenario_kit import disconnect, reconnect

    ann, mapping = connect_user()
    gone = make_activity(ann, subject="Gone", start=datetime(2031, 5, 6, 8, tzinfo=UTC))
    make_activity(ann, subject="Kept", start=datetime(2031, 5, 7, 8, tzinfo=UTC))
    sync(mapping)
    delete(gone)
    disconnect(browser(ann), "forget")
    reconnect(sim, ann)
    sync(mapping)
    sync(mapping)
    assert [a.subject for a in activities()] == ["Kept"]



def test_a_series_that_ended_before_synchronize_from_is_exported_anyway(
        connect_user, make_activity, sim, sync):
    """What a user sees: *Synchronize from* is 1 June; a weekly course that ran three times
    in April (all before that date) is exported to Google anyway, while a single April
    activity rightly is not.

    Expected: activities before *Synchronize from* - for a series, whose last occurrence
    is before it - are left alone both ways (engine.before_sync_from's own docstring).

    Root cause: engine.ActivitySnapshot.ends_on() calls
    portal/crm/calendar_view.py series_last_day(self) with the engine's snapshot, whose
    ``recurrence`` is a tuple of lines; calendar_view.recurrence_lines() does ``str(text)``
    and so parses "('RRULE:FREQ=WEEKLY;COUNT=3',)", finds no RRULE and answers None ("the
    series never ends"). Every series therefore counts as still running and
    engine.before_sync_from() never skips one. ends_on() must hand series_last_day() the
    lines as text (or calendar_view must accept a sequence of lines)."""
    ann, mapping = connect_user(sync_from=date(2031, 6, 1))
    make_activity(ann, subject="Spring course", start=datetime(2031, 4, 7, 8, tzinfo=UTC),
                  recurrence="RRULE:FREQ=WEEKLY;COUNT=3")
    make_activity(ann, subject="Old single", start=datetime(2031, 4, 8, 8, tzinfo=UTC))
    assert sync(mapping).errors == 0
    assert live(sim, ann.email) == []


def test_a_full_resync_deletes_a_series_that_ended_before_synchronize_from(
        connect_user, make_activity, sim, sync, browser):
    """What a user sees (data loss): Ann's April course (a weekly series) was synced. She
    sets *Synchronize from* to 1 June; later Google asks for a full sync (its sync token
    expired). That run deletes the course from the CRM ("missing from a full listing"),
    because "Delete in the CRM when deleted in Google" is on - though nobody deleted it
    anywhere; the single April activity next to it is rightly kept. (With the option off
    the course is unlinked instead.)

    Expected: what lies before *Synchronize from* is outside the listed window, and its
    absence from the listing means nothing.

    Root cause: the same ActivitySnapshot.ends_on() -> series_last_day() bug as in the test
    above: engine.plan_import(full_sync=True) skips a missing link only when its
    activity's ``ends_on()`` is before *Synchronize from*, which is never true for a
    series, so the course is planned through ImportPlanner.plan_cancelled() as deleted
    in Google."""
    ann, mapping = connect_user(delete_in_crm_when_deleted_in_google=True)
    make_activity(ann, subject="Spring course", start=datetime(2031, 4, 7, 8, tzinfo=UTC),
                  recurrence="RRULE:FREQ=WEEKLY;COUNT=3")
    make_activity(ann, subject="Old single", start=datetime(2031, 4, 8, 8, tzinfo=UTC))
    sync(mapping)
    response = post_form_page(browser(ann), "/google/sync", {"sync_from": "2031-06-01"},
                              has_field="save_settings", button="save_settings")
    assert response.status_code == 302
    sim.expire(sync_tokens=True)  # Google forgets sync tokens after a while
    db.session.expire_all()
    assert sync(db.session.get(CalendarMapping, mapping.id)).errors == 0
    assert sorted(a.subject for a in activities()) == ["Old single", "Spring course"]
    assert len(live(sim, ann.email)) == 2
