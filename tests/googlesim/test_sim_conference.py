"""Google Meet conferences: conferenceData.createRequest with conferenceDataVersion=1."""
import json
import re
from datetime import datetime, timezone

import pytest
from googleapiclient.errors import HttpError

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)
MEET = {"createRequest": {"requestId": "req-1",
                          "conferenceSolutionKey": {"type": "hangoutsMeet"}}}


def test_create_request_makes_a_meet_conference(cal, timed):
    ev = cal.events().insert(calendarId="primary", conferenceDataVersion=1,
                             body=dict(timed(T0), summary="Call", conferenceData=MEET)) \
        .execute()
    data = ev["conferenceData"]
    assert data["createRequest"]["status"] == {"statusCode": "success"}
    assert data["createRequest"]["requestId"] == "req-1"
    assert data["conferenceSolution"]["key"] == {"type": "hangoutsMeet"}
    assert data["conferenceSolution"]["name"] == "Google Meet"
    assert data["conferenceSolution"]["iconUri"].startswith("https://")
    assert re.fullmatch(r"[a-z]{3}-[a-z]{4}-[a-z]{3}", data["conferenceId"])
    video = [e for e in data["entryPoints"] if e["entryPointType"] == "video"]
    assert video == [{"entryPointType": "video",
                      "uri": "https://meet.google.com/" + data["conferenceId"],
                      "label": "meet.google.com/" + data["conferenceId"]}]
    assert ev["hangoutLink"] == video[0]["uri"]
    assert cal.events().get(calendarId="primary", eventId=ev["id"]).execute() == ev


def test_without_version_1_the_body_conference_data_is_ignored(cal, timed):
    plain = cal.events().insert(calendarId="primary",
                                body=dict(timed(T0), conferenceData=MEET,
                                          hangoutLink="https://meet.google.com/x")).execute()
    assert "conferenceData" not in plain and "hangoutLink" not in plain
    ev = cal.events().patch(calendarId="primary", eventId=plain["id"], conferenceDataVersion=1,
                            body={"conferenceData": MEET}).execute()
    meet = ev["conferenceData"]
    # version 0: neither a new request, nor null, nor a full replace touch the conference
    for call in (cal.events().patch(calendarId="primary", eventId=ev["id"], body={
                     "conferenceData": {"createRequest": dict(MEET["createRequest"],
                                                              requestId="req-2")}}),
                 cal.events().patch(calendarId="primary", eventId=ev["id"],
                                    body={"conferenceData": None, "summary": "kept"}),
                 cal.events().update(calendarId="primary", eventId=ev["id"],
                                     body=dict(timed(T0), summary="replaced"))):
        got = call.execute()
        assert got["conferenceData"] == meet and got["hangoutLink"] == ev["hangoutLink"]
    # version 1: the same requestId keeps the conference, a new one makes a new one
    same = cal.events().patch(calendarId="primary", eventId=ev["id"], conferenceDataVersion=1,
                              body={"conferenceData": MEET}).execute()
    assert same["conferenceData"] == meet
    new = cal.events().patch(calendarId="primary", eventId=ev["id"], conferenceDataVersion=1,
                             body={"conferenceData": {"createRequest": dict(
                                 MEET["createRequest"], requestId="req-3")}}).execute()
    assert new["conferenceData"]["conferenceId"] != meet["conferenceId"]
    assert new["hangoutLink"].endswith(new["conferenceData"]["conferenceId"])
    # ... and null removes it, with the hangoutLink
    gone = cal.events().patch(calendarId="primary", eventId=ev["id"], conferenceDataVersion=1,
                              body={"conferenceData": None}).execute()
    assert "conferenceData" not in gone and "hangoutLink" not in gone


def test_bad_conference_requests_are_400(cal, timed):
    for data, version in (({"createRequest": {"requestId": "r",
                                              "conferenceSolutionKey": {"type": "addOn"}}}, 1),
                          ({"createRequest": {"conferenceSolutionKey":
                                              {"type": "hangoutsMeet"}}}, 1),
                          ("meet please", 1), (MEET, 2)):
        with pytest.raises(HttpError) as exc:
            cal.events().insert(calendarId="primary", conferenceDataVersion=version,
                                body=dict(timed(T0), conferenceData=data)).execute()
        assert exc.value.resp.status == 400, data
        assert "details" not in json.loads(exc.value.content)["error"]


def test_copies_share_the_conference(ctl, make_creds, calendar_for, timed):
    ann = calendar_for(make_creds("ann@example.com"))
    bob = calendar_for(make_creds("bob@example.com"))
    ev = ann.events().insert(calendarId="primary", conferenceDataVersion=1, body=dict(
        timed(T0), id="meet00001", conferenceData=MEET,
        attendees=[{"email": "bob@example.com"}])).execute()
    copy = bob.events().get(calendarId="primary", eventId="meet00001").execute()
    assert copy["conferenceData"] == ev["conferenceData"]
    assert copy["hangoutLink"] == ev["hangoutLink"]
    with pytest.raises(HttpError) as exc:  # a guest can't replace the organizer's call
        bob.events().patch(calendarId="primary", eventId="meet00001", conferenceDataVersion=1,
                           body={"conferenceData": {"createRequest": dict(
                               MEET["createRequest"], requestId="bob")}}).execute()
    assert exc.value.resp.status == 403
    # an owner edit in Google's UI adds a Meet link to an existing event (version 1)
    later = ctl.insert_event("ann@example.com", "primary", dict(timed(T0)))
    linked = ctl.patch_event("ann@example.com", "primary", later["id"],
                             {"conferenceData": MEET})
    assert linked["hangoutLink"].startswith("https://meet.google.com/")
