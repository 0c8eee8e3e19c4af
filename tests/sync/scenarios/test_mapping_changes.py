"""Mapping changes end to end: Export/Import switches, a type moved to another calendar
(by the user on the settings page, or an event moved in Google), an activity re-typed in
the CRM, disconnecting and reconnecting (googlesim, real client, RQ worker, real pages)."""
from datetime import date, datetime, timedelta

import pytest

from portal.extensions import db
from portal.google import services as google_services
from portal.google.models import CalendarMapping
from portal.sync.calendar.engine import google_event_id

from scenario_kit import (UTC, activities, delete, disconnect, edit, fresh, google_starts,
                          links, live, reconnect, save_mapping, when)

START = datetime(2031, 5, 6, 8, 0, tzinfo=UTC)
WRITES = ("POST", "PATCH", "PUT", "DELETE")


def writes_in(stats):
    parts = stats.get("batch_requests", {})
    direct = {k: v for k, v in stats["requests"].items()
              if k.split()[0] in WRITES and "/events" in k}
    return sum(v for k, v in parts.items() if k.split()[0] in WRITES) + sum(direct.values())


def google_made(sim, email, summary, day=6, calendar_id=None, **extra):
    return sim.insert_event(email, calendar_id or email, dict({
        "summary": summary, "start": {"dateTime": f"2031-05-{day:02d}T14:00:00+02:00"},
        "end": {"dateTime": f"2031-05-{day:02d}T15:00:00+02:00"}}, **extra))


def mapping_row(mapping_id):
    db.session.expire_all()
    return db.session.get(CalendarMapping, mapping_id)


# -- switches -------------------------------------------------------------------------------

def test_export_off_never_writes_to_google_whatever_changed(connect_user, make_activity, sim,
                                                           sync):
    ann, mapping = connect_user(export_enabled=False)
    made = google_made(sim, ann.email, "From Google")
    sync(mapping)
    [imported] = activities()
    sim.patch_event(ann.email, ann.email, made["id"], {"location": "Room 7"})
    edit(imported, subject="Renamed in CRM")  # a merge would patch Google
    make_activity(ann, subject="New in CRM", start=START)
    sim.stats_reset()
    run = sync(mapping)
    assert run.errors == 0
    assert writes_in(sim.stats()) == 0
    event = sim.get_event(ann.email, ann.email, made["id"])
    assert (event["summary"], event["location"]) == ("From Google", "Room 7")
    assert fresh(imported).location == "Room 7"
    assert [e["summary"] for e in live(sim, ann.email)] == ["From Google"]
    delete(imported)
    sim.stats_reset()
    sync(mapping)
    assert writes_in(sim.stats()) == 0 and len(live(sim, ann.email)) == 1


def test_import_off_never_reads_google_and_patches_only_what_the_crm_changed(
        connect_user, make_activity, sim, sync):
    ann, mapping = connect_user(import_enabled=False)
    meeting = make_activity(ann, subject="Budget", start=START)
    sync(mapping)
    event_id = google_event_id(meeting.uid)
    sim.patch_event(ann.email, ann.email, event_id, {"location": "Room 7"})
    google_made(sim, ann.email, "Made in Google")
    edit(meeting, subject="Budget 2032")
    sim.stats_reset()
    assert sync(mapping).errors == 0
    assert "GET /calendar/v3/calendars/{calendarId}/events" not in sim.stats()["requests"]
    event = sim.get_event(ann.email, ann.email, event_id)
    assert (event["summary"], event["location"]) == ("Budget 2032", "Room 7")
    assert [a.subject for a in activities()] == ["Budget 2032"]
    assert fresh(meeting).location == ""


def test_edits_made_while_export_was_off_go_out_when_it_is_back_on(
        connect_user, make_activity, sim, sync, browser, activity_types):
    ann, mapping = connect_user()
    meeting = make_activity(ann, subject="Budget", start=START)
    sync(mapping)
    client = browser(ann)
    save_mapping(client, activity_types["Meeting"], export_enabled=False)
    edit(meeting, subject="Budget (offline edit)")
    sync(mapping_row(mapping.id))
    assert sim.get_event(ann.email, ann.email, google_event_id(meeting.uid))["summary"] == \
        "Budget"
    save_mapping(client, activity_types["Meeting"], export_enabled=True)
    assert sync(mapping_row(mapping.id)).errors == 0
    assert sim.get_event(ann.email, ann.email, google_event_id(meeting.uid))["summary"] == \
        "Budget (offline edit)"


def test_google_changes_made_while_import_was_off_arrive_when_it_is_back_on(connect_user, make_activity, sim, sync, browser, activity_types):
    ann, mapping = connect_user()
    m = make_activity(ann, subject="Budget", start=START)
    sync(mapping)
    c = browser(ann)
    save_mapping(c, activity_types["Meeting"], import_enabled=False)
    sim.patch_event(ann.email, ann.email, google_event_id(m.uid), {"location": "Room 9"})
    google_made(sim, ann.email, "New in Google", day=7)
    sync(mapping_row(mapping.id))
    assert fresh(m).location == "" and len(activities()) == 1
    save_mapping(c, activity_types["Meeting"], import_enabled=True)
    assert sync(mapping_row(mapping.id)).errors == 0
    assert fresh(m).location == "Room 9"
    assert sorted(a.subject for a in activities()) == ["Budget", "New in Google"]


def test_series_that_began_before_synchronize_from_but_recur_after_it_sync_both_ways(connect_user, make_activity, sim, sync):
    ann, mapping = connect_user(sync_from=date(2031, 6, 1))
    make_activity(ann, subject="CRM weekly", start=datetime(2031, 5, 5, 8, tzinfo=UTC),
                  recurrence="RRULE:FREQ=WEEKLY;COUNT=8")
    for summary, first, count in (("Google weekly", "2031-05-06", 8),
                                  ("Google old weekly", "2031-04-08", 3)):
        sim.insert_event(ann.email, ann.email, {
            "summary": summary, "start": when(f"{first}T10:00:00", "Europe/Berlin"),
            "end": when(f"{first}T11:00:00", "Europe/Berlin"),
            "recurrence": [f"RRULE:FREQ=WEEKLY;COUNT={count}"]})
    sync(mapping)
    assert sorted(a.subject for a in activities()) == ["CRM weekly", "Google weekly"]
    assert sorted(e["summary"] for e in live(sim, ann.email)) == [
        "CRM weekly", "Google old weekly", "Google weekly"]


# -- moves ----------------------------------------------------------------------------------

@pytest.mark.parametrize("first", ["old calendar", "new calendar"])
def test_an_event_moved_in_google_to_another_mapped_calendar_is_followed(
        connect_user, make_activity, sim, sync, activity_types, first):
    ann, meetings = connect_user()
    calls = sim.create_calendar(ann.email, "Calls")
    _, calls_map = connect_user(type_name="Call", calendar_id=calls["id"])
    crm_made = make_activity(ann, subject="Made in CRM", start=START)
    google = google_made(sim, ann.email, "Made in Google")
    sync(meetings)
    moved_ids = [google_event_id(crm_made.uid), google["id"]]
    service = google_services.client_for(ann).calendar
    for event_id in moved_ids:  # the user drags both into "Calls" in Google
        service.events().move(calendarId=ann.email, eventId=event_id,
                              destination=calls["id"]).execute()
    order = [meetings, calls_map] if first == "old calendar" else [calls_map, meetings]
    for mapping in order + order:
        assert sync(mapping_row(mapping.id)).errors == 0
    assert live(sim, ann.email) == []
    assert sorted(e["id"] for e in live(sim, ann.email, calls["id"])) == sorted(moved_ids)
    shown = {a.subject: a for a in activities()}
    assert sorted(shown) == ["Made in CRM", "Made in Google"]
    assert {a.activity_type_id for a in shown.values()} == {activity_types["Call"].id}
    # and it stays linked there: a CRM edit reaches the moved event
    edit(shown["Made in Google"], location="Phone")
    sync(mapping_row(calls_map.id))
    assert sim.get_event(ann.email, calls["id"], google["id"])["location"] == "Phone"


def test_retyping_in_the_crm_moves_the_event_to_the_calendar_of_the_new_type(
        connect_user, make_activity, sim, sync, activity_types):
    ann, meetings = connect_user()
    calls = sim.create_calendar(ann.email, "Calls")
    _, calls_map = connect_user(type_name="Call", calendar_id=calls["id"])
    meeting = make_activity(ann, subject="Kick-off", start=START)
    google = google_made(sim, ann.email, "Made in Google")
    sync(meetings)
    for activity in activities():
        edit(activity, activity_type_id=activity_types["Call"].id)
    assert sync(mapping_row(meetings.id)).errors == 0
    assert sync(mapping_row(calls_map.id)).errors == 0
    sync(mapping_row(meetings.id))
    assert live(sim, ann.email) == []
    assert sorted(e["id"] for e in live(sim, ann.email, calls["id"])) == sorted(
        [google_event_id(meeting.uid), google["id"]])
    assert len(activities()) == 2


def test_retyping_to_a_type_without_a_calendar_removes_only_what_the_crm_made(
        connect_user, make_activity, sim, sync, activity_types):
    ann, mapping = connect_user()
    meeting = make_activity(ann, subject="Kick-off", start=START)
    google = google_made(sim, ann.email, "Made in Google")
    sync(mapping)
    for activity in activities():
        edit(activity, activity_type_id=activity_types["Task"].id)
    assert sync(mapping).errors == 0
    assert [e["id"] for e in live(sim, ann.email)] == [google["id"]]
    assert len(activities()) == 2
    assert google_event_id(meeting.uid) not in [e["id"] for e in live(sim, ann.email)]


@pytest.mark.parametrize("old_calendar_action", ["delete", "leave"])
def test_a_type_moved_to_another_calendar_on_the_settings_page(
        connect_user, make_activity, sim, sync, browser, activity_types, old_calendar_action):
    ann, mapping = connect_user()
    work = sim.create_calendar(ann.email, "Work")
    meeting = make_activity(ann, subject="Made in CRM", start=START)
    google = google_made(sim, ann.email, "Made in Google")
    sync(mapping)
    save_mapping(browser(ann), activity_types["Meeting"], calendar=work["id"],
                 old_calendar_action=old_calendar_action)
    assert sync(mapping_row(mapping.id)).errors == 0
    sync(mapping_row(mapping.id))
    # the CRM's own event is in the new calendar; Google's stays where the user made it
    assert [e["summary"] for e in live(sim, ann.email, work["id"])] == ["Made in CRM"]
    old = sorted(e["summary"] for e in live(sim, ann.email))
    assert old == (["Made in Google"] if old_calendar_action == "delete"
                   else ["Made in CRM", "Made in Google"])
    assert sorted(a.subject for a in activities()) == ["Made in CRM", "Made in Google"]
    assert {l.calendar_id for l in links()} == {work["id"]}
    edit(meeting, location="Room 1")
    sync(mapping_row(mapping.id))
    assert live(sim, ann.email, work["id"])[0]["location"] == "Room 1"
    assert google["id"] not in [e["id"] for e in live(sim, ann.email, work["id"])]


def test_a_series_moved_in_google_to_another_mapped_calendar_is_followed(connect_user, sim, sync, activity_types):
    ann, meetings = connect_user()
    calls = sim.create_calendar(ann.email, "Calls")
    _, calls_map = connect_user(type_name="Call", calendar_id=calls["id"])
    made = sim.insert_event(ann.email, ann.email, {
        "summary": "Weekly", "start": when("2031-03-03T10:00:00", "Europe/Berlin"),
        "end": when("2031-03-03T11:00:00", "Europe/Berlin"),
        "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"]})
    sync(meetings)
    google_services.client_for(ann).calendar.events().move(
        calendarId=ann.email, eventId=made["id"], destination=calls["id"]).execute()
    for mapping in (meetings, calls_map, meetings):
        assert sync(mapping_row(mapping.id)).errors == 0
    [a] = activities()
    assert a.activity_type_id == activity_types["Call"].id
    assert len(google_starts(ann, made["id"], calls["id"])) == 4
    assert live(sim, ann.email) == []


def test_an_event_moved_and_renamed_in_google_while_edited_in_the_crm(connect_user, make_activity, sim, sync, activity_types):
    ann, meetings = connect_user()
    calls = sim.create_calendar(ann.email, "Calls")
    _, calls_map = connect_user(type_name="Call", calendar_id=calls["id"])
    crm_made = make_activity(ann, subject="Made in CRM", start=START)
    sync(meetings)
    eid = google_event_id(crm_made.uid)
    service = google_services.client_for(ann).calendar
    service.events().move(calendarId=ann.email, eventId=eid,
                          destination=calls["id"]).execute()
    sim.patch_event(ann.email, calls["id"], eid, {"summary": "Now a call"})
    edit(crm_made, location="Phone booth")
    for mapping in (calls_map, meetings, calls_map):
        assert sync(mapping_row(mapping.id)).errors == 0
    a = fresh(crm_made)
    assert (a.subject, a.location, a.activity_type_id) == (
        "Now a call", "Phone booth", activity_types["Call"].id)
    e = sim.get_event(ann.email, calls["id"], eid)
    assert (e["summary"], e["location"]) == ("Now a call", "Phone booth")
    assert live(sim, ann.email) == []


# -- disconnect and reconnect -----------------------------------------------------------------

@pytest.mark.parametrize("links_choice", ["forget", "keep"])
def test_reconnecting_the_same_account_duplicates_nothing_on_either_side(
        connect_user, make_activity, sim, sync, browser, links_choice):
    ann, ann_map = connect_user("ann@example.com")
    bob, bob_map = connect_user("bob@example.com")
    make_activity(ann, subject="Made in CRM", start=START)
    make_activity(ann, subject="All-day in CRM", all_day=True,
                  start_date=START.date(), end_date=START.date() + timedelta(days=1))
    make_activity(ann, subject="Shared from CRM", start=START + timedelta(days=1),
                  participants=[bob])
    google_made(sim, ann.email, "Made in Google")
    series = sim.insert_event(ann.email, ann.email, {
        "summary": "Weekly", "start": when("2031-05-05T10:00:00", "Europe/Berlin"),
        "end": when("2031-05-05T11:00:00", "Europe/Berlin"),
        "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=4"]})
    sim.patch_event(ann.email, ann.email, series["id"] + "_20310512T080000Z", {
        "summary": "Weekly (moved)", "start": when("2031-05-13T15:00:00", "Europe/Berlin"),
        "end": when("2031-05-13T16:00:00", "Europe/Berlin")})
    google_made(sim, bob.email, "Bob's meeting with Ann", attendees=[{"email": ann.email}])
    for mapping in (ann_map, bob_map, ann_map, bob_map):
        sync(mapping)
    before_crm = sorted(a.subject for a in activities())
    before_google = {who: sorted(e["summary"] for e in live(sim, who))
                     for who in (ann.email, bob.email)}
    assert len(before_crm) == 7

    disconnect(browser(ann), links_choice)
    reconnect(sim, ann)
    for mapping in (ann_map, bob_map, ann_map):
        assert sync(mapping_row(mapping.id)).errors == 0
    assert sorted(a.subject for a in activities()) == before_crm
    assert {who: sorted(e["summary"] for e in live(sim, who))
            for who in (ann.email, bob.email)} == before_google
    # and it is all still linked: edits on either side go through
    [crm_made] = activities(subject="Made in CRM")
    edit(crm_made, location="Room 1")
    [google_side] = [e for e in live(sim, ann.email) if e["summary"] == "Made in Google"]
    sim.patch_event(ann.email, ann.email, google_side["id"], {"location": "Room 2"})
    sync(mapping_row(ann_map.id))
    assert {e["summary"]: e.get("location") for e in live(sim, ann.email)}["Made in CRM"] == \
        "Room 1"
    assert fresh(activities(subject="Made in Google")[0]).location == "Room 2"
    assert sorted(a.subject for a in activities()) == before_crm


def test_connecting_a_different_account_leaves_the_old_one_alone(
        connect_user, make_activity, sim, sync, browser, activity_types):
    ann, mapping = connect_user("ann@example.com")
    make_activity(ann, subject="Made in CRM", start=START)
    google_made(sim, ann.email, "Made in Google")
    sync(mapping)
    old_events = sorted(e["summary"] for e in live(sim, ann.email))
    disconnect(browser(ann), "keep")
    reconnect(sim, ann, "ann.private@example.net")
    row = mapping_row(mapping.id)
    assert row.calendar_id is None  # the old account's calendars are not this one's
    save_mapping(browser(ann), activity_types["Meeting"], calendar="ann.private@example.net",
                 export_enabled=True, import_enabled=True)
    assert sync(mapping_row(mapping.id)).errors == 0
    # the CRM's own activities go to the new account; what was made in the old one does not
    assert [e["summary"] for e in live(sim, "ann.private@example.net")] == ["Made in CRM"]
    assert sorted(e["summary"] for e in live(sim, ann.email)) == old_events
    assert sorted(a.subject for a in activities()) == ["Made in CRM", "Made in Google"]


def test_back_to_the_first_account_after_another_one_duplicates_nothing(connect_user, make_activity, sim, sync, browser, activity_types):
    ann, mapping = connect_user()
    make_activity(ann, subject="Made in CRM", start=START)
    google_made(sim, ann.email, "Made in Google", day=7)
    sync(mapping)
    disconnect(browser(ann), "keep")
    reconnect(sim, ann, "ann.other@example.net")
    save_mapping(browser(ann), activity_types["Meeting"], calendar="ann.other@example.net",
                 export_enabled=True, import_enabled=True)
    sync(mapping_row(mapping.id))
    disconnect(browser(ann), "keep")
    reconnect(sim, ann, "ann@example.com")
    save_mapping(browser(ann), activity_types["Meeting"], calendar="ann@example.com",
                 export_enabled=True, import_enabled=True)
    assert sync(mapping_row(mapping.id)).errors == 0
    sync(mapping_row(mapping.id))
    assert sorted(a.subject for a in activities()) == ["Made in CRM", "Made in Google"]
    assert sorted(e["summary"] for e in live(sim, "ann@example.com")) == [
        "Made in CRM", "Made in Google"]
    assert sorted(e["summary"] for e in live(sim, "ann.other@example.net")) == ["Made in CRM"]
