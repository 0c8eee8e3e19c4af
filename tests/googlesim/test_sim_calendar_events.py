"""Calendar v3 calendars and events through google-api-python-client."""
import json
from datetime import datetime, timedelta, timezone

import pytest
import requests
from googleapiclient.errors import HttpError

from googlesim.testing import TEST_USER as USER

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


def error_of(exc):
    body = json.loads(exc.value.content)["error"]
    assert "details" not in body  # Calendar errors never carry details
    return exc.value.resp.status, body["errors"][0]["reason"]


def test_calendar_list_primary_and_secondary_calendars(cal):
    entries = cal.calendarList().list().execute()["items"]
    assert [(e["id"], e.get("primary"), e["accessRole"]) for e in entries] == \
        [(USER, True, "owner")]
    created = cal.calendars().insert(body={"summary": "CRM", "timeZone": "Europe/Berlin"}) \
        .execute()
    assert created["id"].endswith("@group.calendar.google.com")
    assert cal.calendars().get(calendarId=created["id"]).execute()["timeZone"] == \
        "Europe/Berlin"
    assert cal.calendars().get(calendarId="primary").execute()["id"] == USER
    ids = [e["id"] for e in cal.calendarList().list().execute()["items"]]
    assert ids == [USER, created["id"]]
    cal.calendars().delete(calendarId=created["id"]).execute()
    with pytest.raises(HttpError) as exc:
        cal.calendars().get(calendarId=created["id"]).execute()
    assert error_of(exc) == (404, "notFound")
    with pytest.raises(HttpError) as exc:
        cal.calendars().delete(calendarId="primary").execute()
    assert exc.value.resp.status == 400


def test_calendar_insert_needs_summary(cal):
    with pytest.raises(HttpError) as exc:
        cal.calendars().insert(body={"timeZone": "UTC"}).execute()
    assert error_of(exc) == (400, "required")


def test_other_accounts_calendars_are_not_found(cal, ctl):
    ctl.create_account("bob@example.com")
    other = ctl.create_calendar("bob@example.com", "Bob's")
    for cid in ("bob@example.com", other["id"], "nope@example.com"):
        with pytest.raises(HttpError) as exc:
            cal.events().list(calendarId=cid).execute()
        assert error_of(exc) == (404, "notFound")


def test_insert_get_keeps_fields_as_sent(cal, timed):
    body = dict(timed(T0, tz="Europe/Berlin"), id="crm0001abc", summary="Kick-off",
                description="Agenda", location="Room 1",
                attendees=[{"email": "bob@example.com", "displayName": "Bob",
                            "responseStatus": "accepted"},
                           {"email": USER, "organizer": True, "optional": True}],
                extendedProperties={"private": {"crmId": "42"}, "shared": {"k": "v"}},
                reminders={"useDefault": False,
                           "overrides": [{"method": "popup", "minutes": 5}]})
    ev = cal.events().insert(calendarId="primary", body=body).execute()
    assert ev["id"] == "crm0001abc" and ev["status"] == "confirmed"
    assert ev["etag"].startswith('"') and ev["sequence"] == 0
    assert ev["iCalUID"] == "crm0001abc@google.com" and ev["htmlLink"]
    assert ev["organizer"] == {"email": USER, "self": True}
    assert ev["creator"]["email"] == USER and ev["created"] and ev["updated"]
    got = cal.events().get(calendarId=USER, eventId="crm0001abc").execute()
    assert got == ev
    assert got["start"] == body["start"] and got["end"] == body["end"]
    assert got["attendees"][0] == {"email": "bob@example.com", "displayName": "Bob",
                                   "responseStatus": "accepted"}
    assert got["attendees"][1]["self"] is True
    assert got["attendees"][1]["responseStatus"] == "needsAction"
    assert got["extendedProperties"] == body["extendedProperties"]
    assert got["reminders"] == body["reminders"]


def test_all_day_dates_kept_with_exclusive_end(cal):
    ev = cal.events().insert(calendarId="primary", body={
        "summary": "Holiday", "start": {"date": "2026-12-24"},
        "end": {"date": "2026-12-27"}}).execute()
    assert ev["start"] == {"date": "2026-12-24"} and ev["end"] == {"date": "2026-12-27"}
    with pytest.raises(HttpError) as exc:
        cal.events().insert(calendarId="primary", body={
            "start": {"date": "2026-12-24"}, "end": {"date": "2026-12-24"}}).execute()
    assert error_of(exc) == (400, "timeRangeEmpty")


def test_generated_ids_are_base32hex_and_client_ids_are_validated(cal, timed):
    ev = cal.events().insert(calendarId="primary", body=timed(T0)).execute()
    assert set(ev["id"]) <= set("0123456789abcdefghijklmnopqrstuv") and len(ev["id"]) >= 5
    longest = cal.events().insert(calendarId="primary",
                                  body=dict(timed(T0), id="a" * 1024)).execute()
    assert longest["id"] == "a" * 1024
    assert cal.events().insert(calendarId="primary", body=dict(timed(T0), id="v0a9z"[:4] +
                                                               "v")).execute()["id"] == "v0a9v"
    for bad in ("abc", "abcd", "UPPERCASE1", "has-dash1", "wxyz12345", "b" * 1025):
        with pytest.raises(HttpError) as exc:
            cal.events().insert(calendarId="primary", body=dict(timed(T0), id=bad)).execute()
        assert error_of(exc) == (400, "invalid")


def test_duplicate_id_is_409_even_after_delete(cal, timed):
    cal.events().insert(calendarId="primary", body=dict(timed(T0), id="dup00001")).execute()
    with pytest.raises(HttpError) as exc:
        cal.events().insert(calendarId="primary", body=dict(timed(T0), id="dup00001")).execute()
    assert error_of(exc) == (409, "duplicate")
    cal.events().delete(calendarId="primary", eventId="dup00001").execute()
    with pytest.raises(HttpError) as exc:
        cal.events().insert(calendarId="primary", body=dict(timed(T0), id="dup00001")).execute()
    assert error_of(exc) == (409, "duplicate")


def test_delete_keeps_a_cancelled_record_and_second_delete_is_410(cal, timed):
    cal.events().insert(calendarId="primary", body=dict(timed(T0), id="gone0001")).execute()
    assert cal.events().delete(calendarId="primary", eventId="gone0001").execute() == ""
    got = cal.events().get(calendarId="primary", eventId="gone0001").execute()
    assert got["status"] == "cancelled"
    with pytest.raises(HttpError) as exc:
        cal.events().delete(calendarId="primary", eventId="gone0001").execute()
    assert error_of(exc) == (410, "deleted")
    assert cal.events().list(calendarId="primary").execute()["items"] == []
    shown = cal.events().list(calendarId="primary", showDeleted=True).execute()["items"]
    assert [e["id"] for e in shown] == ["gone0001"]


def test_unknown_event_is_404(cal):
    for call in (cal.events().get(calendarId="primary", eventId="unknown00"),
                 cal.events().patch(calendarId="primary", eventId="unknown00", body={}),
                 cal.events().delete(calendarId="primary", eventId="unknown00")):
        with pytest.raises(HttpError) as exc:
            call.execute()
        assert error_of(exc) == (404, "notFound")


def test_patch_merges_objects_replaces_arrays_and_bumps_etag_updated_sequence(cal, timed):
    ev = cal.events().insert(calendarId="primary", body=dict(
        timed(T0), summary="A", attendees=[{"email": "a@example.com"}],
        extendedProperties={"private": {"a": "1"}})).execute()
    patched = cal.events().patch(calendarId="primary", eventId=ev["id"], body={
        "summary": "B", "attendees": [{"email": "b@example.com"}],
        "extendedProperties": {"private": {"b": "2"}}}).execute()
    assert patched["summary"] == "B"
    assert [a["email"] for a in patched["attendees"]] == ["b@example.com"]
    assert patched["extendedProperties"]["private"] == {"a": "1", "b": "2"}
    assert patched["etag"] != ev["etag"] and patched["updated"] >= ev["updated"]
    assert patched["sequence"] == ev["sequence"]  # no time change
    moved = cal.events().patch(calendarId="primary", eventId=ev["id"],
                               body=timed(T0 + timedelta(hours=2))).execute()
    assert moved["sequence"] == ev["sequence"] + 1 and moved["etag"] != patched["etag"]
    clear = {"dateTime": None, "timeZone": None}  # Google merges start/end field by field
    to_all_day = cal.events().patch(calendarId="primary", eventId=ev["id"], body={
        "start": {"date": "2026-12-02", **clear},
        "end": {"date": "2026-12-03", **clear}}).execute()
    assert to_all_day["start"] == {"date": "2026-12-02"}


def test_update_replaces_the_event(cal, timed):
    ev = cal.events().insert(calendarId="primary", body=dict(
        timed(T0), summary="A", description="keep?", location="here")).execute()
    new = cal.events().update(calendarId="primary", eventId=ev["id"],
                              body=dict(timed(T0), summary="Only this")).execute()
    assert new["summary"] == "Only this"
    assert "description" not in new and "location" not in new
    assert new["id"] == ev["id"] and new["created"] == ev["created"]
    assert new["iCalUID"] == ev["iCalUID"] and new["etag"] != ev["etag"]


def test_if_match_with_stale_etag_is_412(cal, timed):
    ev = cal.events().insert(calendarId="primary", body=timed(T0)).execute()
    stale = ev["etag"]
    cal.events().patch(calendarId="primary", eventId=ev["id"], body={"summary": "x"}).execute()
    for req in (cal.events().patch(calendarId="primary", eventId=ev["id"], body={"summary": "y"}),
                cal.events().update(calendarId="primary", eventId=ev["id"], body=timed(T0)),
                cal.events().delete(calendarId="primary", eventId=ev["id"])):
        req.headers["If-Match"] = stale
        with pytest.raises(HttpError) as exc:
            req.execute()
        assert error_of(exc) == (412, "conditionNotMet")
    fresh = cal.events().get(calendarId="primary", eventId=ev["id"]).execute()
    req = cal.events().patch(calendarId="primary", eventId=ev["id"], body={"summary": "z"})
    req.headers["If-Match"] = fresh["etag"]
    assert req.execute()["summary"] == "z"


@pytest.mark.parametrize("body, reason", [
    ({"summary": "no times"}, "required"),
    ({"start": {"dateTime": "2026-12-01T10:00:00Z"}}, "required"),
    ({"start": "tomorrow", "end": {"dateTime": "2026-12-01T10:00:00Z"}}, "invalid"),
    ({"start": {"dateTime": "not a time"}, "end": {"dateTime": "2026-12-01T10:00:00Z"}},
     "invalid"),
    ({"start": {"dateTime": "2026-12-01T10:00:00"}, "end": {"dateTime": "2026-12-01T11:00:00"}},
     "required"),
    ({"start": {"dateTime": "2026-12-01T12:00:00Z"}, "end": {"dateTime": "2026-12-01T10:00:00Z"}},
     "timeRangeEmpty"),
    ({"summary": 5, "start": {"date": "2026-12-01"}, "end": {"date": "2026-12-02"}}, "invalid"),
    ({"start": {"date": "2026-12-01"}, "end": {"date": "2026-12-02"}, "attendees": "bob"},
     "invalid"),
    ({"start": {"date": "2026-12-01"}, "end": {"date": "2026-12-02"},
      "attendees": [{"email": "bob@example.com", "responseStatus": "maybe"}]}, "invalid"),
    ({"start": {"date": "2026-12-01"}, "end": {"date": "2026-12-02"},
      "extendedProperties": {"private": {"n": 1}}}, "invalid"),
    ({"start": {"date": "2026-12-01"}, "end": {"date": "2026-12-02"}, "status": "gone"},
     "invalid"),
    ({"start": {"dateTime": "2026-12-01T10:00:00Z"}, "end": {"dateTime": "2026-12-01T11:00:00Z"},
      "recurrence": ["RRULE:FREQ=DAILY"]}, "required"),
    ({"start": {"dateTime": "2026-12-01T10:00:00Z", "timeZone": "UTC"},
      "end": {"dateTime": "2026-12-01T11:00:00Z", "timeZone": "UTC"},
      "recurrence": ["RRULE:FREQ=SOMETIMES"]}, "invalid"),
])
def test_bad_event_bodies_are_400_with_reason(cal, body, reason):
    with pytest.raises(HttpError) as exc:
        cal.events().insert(calendarId="primary", body=body).execute()
    assert error_of(exc) == (400, reason)


def test_malformed_json_and_wrong_types_never_give_a_stack_trace(ctl, make_creds, base):
    token = make_creds().token
    s = requests.Session()
    s.trust_env = False
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    url = base + "/calendar/v3/calendars/primary/events"
    for data in ("{not json", "[1, 2]", '"string"'):
        r = s.post(url, data=data, headers=headers)
        assert r.status_code == 400 and r.json()["error"]["errors"][0]["reason"] == "parseError"
    r = s.get(url, params={"maxResults": "lots"}, headers=headers)
    assert r.status_code == 400
    assert r.json()["error"]["errors"][0]["reason"] == "invalidParameter"
    r = s.get(url, params={"timeMin": "yesterday"}, headers=headers)
    assert r.status_code == 400 and r.headers["Content-Type"].startswith("application/json")
    r = s.get(base + "/calendar/v3/no/such/endpoint", headers=headers)
    assert r.status_code == 404 and r.json()["error"]["code"] == 404
    r = s.put(base + "/calendar/v3/users/me/calendarList", headers=headers)
    assert r.status_code == 405 and "error" in r.json()


def test_import_is_keyed_by_ical_uid_and_keeps_organizer(cal, timed):
    body = dict(timed(T0), iCalUID="shared-meeting@example.org", summary="Shared",
                organizer={"email": "boss@example.org", "displayName": "Boss"},
                attendees=[{"email": USER, "responseStatus": "needsAction"}])
    first = cal.events().import_(calendarId="primary", body=body).execute()
    assert first["iCalUID"] == "shared-meeting@example.org"
    assert first["organizer"]["email"] == "boss@example.org"
    again = cal.events().import_(calendarId="primary",
                                 body=dict(body, summary="Renamed")).execute()
    assert again["id"] == first["id"] and again["summary"] == "Renamed"
    found = cal.events().list(calendarId="primary",
                              iCalUID="shared-meeting@example.org").execute()["items"]
    assert [e["id"] for e in found] == [first["id"]]
    with pytest.raises(HttpError) as exc:
        cal.events().import_(calendarId="primary", body=timed(T0)).execute()
    assert error_of(exc) == (400, "required")


def test_move_between_calendars(cal, timed):
    other = cal.calendars().insert(body={"summary": "Other"}).execute()
    ev = cal.events().insert(calendarId="primary", body=dict(timed(T0), id="move0001")).execute()
    moved = cal.events().move(calendarId="primary", eventId="move0001",
                              destination=other["id"]).execute()
    assert moved["id"] == "move0001"
    assert cal.events().get(calendarId=other["id"], eventId="move0001").execute()["status"] \
        == "confirmed"
    assert cal.events().get(calendarId="primary", eventId="move0001").execute()["status"] \
        == "cancelled"
    assert ev["etag"] != moved["etag"]


def test_owner_edits_through_control_api_look_like_google_side_changes(cal, ctl, timed):
    ev = cal.events().insert(calendarId="primary", body=dict(timed(T0), summary="A")).execute()
    ctl.patch_event(USER, "primary", ev["id"], {"summary": "Edited in Google"})
    got = cal.events().get(calendarId="primary", eventId=ev["id"]).execute()
    assert got["summary"] == "Edited in Google" and got["etag"] != ev["etag"]
    made = ctl.insert_event(USER, USER, dict(timed(T0), summary="Made in Google"))
    assert cal.events().get(calendarId="primary", eventId=made["id"]).execute()["summary"] \
        == "Made in Google"
    ctl.delete_event(USER, "primary", made["id"])
    assert [e["status"] for e in ctl.events(USER, "primary")] == ["confirmed", "cancelled"]
    assert len(ctl.events(USER, "primary", include_deleted=False)) == 1


def test_move_errors_and_what_each_calendar_reports(cal, timed):
    other = cal.calendars().insert(body={"summary": "Other"}).execute()
    cal.events().insert(calendarId="primary", body=dict(timed(T0), id="move0002")).execute()
    sync = cal.events().list(calendarId="primary").execute()["nextSyncToken"]
    dest_sync = cal.events().list(calendarId=other["id"]).execute()["nextSyncToken"]
    for call, expected in (
            (cal.events().move(calendarId="primary", eventId="nosuch000",
                               destination=other["id"]), (404, "notFound")),
            (cal.events().move(calendarId="primary", eventId="move0002",
                               destination="nobody@group.calendar.google.com"),
             (404, "notFound"))):
        with pytest.raises(HttpError) as exc:
            call.execute()
        assert error_of(exc) == expected
    moved = cal.events().move(calendarId="primary", eventId="move0002",
                              destination=other["id"]).execute()
    assert moved["organizer"]["email"] == other["id"]
    # the source calendar's sync reports a cancellation, the destination's the event
    gone = cal.events().list(calendarId="primary", syncToken=sync).execute()["items"]
    assert [(e["id"], e["status"]) for e in gone] == [("move0002", "cancelled")]
    came = cal.events().list(calendarId=other["id"], syncToken=dest_sync).execute()["items"]
    assert [(e["id"], e["status"]) for e in came] == [("move0002", "confirmed")]
    with pytest.raises(HttpError) as exc:  # the cancelled record left behind can't move
        cal.events().move(calendarId="primary", eventId="move0002",
                          destination=other["id"]).execute()
    assert exc.value.resp.status == 400


def test_import_with_client_id_into_a_secondary_calendar(cal, timed):
    other = cal.calendars().insert(body={"summary": "Imports"}).execute()
    body = dict(timed(T0), id="imp00001", iCalUID="ext-1@example.org", summary="Imported",
                attendees=[{"email": "x@example.org", "responseStatus": "accepted"}],
                extendedProperties={"private": {"crmId": "9"}})
    ev = cal.events().import_(calendarId=other["id"], body=body).execute()
    assert ev["id"] == "imp00001" and ev["iCalUID"] == "ext-1@example.org"
    assert ev["attendees"][0]["responseStatus"] == "accepted"
    assert ev["extendedProperties"] == {"private": {"crmId": "9"}}
    assert cal.events().get(calendarId=other["id"], eventId="imp00001").execute() == ev
    # the primary calendar doesn't see it; a second import there is a separate event
    assert cal.events().list(calendarId="primary", iCalUID="ext-1@example.org") \
        .execute()["items"] == []
    copy = cal.events().import_(calendarId="primary",
                                body=dict(body, id="imp00002")).execute()
    assert copy["id"] == "imp00002"
    with pytest.raises(HttpError) as exc:  # same id, different iCalUID: duplicate id
        cal.events().import_(calendarId="primary",
                             body=dict(body, id="imp00002",
                                       iCalUID="other@example.org")).execute()
    assert error_of(exc) == (409, "duplicate")


def test_if_match_with_the_current_etag_passes_on_update_and_delete(cal, timed):
    ev = cal.events().insert(calendarId="primary", body=timed(T0)).execute()
    req = cal.events().update(calendarId="primary", eventId=ev["id"],
                              body=dict(timed(T0), summary="v2"))
    req.headers["If-Match"] = ev["etag"]
    v2 = req.execute()
    assert v2["summary"] == "v2" and v2["etag"] != ev["etag"]
    req = cal.events().delete(calendarId="primary", eventId=ev["id"])
    req.headers["If-Match"] = ev["etag"]  # stale now
    with pytest.raises(HttpError) as exc:
        req.execute()
    assert error_of(exc) == (412, "conditionNotMet")
    assert cal.events().get(calendarId="primary", eventId=ev["id"]).execute()["status"] == \
        "confirmed"
    req = cal.events().delete(calendarId="primary", eventId=ev["id"])
    req.headers["If-Match"] = v2["etag"]
    req.execute()
    assert cal.events().get(calendarId="primary", eventId=ev["id"]).execute()["status"] == \
        "cancelled"


def test_unknown_calendar_is_404_on_every_events_method(cal, timed):
    bad = "nobody@group.calendar.google.com"
    for call in (cal.events().list(calendarId=bad),
                 cal.events().insert(calendarId=bad, body=timed(T0)),
                 cal.events().import_(calendarId=bad, body=dict(timed(T0), iCalUID="u@x")),
                 cal.events().get(calendarId=bad, eventId="abcde123"),
                 cal.events().patch(calendarId=bad, eventId="abcde123", body={}),
                 cal.events().update(calendarId=bad, eventId="abcde123", body=timed(T0)),
                 cal.events().delete(calendarId=bad, eventId="abcde123"),
                 cal.events().instances(calendarId=bad, eventId="abcde123"),
                 cal.events().move(calendarId=bad, eventId="abcde123", destination="primary"),
                 cal.events().watch(calendarId=bad, body={"id": "c1", "type": "web_hook",
                                                          "address": "http://127.0.0.1:9/"}),
                 cal.calendars().get(calendarId=bad),
                 cal.calendarList().get(calendarId=bad)):
        with pytest.raises(HttpError) as exc:
            call.execute()
        assert error_of(exc) == (404, "notFound")


def test_wrong_types_in_bodies_and_parameters_are_400_in_the_envelope(ctl, make_creds, base):
    token = make_creds().token
    s = requests.Session()
    s.trust_env = False
    headers = {"Authorization": "Bearer " + token, "Content-Type": "application/json"}
    url = base + "/calendar/v3/calendars/primary/events"
    day = {"start": {"date": "2026-12-01"}, "end": {"date": "2026-12-02"}}
    for body in ({"id": 12345, **day}, {"start": 5, "end": []},
                 {"start": {"date": "2026-13-45"}, "end": {"date": "x"}},
                 {"start": {"dateTime": "2026-12-01T10:00:00Z", "timeZone": "Mars/Base"},
                  "end": {"dateTime": "2026-12-01T11:00:00Z"}},
                 {"sequence": "1", **day}, {"organizer": "me", **day},
                 {"reminders": [], **day}, {"recurrence": "RRULE:FREQ=DAILY", **day},
                 {"recurrence": ["RRULE:FREQ=DAILY;UNTIL=soon"], **day}):
        r = s.post(url, data=json.dumps(body), headers=headers)
        assert r.status_code == 400, (body, r.text)
        err = r.json()["error"]
        assert err["code"] == 400 and err["errors"][0]["reason"] in (
            "invalid", "required", "timeRangeEmpty"), body
    for params in ({"singleEvents": "maybe"}, {"showDeleted": "sometimes"},
                   {"orderBy": "summary"}, {"updatedMin": "last week"},
                   {"timeMin": "2026-12-02T00:00:00Z", "timeMax": "2026-12-01T00:00:00Z"},
                   {"privateExtendedProperty": "no-equals-sign"}):
        r = s.get(url, params=params, headers=headers)
        assert r.status_code == 400, (params, r.text)
        assert r.json()["error"]["code"] == 400
    r = s.patch(base + "/calendar/v3/calendars/primary", data="{oops", headers=headers)
    assert r.status_code == 400 and r.json()["error"]["errors"][0]["reason"] == "parseError"


def test_patch_merges_start_like_google_so_switching_to_all_day_needs_a_null(cal, timed):
    """Google's patch merges start/end field by field: sending only `date` to a timed event
    leaves its `dateTime` too, which Google refuses; `"dateTime": null` clears it."""
    body = dict(summary="Switch", **timed(datetime(2030, 1, 7, 9, tzinfo=timezone.utc)))
    event = cal.events().insert(calendarId="primary", body=body).execute()
    with pytest.raises(HttpError) as refused:
        cal.events().patch(calendarId="primary", eventId=event["id"],
                           body={"start": {"date": "2030-01-07"},
                                 "end": {"date": "2030-01-08"}}).execute()
    assert refused.value.resp.status == 400
    cleared = {"dateTime": None, "timeZone": None}
    done = cal.events().patch(calendarId="primary", eventId=event["id"],
                              body={"start": {"date": "2030-01-07", **cleared},
                                    "end": {"date": "2030-01-08", **cleared}}).execute()
    assert done["start"] == {"date": "2030-01-07"} and done["end"] == {"date": "2030-01-08"}


def test_local_times_are_answered_with_their_offset_and_zone(cal, ctl):
    """Google answers RFC 3339 with an offset even when the request sent a local time plus
    timeZone, and reads that local time in that zone (not as UTC)."""
    ev = cal.events().insert(calendarId="primary", body={
        "id": "local0001", "summary": "Local",
        "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-12-01T11:00:00", "timeZone": "Europe/Berlin"}}).execute()
    assert ev["start"] == {"dateTime": "2026-12-01T10:00:00+01:00", "timeZone": "Europe/Berlin"}
    assert ev["end"] == {"dateTime": "2026-12-01T11:00:00+01:00", "timeZone": "Europe/Berlin"}
    assert cal.events().get(calendarId="primary", eventId="local0001").execute()["start"] == \
        ev["start"]
    assert ctl.get_event(USER, USER, "local0001")["start"] == ev["start"]  # stored so

    # 10:00 in Berlin is 09:00 UTC: a window ending 09:30 UTC sees it, one ending 09:00 not
    def ids(**kw):
        return [e["id"] for e in cal.events().list(calendarId="primary", **kw)
                .execute()["items"]]
    assert ids(timeMax="2026-12-01T09:30:00Z") == ["local0001"]
    assert ids(timeMax="2026-12-01T09:00:00Z") == []
    # a patch with a summer local time: the stored zone applies, with its summer offset
    summer = cal.events().patch(calendarId="primary", eventId="local0001", body={
        "start": {"dateTime": "2026-07-01T10:00:00"},
        "end": {"dateTime": "2026-07-01T11:30:00"}}).execute()
    assert summer["start"] == {"dateTime": "2026-07-01T10:00:00+02:00",
                               "timeZone": "Europe/Berlin"}
    assert summer["end"]["dateTime"] == "2026-07-01T11:30:00+02:00"
    # an offset that was sent is kept as sent
    kept = cal.events().insert(calendarId="primary", body={
        "start": {"dateTime": "2026-12-01T10:00:00-05:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-12-01T16:00:00Z"}}).execute()
    assert kept["start"]["dateTime"] == "2026-12-01T10:00:00-05:00"
    assert kept["end"] == {"dateTime": "2026-12-01T16:00:00Z"}


def test_local_times_of_a_series_and_its_instances_carry_offsets(cal):
    cal.events().insert(calendarId="primary", body={
        "id": "localser1", "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=2"],
        "start": {"dateTime": "2027-03-22T09:00:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2027-03-22T09:30:00", "timeZone": "Europe/Berlin"}}).execute()
    items = cal.events().list(calendarId="primary", singleEvents=True).execute()["items"]
    assert [(i["start"]["dateTime"], i["originalStartTime"]["dateTime"]) for i in items] == [
        ("2027-03-22T09:00:00+01:00", "2027-03-22T09:00:00+01:00"),
        ("2027-03-29T09:00:00+02:00", "2027-03-29T09:00:00+02:00")]
    moved = cal.events().patch(calendarId="primary", eventId=items[1]["id"], body={
        "start": {"dateTime": "2027-03-29T14:00:00"},
        "end": {"dateTime": "2027-03-29T14:30:00"}}).execute()
    assert moved["start"]["dateTime"] == "2027-03-29T14:00:00+02:00"
    assert moved["originalStartTime"]["dateTime"] == "2027-03-29T09:00:00+02:00"


def test_zero_length_timed_events_are_fine_but_time_must_not_run_backwards(cal):
    at = {"dateTime": "2026-12-01T10:00:00+01:00", "timeZone": "Europe/Berlin"}
    same_instant = {"dateTime": "2026-12-01T09:00:00Z"}
    ev = cal.events().insert(calendarId="primary", body={
        "id": "nul000001", "summary": "Reminder", "start": at, "end": same_instant}).execute()
    assert ev["start"] == at and ev["end"] == same_instant
    listed = cal.events().list(calendarId="primary", timeMin="2026-12-01T08:59:00Z",
                               timeMax="2026-12-01T09:01:00Z").execute()["items"]
    assert [e["id"] for e in listed] == ["nul000001"]
    for body in ({"end": {"dateTime": "2026-12-01T08:59:59Z"}},
                 {"start": {"dateTime": "2026-12-01T10:00:01+01:00"}}):
        with pytest.raises(HttpError) as exc:
            cal.events().patch(calendarId="primary", eventId="nul000001", body=body).execute()
        assert error_of(exc) == (400, "timeRangeEmpty")
    assert cal.events().get(calendarId="primary", eventId="nul000001").execute()["etag"] == \
        ev["etag"]
    with pytest.raises(HttpError) as exc:
        cal.events().insert(calendarId="primary", body={
            "start": {"dateTime": "2026-12-01T10:00:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2026-12-01T09:30:00", "timeZone": "Europe/Berlin"}}).execute()
    assert error_of(exc) == (400, "timeRangeEmpty")
    for start, end in (("2026-12-24", "2026-12-24"), ("2026-12-24", "2026-12-23")):
        with pytest.raises(HttpError) as exc:
            cal.events().insert(calendarId="primary", body={
                "start": {"date": start}, "end": {"date": end}}).execute()
        assert error_of(exc) == (400, "timeRangeEmpty")
    one_day = cal.events().insert(calendarId="primary", body={
        "start": {"date": "2026-12-24"}, "end": {"date": "2026-12-25"}}).execute()
    with pytest.raises(HttpError) as exc:
        cal.events().patch(calendarId="primary", eventId=one_day["id"],
                           body={"end": {"date": "2026-12-24"}}).execute()
    assert error_of(exc) == (400, "timeRangeEmpty")
