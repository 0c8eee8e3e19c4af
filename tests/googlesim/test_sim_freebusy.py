"""freeBusy.query through the real client."""
import json

import pytest
from googleapiclient.errors import HttpError

ANN, BOB = "ann@example.com", "bob@example.com"
DAY = "2026-12-01"


def at(hhmm, day=DAY):
    return {"dateTime": f"{day}T{hhmm}:00Z"}


def ev(svc, start, end, cal="primary", **extra):
    return svc.events().insert(calendarId=cal, body=dict(start=at(start), end=at(end),
                                                         **extra)).execute()


@pytest.fixture
def ann(make_creds, calendar_for):
    return calendar_for(make_creds(ANN))


@pytest.fixture
def bob(make_creds, calendar_for):
    return calendar_for(make_creds(BOB))


def busy(svc, *ids, tmin=f"{DAY}T00:00:00Z", tmax=f"{DAY}T23:59:00Z", **extra):
    resp = svc.freebusy().query(body=dict(timeMin=tmin, timeMax=tmax,
                                          items=[{"id": i} for i in ids], **extra)).execute()
    assert resp["kind"] == "calendar#freeBusy"
    return resp


def spans(resp, cid):
    return [(b["start"][11:16], b["end"][11:16]) for b in resp["calendars"][cid]["busy"]]


def test_busy_blocks_merge_and_skip_free_cancelled_and_declined(ann):
    ev(ann, "09:00", "10:00")
    ev(ann, "09:30", "11:00")
    ev(ann, "11:00", "11:30")                     # touching: merged
    ev(ann, "13:00", "14:00", transparency="transparent")
    gone = ev(ann, "15:00", "16:00")
    ann.events().delete(calendarId="primary", eventId=gone["id"]).execute()
    ev(ann, "17:00", "18:00", attendees=[{"email": ANN, "responseStatus": "declined"}])
    ev(ann, "19:00", "19:00")                     # zero length: nothing busy
    ev(ann, "22:00", "23:00")
    resp = busy(ann, ANN, tmin=f"{DAY}T00:00:00Z", tmax=f"{DAY}T22:30:00Z")
    assert spans(resp, ANN) == [("09:00", "11:30"), ("22:00", "22:30")]  # clipped
    assert resp["timeMin"] == f"{DAY}T00:00:00.000Z"
    assert resp["calendars"][ANN]["busy"][0] == {"start": f"{DAY}T09:00:00Z",
                                                 "end": f"{DAY}T11:30:00Z"}
    assert "errors" not in resp["calendars"][ANN]


def test_recurring_series_expand_with_exceptions_and_answers_in_a_zone(ann):
    ann.events().insert(calendarId="primary", body={
        "id": "standup01", "recurrence": ["RRULE:FREQ=DAILY;COUNT=3"],
        "start": {"dateTime": "2026-11-30T09:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-11-30T09:15:00+01:00", "timeZone": "Europe/Berlin"}}) \
        .execute()
    ann.events().patch(calendarId="primary", eventId="standup01_20261201T080000Z", body={
        "start": {"dateTime": "2026-12-01T14:00:00+01:00"},
        "end": {"dateTime": "2026-12-01T14:30:00+01:00"}}).execute()
    ann.events().delete(calendarId="primary", eventId="standup01_20261202T080000Z").execute()
    resp = busy(ann, "primary", tmin="2026-11-30T00:00:00Z", tmax="2026-12-03T00:00:00Z",
                timeZone="Europe/Berlin")
    assert [(b["start"], b["end"]) for b in resp["calendars"]["primary"]["busy"]] == [
        ("2026-11-30T09:00:00+01:00", "2026-11-30T09:15:00+01:00"),
        ("2026-12-01T14:00:00+01:00", "2026-12-01T14:30:00+01:00")]


def test_who_may_be_asked(ann, bob, ctl):
    ev(bob, "10:00", "11:00")
    bobs_other = bob.calendars().insert(body={"summary": "Bob private"}).execute()
    ev(bob, "12:00", "13:00", cal=bobs_other["id"])
    anns_other = ann.calendars().insert(body={"summary": "Ann team"}).execute()
    ev(ann, "08:00", "09:00", cal=anns_other["id"])
    resp = busy(ann, BOB, anns_other["id"], bobs_other["id"], "stranger@outside.org")
    assert spans(resp, BOB) == [("10:00", "11:00")]          # a sandbox account's primary
    assert spans(resp, anns_other["id"]) == [("08:00", "09:00")]  # her own calendars
    for cid in (bobs_other["id"], "stranger@outside.org"):
        assert resp["calendars"][cid] == {"errors": [{"domain": "global",
                                                      "reason": "notFound"}], "busy": []}


def test_a_guest_is_busy_until_they_decline(ann, bob):
    meeting = ev(ann, "10:00", "11:00", id="meet00001", attendees=[{"email": BOB}])
    assert spans(busy(ann, ANN, BOB), BOB) == [("10:00", "11:00")]
    copy = bob.events().get(calendarId="primary", eventId=meeting["id"]).execute()
    bob.events().patch(calendarId="primary", eventId=meeting["id"], body={"attendees": [
        dict(a, responseStatus="declined") for a in copy["attendees"]]}).execute()
    resp = busy(ann, ANN, BOB)
    assert spans(resp, BOB) == [] and spans(resp, ANN) == [("10:00", "11:00")]


def test_bad_queries_are_400_and_the_freebusy_scope_is_enough(ann, make_creds, calendar_for):
    for body in ({"timeMax": f"{DAY}T10:00:00Z", "items": [{"id": ANN}]},
                 {"timeMin": f"{DAY}T10:00:00Z", "timeMax": f"{DAY}T10:00:00Z"},
                 {"timeMin": "soon", "timeMax": f"{DAY}T10:00:00Z"},
                 {"timeMin": f"{DAY}T09:00:00Z", "timeMax": f"{DAY}T10:00:00Z",
                  "items": "everyone"}):
        with pytest.raises(HttpError) as exc:
            ann.freebusy().query(body=body).execute()
        assert exc.value.resp.status == 400
        assert "details" not in json.loads(exc.value.content)["error"]
    fb = calendar_for(make_creds(ANN, scopes=(
        "https://www.googleapis.com/auth/calendar.freebusy",)))
    assert spans(busy(fb, ANN), ANN) == []
    with pytest.raises(HttpError) as exc:
        fb.events().list(calendarId="primary").execute()
    assert exc.value.resp.status == 403
