"""The portal's batch codec (portal.google.batch) against google-api-python-client's own:
the same bytes on the wire, the same answers read back, and the library's code for anything
the fast path does not take."""
import re
from datetime import datetime, timedelta, timezone

import httplib2
import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from portal.google.batch import BatchRequest

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


class _Captured(Exception):
    pass


class _CapturingHttp:
    """Keeps the batch request it is given and answers nothing."""

    def request(self, uri, method, body, headers):
        self.body, self.headers = body, headers
        raise _Captured()


def _wire(execute, batch):
    http = _CapturingHttp()
    with pytest.raises(_Captured):
        execute(batch, http, batch._order, batch._requests)
    boundary = re.search(r'boundary="([^"]+)"', http.headers["content-type"]).group(1)
    return http.body.replace(boundary, "BOUNDARY"), http.headers["content-type"].replace(
        boundary, "BOUNDARY")


def _requests(cal, timed):
    events = cal.events()
    body = dict(timed(T0, tz="Europe/Berlin"), summary="Zoë ✓ „quoted“ From here",
                description="line one\nFrom the second line\r\nthird", id="codec0001",
                attendees=[{"email": "x@outside.org", "displayName": "Ünïcode"}])
    patch = events.patch(calendarId="primary", eventId="codec0001", body={"summary": "Later"},
                         sendUpdates="all", conferenceDataVersion=1)
    patch.headers["If-Match"] = '"3181161784712000"'
    delete = events.delete(calendarId="a+b@example.com", eventId="codec0002", sendUpdates="none")
    delete.headers["If-Match"] = '"1"'
    return [events.insert(calendarId="primary", body=body, sendUpdates="none"), patch, delete,
            events.move(calendarId="primary", eventId="codec0001", destination="other@x.org"),
            events.get(calendarId="primary", eventId="codec0001")]


def test_the_fast_encoding_is_the_librarys_byte_for_byte(ctl, cal, timed):
    batch = BatchRequest(batch_uri="http://google.invalid/batch/calendar/v3")
    for request in _requests(cal, timed):
        batch.add(request)
    assert batch._encode(batch._order, batch._requests) is not None  # the fast path is taken
    assert _wire(BatchRequest._execute, batch) == _wire(BatchHttpRequest._execute, batch)


def test_a_part_it_cannot_write_exactly_goes_through_the_librarys_code(ctl, cal, base, timed):
    request = cal.events().insert(calendarId="primary", body=dict(timed(T0), summary="Odd"))
    request.headers["x-note"] = "ünïcode"  # the email package would RFC 2047-encode this
    batch = BatchRequest(batch_uri=base + "/batch/calendar/v3")
    batch.add(request)
    assert batch._encode(batch._order, batch._requests) is None
    assert _wire(BatchRequest._execute, batch) == _wire(BatchHttpRequest._execute, batch)
    answers = {}
    batch = BatchRequest(batch_uri=base + "/batch/calendar/v3",
                         callback=lambda rid, resp, exc: answers.update({rid: (resp, exc)}))
    batch.add(cal.events().insert(calendarId="primary", body=dict(timed(T0), summary="Odd")),
              request_id="only")
    batch.execute()
    assert answers["only"][1] is None and answers["only"][0]["summary"] == "Odd"


def _run(batch_class, base, requests_):
    results = {}
    batch = batch_class(batch_uri=base + "/batch/calendar/v3",
                        callback=lambda rid, resp, exc: results.update({rid: (resp, exc)}))
    for i, request in enumerate(requests_):
        batch.add(request, request_id=str(i))
    batch.execute()
    return [results[str(i)] for i in range(len(requests_))]


def _outcome(pair):
    response, error = pair
    if error is not None:
        assert isinstance(error, HttpError)
        return ("error", error.resp.status, error.reason, error.content)
    # what differs between two runs: the ids chosen and the times of the writes
    varying = ("id", "iCalUID", "htmlLink", "etag", "updated", "created")
    return ("ok", {k: v for k, v in (response or {}).items() if k not in varying})


def test_googlesims_answers_read_back_as_the_library_reads_them(ctl, cal, base, timed):
    events = cal.events()

    def batch_of(prefix):
        return [events.insert(calendarId="primary", body=dict(
                    timed(T0 + timedelta(hours=1)), id=f"{prefix}0001", summary="Grüße ✓")),
                events.insert(calendarId="primary", body=dict(timed(T0), id=f"{prefix}0001")),
                events.insert(calendarId="primary", body={"summary": "no start"}),
                events.delete(calendarId="primary", eventId=f"{prefix}gone"),
                events.patch(calendarId="primary", eventId=f"{prefix}0001",
                             body={"location": "Raum 1 – Süd"})]

    ours = [_outcome(p) for p in _run(BatchRequest, base, batch_of("ours"))]
    library = [_outcome(p) for p in _run(BatchHttpRequest, base, batch_of("libs"))]
    assert [o[:2] for o in ours] == [o[:2] for o in library]
    assert [o[0] for o in ours] == ["ok", "error", "error", "error", "ok"]
    assert ours[0][1]["summary"] == "Grüße ✓" and ours[4][1]["location"] == "Raum 1 – Süd"
    assert [o[1] for o in ours[1:4]] == [409, 400, 404]
    assert ours[1][2:] == library[1][2:] and ours[2][2:] == library[2][2:]


class _AnsweringHttp:
    """Answers a batch with a fixed multipart body (shapes googlesim never sends)."""

    def __init__(self, content_type, body):
        self.content_type, self.body = content_type, body

    def request(self, uri, method, body, headers):
        ids = re.findall(r"Content-ID: <([^>]+)>", body)
        answer = self.body
        for i, content_id in enumerate(ids):
            answer = answer.replace(f"ID{i}", content_id)
        return httplib2.Response({"status": "200", "content-type": self.content_type}), \
            answer.encode("utf-8")


# The part headers end their lines with CRLF (as Google's do) or LF only (the fast reader
# hands that answer to the library); a part's own HTTP head must be CRLF for either.
@pytest.mark.parametrize("newline", ["\r\n", "\n"])
def test_an_unusual_answer_is_read_as_the_library_reads_it(cal, timed, newline):
    ok = ('HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=UTF-8\r\n'
          'ETag: "e1"\r\n\r\n{"id": "a1", "summary": "Ä"}')
    folded = ('HTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n'
              'X-Long: one\r\n two\r\n\r\n{"error": {"code": 404, "message": "Not Found"}}')
    empty = 'HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n'
    body = newline.join([
        "preamble", "--xyz", "Content-Type: application/http", "Content-ID: <response-ID0>", "",
        ok, "--xyz", "Content-Type: application/http", "Content-ID: <response-ID1>", "",
        folded, "--xyz", "Content-Type: application/http", "Content-ID: <response-ID2>", "",
        empty, "--xyz--", ""])
    events = cal.events()
    outcomes = []
    for batch_class in (BatchRequest, BatchHttpRequest):
        results = {}
        batch = batch_class(batch_uri="http://google.invalid/batch",
                            callback=lambda rid, resp, exc: results.update({rid: (resp, exc)}))
        for i in range(3):
            batch.add(events.get(calendarId="primary", eventId=f"e{i}"), request_id=str(i))
        batch.execute(http=_AnsweringHttp("multipart/mixed; boundary=xyz", body))
        outcomes.append([(r, e.resp.status if e else None) for r, e in
                         (results[str(i)] for i in range(3))])
    ours, library = outcomes
    assert ours == library
    assert ours[0] == ({"id": "a1", "summary": "Ä"}, None) and ours[1][1] == 404
