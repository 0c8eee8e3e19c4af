"""Shared meetings: a copy in every invited sandbox account's primary calendar, and Google's
rules for what guests may change (through the real client, as each account)."""
import json
from datetime import datetime, timedelta, timezone

import pytest
from googleapiclient.errors import HttpError

ANN, BOB, CAROL = "ann@example.com", "bob@example.com", "carol@example.com"
T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


@pytest.fixture
def ann(make_creds, calendar_for):
    return calendar_for(make_creds(ANN))


@pytest.fixture
def bob(make_creds, calendar_for):
    return calendar_for(make_creds(BOB))


@pytest.fixture
def carol(make_creds, calendar_for):
    return calendar_for(make_creds(CAROL))


def error_of(exc):
    err = json.loads(exc.value.content)["error"]
    return exc.value.resp.status, err["errors"][0]["reason"]


def meeting(ann, timed, eid="meet00001", **extra):
    body = dict(timed(T0, tz="Europe/Berlin"), id=eid, summary="Kick-off",
                description="Agenda", location="Room 1",
                attendees=[{"email": ANN, "organizer": True, "responseStatus": "accepted"},
                           {"email": BOB}, {"email": "guest@outside.org"}],
                extendedProperties={"private": {"crmId": "42"}, "shared": {"topic": "k"}},
                reminders={"useDefault": False,
                           "overrides": [{"method": "email", "minutes": 30}]},
                colorId="5", transparency="transparent", guestsCanSeeOtherGuests=True)
    body.update(extra)
    return ann.events().insert(calendarId="primary", body=body).execute()


def get(svc, eid, cal="primary"):
    return svc.events().get(calendarId=cal, eventId=eid).execute()


def answers(ev):
    return {a["email"]: a["responseStatus"] for a in ev.get("attendees", [])}


def sync_token(svc, **kw):
    resp = svc.events().list(calendarId="primary", **kw).execute()
    return resp["nextSyncToken"]


def test_invited_account_gets_a_copy_with_its_own_personal_fields(ctl, ann, bob, timed):
    bob_sync = sync_token(bob)
    org = meeting(ann, timed)
    copy = get(bob, "meet00001")
    for key in ("id", "iCalUID", "summary", "description", "location", "start", "end",
                "status", "sequence", "guestsCanSeeOtherGuests", "created"):
        assert copy[key] == org[key], key
    assert copy["organizer"] == {"email": ANN}  # no self: Bob is not the organizer
    assert copy["creator"] == {"email": ANN}
    assert [(a["email"], a.get("self")) for a in copy["attendees"]] == \
        [(ANN, None), (BOB, True), ("guest@outside.org", None)]
    assert [(a["email"], a.get("self")) for a in org["attendees"]] == \
        [(ANN, True), (BOB, None), ("guest@outside.org", None)]
    # per-copy fields: a new copy starts with the defaults, Ann's private properties stay hers
    assert copy["reminders"] == {"useDefault": True}
    assert "colorId" not in copy and "transparency" not in copy
    assert copy["extendedProperties"] == {"shared": {"topic": "k"}}
    assert copy["etag"] != org["etag"] and copy["htmlLink"] != org["htmlLink"]
    # it is in Bob's list and in his incremental sync; an outside guest gets nothing
    listed = bob.events().list(calendarId="primary").execute()["items"]
    assert [e["id"] for e in listed] == ["meet00001"]
    changed = bob.events().list(calendarId="primary", syncToken=bob_sync).execute()["items"]
    assert [e["id"] for e in changed] == ["meet00001"]
    assert bob.events().list(calendarId="primary", privateExtendedProperty="crmId=42") \
        .execute()["items"] == []
    assert [e["id"] for e in ctl.events(BOB, BOB)] == ["meet00001"]


def test_organizer_updates_reach_the_copy_but_not_its_personal_fields(ann, bob, timed):
    meeting(ann, timed)
    bob.events().patch(calendarId="primary", eventId="meet00001", body={
        "colorId": "9", "reminders": {"useDefault": False,
                                      "overrides": [{"method": "popup", "minutes": 1}]},
        "extendedProperties": {"private": {"bobs": "own"}}}).execute()
    bob_sync = sync_token(bob)
    before = get(bob, "meet00001")
    ann.events().patch(calendarId="primary", eventId="meet00001", body=dict(
        timed(T0 + timedelta(hours=2), tz="Europe/Berlin"), summary="Moved",
        colorId="1", extendedProperties={"private": {"crmId": "43"},
                                         "shared": {"topic": "m"}})).execute()
    after = get(bob, "meet00001")
    assert after["summary"] == "Moved" and after["start"] == get(ann, "meet00001")["start"]
    assert after["sequence"] == before["sequence"] + 1 and after["etag"] != before["etag"]
    assert after["colorId"] == "9"
    assert after["reminders"]["overrides"] == [{"method": "popup", "minutes": 1}]
    assert after["extendedProperties"] == {"private": {"bobs": "own"},
                                           "shared": {"topic": "m"}}
    assert "bobs" not in json.dumps(get(ann, "meet00001"))
    changed = bob.events().list(calendarId="primary", syncToken=bob_sync).execute()["items"]
    assert [(e["id"], e["summary"]) for e in changed] == [("meet00001", "Moved")]


def test_guest_answer_reaches_the_organizer_and_other_guests(ann, bob, carol, timed):
    meeting(ann, timed, attendees=[{"email": BOB}, {"email": CAROL}])
    ann_sync, carol_sync = sync_token(ann), sync_token(carol)
    copy = get(bob, "meet00001")
    mine = [dict(a, responseStatus="accepted", comment="On my way") if a.get("self") else a
            for a in copy["attendees"]]
    answered = bob.events().patch(calendarId="primary", eventId="meet00001",
                                  body={"attendees": mine}).execute()
    assert answers(answered)[BOB] == "accepted"
    org = get(ann, "meet00001")
    assert answers(org) == {BOB: "accepted", CAROL: "needsAction"}
    assert next(a for a in org["attendees"] if a["email"] == BOB)["comment"] == "On my way"
    assert answers(get(carol, "meet00001"))[BOB] == "accepted"
    seen = ann.events().list(calendarId="primary", syncToken=ann_sync).execute()["items"]
    assert [(e["id"], answers(e)[BOB]) for e in seen] == [("meet00001", "accepted")]
    seen = carol.events().list(calendarId="primary", syncToken=carol_sync).execute()["items"]
    assert [e["id"] for e in seen] == ["meet00001"]


@pytest.mark.parametrize("change", [
    {"summary": "Bob's title"},
    {"start": {"dateTime": "2026-12-01T10:30:00+00:00", "timeZone": "Europe/Berlin"}},
    {"recurrence": ["RRULE:FREQ=DAILY;COUNT=2"]},
    {"status": "cancelled"},
    {"visibility": "private"},
    {"extendedProperties": {"shared": {"topic": "bob"}}},
    "add_attendee", "remove_attendee", "other_answer", "organizer"])
def test_guest_may_not_change_the_meeting(ann, bob, timed, change):
    org = meeting(ann, timed)
    copy = get(bob, "meet00001")
    if change == "add_attendee":
        change = {"attendees": copy["attendees"] + [{"email": "new@outside.org"}]}
    elif change == "remove_attendee":
        change = {"attendees": copy["attendees"][:2]}
    elif change == "other_answer":
        change = {"attendees": [dict(a, responseStatus="declined") if a["email"] == ANN
                                else a for a in copy["attendees"]]}
    elif change == "organizer":
        change = {"organizer": {"email": BOB}}
    with pytest.raises(HttpError) as exc:
        bob.events().patch(calendarId="primary", eventId="meet00001", body=change).execute()
    assert error_of(exc) == (403, "forbiddenForNonOrganizer")
    assert json.loads(exc.value.content)["error"]["errors"][0]["domain"] == "calendar"
    with pytest.raises(HttpError) as exc:
        bob.events().update(calendarId="primary", eventId="meet00001",
                            body=dict(copy, **change)).execute()
    assert error_of(exc) == (403, "forbiddenForNonOrganizer")
    assert get(ann, "meet00001")["etag"] == org["etag"]
    assert get(bob, "meet00001")["etag"] == copy["etag"]


def test_guest_may_resend_unchanged_values_and_change_personal_fields(ann, bob, timed):
    org = meeting(ann, timed)
    copy = get(bob, "meet00001")
    same_instant = {"dateTime": "2026-12-01T11:00:00+01:00", "timeZone": "Europe/Berlin"}
    done = bob.events().patch(calendarId="primary", eventId="meet00001", body={
        "summary": copy["summary"], "start": same_instant, "attendees": copy["attendees"],
        "transparency": "transparent"}).execute()
    assert done["transparency"] == "transparent"
    # a personal change stays in Bob's copy: Ann's event is untouched
    assert get(ann, "meet00001")["etag"] == org["etag"]
    put = dict(done, colorId="3")
    assert bob.events().update(calendarId="primary", eventId="meet00001",
                               body=put).execute()["colorId"] == "3"
    assert "colorId" in get(ann, "meet00001") and get(ann, "meet00001")["colorId"] == "5"


def test_guests_can_modify_lets_guests_change_the_meeting_for_everyone(ann, bob, carol,
                                                                       timed):
    meeting(ann, timed, guestsCanModify=True,
            attendees=[{"email": BOB}, {"email": CAROL}])
    bob.events().patch(calendarId="primary", eventId="meet00001",
                       body={"summary": "Bob renamed it", "colorId": "2"}).execute()
    org = get(ann, "meet00001")
    assert org["summary"] == "Bob renamed it" and org["colorId"] == "5"
    assert org["extendedProperties"]["private"] == {"crmId": "42"}
    assert get(carol, "meet00001")["summary"] == "Bob renamed it"
    assert get(bob, "meet00001")["colorId"] == "2"
    with pytest.raises(HttpError) as exc:  # still only the organizer changes the organizer
        bob.events().patch(calendarId="primary", eventId="meet00001",
                           body={"organizer": {"email": BOB}}).execute()
    assert error_of(exc) == (403, "forbiddenForNonOrganizer")


def test_removed_attendee_copy_is_cancelled_and_comes_back_when_reinvited(ann, bob, timed):
    org = meeting(ann, timed)
    bob_sync = sync_token(bob)
    ann.events().patch(calendarId="primary", eventId="meet00001", body={
        "attendees": [a for a in org["attendees"] if a["email"] != BOB]}).execute()
    assert get(bob, "meet00001")["status"] == "cancelled"
    assert bob.events().list(calendarId="primary").execute()["items"] == []
    changed = bob.events().list(calendarId="primary", syncToken=bob_sync).execute()["items"]
    assert [(e["id"], e["status"]) for e in changed] == [("meet00001", "cancelled")]
    ann.events().patch(calendarId="primary", eventId="meet00001",
                       body={"attendees": org["attendees"]}).execute()
    assert get(bob, "meet00001")["status"] == "confirmed"


def test_organizer_delete_cancels_every_copy(ann, bob, carol, timed, ctl):
    meeting(ann, timed, attendees=[{"email": BOB}, {"email": CAROL}])
    ctl.delete_event(ANN, "primary", "meet00001")  # an owner edit in Google's UI
    for svc in (bob, carol):
        assert get(svc, "meet00001")["status"] == "cancelled"
        with pytest.raises(HttpError) as exc:
            svc.events().delete(calendarId="primary", eventId="meet00001").execute()
        assert error_of(exc) == (410, "deleted")


def test_guest_delete_declines_for_everyone_else(ann, bob, carol, timed):
    meeting(ann, timed, attendees=[{"email": BOB}, {"email": CAROL}])
    ann_sync = sync_token(ann)
    bob.events().delete(calendarId="primary", eventId="meet00001").execute()
    assert get(bob, "meet00001")["status"] == "cancelled"
    assert answers(get(ann, "meet00001"))[BOB] == "declined"
    assert get(ann, "meet00001")["status"] == "confirmed"
    assert answers(get(carol, "meet00001"))[BOB] == "declined"
    seen = ann.events().list(calendarId="primary", syncToken=ann_sync).execute()["items"]
    assert [(e["id"], answers(e)[BOB]) for e in seen] == [("meet00001", "declined")]
    # later changes by the organizer don't bring the declined copy back
    ann.events().patch(calendarId="primary", eventId="meet00001",
                       body={"summary": "Still on"}).execute()
    assert get(bob, "meet00001")["status"] == "cancelled"


def test_guest_cannot_move_and_ids_of_copies_are_taken(ann, bob, timed):
    meeting(ann, timed)
    other = bob.calendars().insert(body={"summary": "Bob's other"}).execute()
    with pytest.raises(HttpError) as exc:
        bob.events().move(calendarId="primary", eventId="meet00001",
                          destination=other["id"]).execute()
    assert error_of(exc) == (403, "forbiddenForNonOrganizer")
    with pytest.raises(HttpError) as exc:
        bob.events().insert(calendarId="primary",
                            body=dict(timed(T0), id="meet00001")).execute()
    assert error_of(exc) == (409, "duplicate")


def test_organizer_move_keeps_the_copies_under_the_new_organizer(ann, bob, timed):
    meeting(ann, timed)
    team = ann.calendars().insert(body={"summary": "Team"}).execute()
    ann.events().move(calendarId="primary", eventId="meet00001",
                      destination=team["id"]).execute()
    copy = get(bob, "meet00001")
    assert copy["status"] == "confirmed" and copy["organizer"]["email"] == team["id"]
    ann.events().patch(calendarId=team["id"], eventId="meet00001",
                       body={"summary": "From the team calendar"}).execute()
    assert get(bob, "meet00001")["summary"] == "From the team calendar"


def test_owner_edits_through_the_control_api_follow_the_same_rules(ann, bob, ctl, timed):
    meeting(ann, timed)
    ctl.patch_event(ANN, ANN, "meet00001", {"location": "Room 9"})
    assert get(bob, "meet00001")["location"] == "Room 9"
    from googlesim.testing import SimError
    with pytest.raises(SimError) as exc:
        ctl.patch_event(BOB, BOB, "meet00001", {"location": "Bob's room"})
    assert exc.value.response.status_code == 403
    copy = ctl.get_event(BOB, BOB, "meet00001")
    mine = [dict(a, responseStatus="tentative") if a.get("self") else a
            for a in copy["attendees"]]
    ctl.patch_event(BOB, BOB, "meet00001", {"attendees": mine})
    assert answers(get(ann, "meet00001"))[BOB] == "tentative"


def test_import_and_invites_from_a_secondary_calendar(ann, bob, timed):
    team = ann.calendars().insert(body={"summary": "Team"}).execute()
    ann.events().import_(calendarId=team["id"], body=dict(
        timed(T0), iCalUID="team-1@example.org", summary="Imported",
        attendees=[{"email": BOB}])).execute()
    [copy] = bob.events().list(calendarId="primary",
                               iCalUID="team-1@example.org").execute()["items"]
    assert copy["organizer"] == {"email": team["id"], "displayName": "Team"}
    # an imported event organized elsewhere is nobody's copy to hand out
    ann.events().import_(calendarId="primary", body=dict(
        timed(T0), iCalUID="ext-2@example.org", organizer={"email": "boss@outside.org"},
        attendees=[{"email": BOB}])).execute()
    assert bob.events().list(calendarId="primary",
                             iCalUID="ext-2@example.org").execute()["items"] == []


def test_recurring_series_and_its_exceptions_are_shared(ann, bob, timed):
    ann.events().insert(calendarId="primary", body={
        "id": "series01", "summary": "Standup", "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"],
        "start": {"dateTime": "2026-12-01T10:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-12-01T10:15:00+01:00", "timeZone": "Europe/Berlin"},
        "attendees": [{"email": BOB}]}).execute()
    items = bob.events().list(calendarId="primary", singleEvents=True,
                              orderBy="startTime").execute()["items"]
    assert [i["id"] for i in items] == ["series01_20261201T090000Z",
                                        "series01_20261202T090000Z",
                                        "series01_20261203T090000Z"]
    bob_sync = sync_token(bob)
    second = "series01_20261202T090000Z"
    ann.events().patch(calendarId="primary", eventId=second,
                       body={"summary": "Longer standup"}).execute()
    assert get(bob, second)["summary"] == "Longer standup"
    changed = bob.events().list(calendarId="primary", syncToken=bob_sync).execute()["items"]
    assert [e["id"] for e in changed] == [second]
    # Bob declines only the third one: Ann's series gets an exception with his answer
    third = "series01_20261203T090000Z"
    inst = get(bob, third)
    mine = [dict(a, responseStatus="declined") if a.get("self") else a
            for a in inst["attendees"]]
    bob.events().patch(calendarId="primary", eventId=third, body={"attendees": mine}) \
        .execute()
    assert answers(get(ann, third))[BOB] == "declined"
    assert answers(get(ann, "series01_20261201T090000Z"))[BOB] == "needsAction"
    with pytest.raises(HttpError) as exc:
        bob.events().patch(calendarId="primary", eventId=third,
                           body={"summary": "Mine"}).execute()
    assert error_of(exc) == (403, "forbiddenForNonOrganizer")
    # the organizer deleting the series cancels it and its exceptions everywhere
    ann.events().delete(calendarId="primary", eventId="series01").execute()
    assert bob.events().list(calendarId="primary", singleEvents=True).execute()["items"] == []
    assert {i: get(bob, i)["status"] for i in ("series01", second, third)} == \
        dict.fromkeys(("series01", second, third), "cancelled")


def test_copies_stay_linked_across_a_restart(tmp_path, timed):
    from googlesim.testing import (SimControl, TEST_CLIENT_ID, TEST_CLIENT_SECRET,
                                   TEST_REDIRECT_URI, start_sim)
    path = str(tmp_path / "sim.sqlite")
    with start_sim(data=path) as first:
        ctl = SimControl(first.base_url)
        ctl.register_client(TEST_CLIENT_ID, TEST_CLIENT_SECRET, [TEST_REDIRECT_URI])
        ctl.create_account(ANN)
        ctl.create_account(BOB)
        ctl.insert_event(ANN, ANN, dict(timed(T0), id="meet00002",
                                        attendees=[{"email": BOB}]))
    with start_sim(data=path) as second:
        ctl = SimControl(second.base_url)
        ctl.patch_event(ANN, ANN, "meet00002", {"attendees": []})
        assert ctl.get_event(BOB, BOB, "meet00002")["status"] == "cancelled"


def test_a_guest_answer_with_send_updates_mails_only_the_organizer(ctl, ann, bob, timed):
    meeting(ann, timed)
    copy = get(bob, "meet00001")
    mine = [dict(a, responseStatus="accepted") if a.get("self") else a
            for a in copy["attendees"]]
    bob.events().patch(calendarId="primary", eventId="meet00001", body={"attendees": mine},
                       sendUpdates="all").execute()
    assert [(m["to"], m["kind"], m["sentBy"]) for m in ctl.outbox()] == \
        [(ANN, "reply", BOB)]


def test_deleting_the_organizers_calendar_cancels_the_copies(ann, bob, timed):
    team = ann.calendars().insert(body={"summary": "Team"}).execute()
    ann.events().insert(calendarId=team["id"], body=dict(
        timed(T0), id="teammeet1", attendees=[{"email": BOB}])).execute()
    assert get(bob, "teammeet1")["status"] == "confirmed"
    ann.calendars().delete(calendarId=team["id"]).execute()
    assert get(bob, "teammeet1")["status"] == "cancelled"


def test_a_guests_personal_change_to_one_instance_stays_theirs(ann, bob):
    ann.events().insert(calendarId="primary", body={
        "id": "series02", "recurrence": ["RRULE:FREQ=DAILY;COUNT=2"],
        "start": {"dateTime": "2026-12-01T10:00:00Z", "timeZone": "UTC"},
        "end": {"dateTime": "2026-12-01T10:30:00Z", "timeZone": "UTC"},
        "attendees": [{"email": BOB}]}).execute()
    ann_sync = sync_token(ann)
    first = "series02_20261201T100000Z"
    mine = bob.events().patch(calendarId="primary", eventId=first,
                              body={"colorId": "4"}).execute()
    assert mine["colorId"] == "4" and mine["recurringEventId"] == "series02"
    assert "colorId" not in get(ann, first)
    assert ann.events().list(calendarId="primary", syncToken=ann_sync).execute()[
        "items"] == []
    listed = bob.events().list(calendarId="primary", singleEvents=True).execute()["items"]
    assert [i.get("colorId") for i in listed] == ["4", None]
