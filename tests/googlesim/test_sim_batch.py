"""POST /batch/calendar/v3 through googleapiclient.http.BatchHttpRequest."""
from datetime import datetime, timedelta, timezone

import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


def run_batch(base, requests_):
    results = {}

    def callback(request_id, response, exception):
        results[request_id] = (response, exception)

    batch = BatchHttpRequest(callback=callback, batch_uri=base + "/batch/calendar/v3")
    for i, req in enumerate(requests_):
        batch.add(req, request_id=str(i))
    batch.execute()
    return [results[str(i)] for i in range(len(requests_))]


def test_batch_answers_each_part_in_its_own_part(ctl, cal, base, timed):
    reqs = [cal.events().insert(calendarId="primary",
                                body=dict(timed(T0 + timedelta(hours=i)), id=f"batch{i:03d}",
                                          summary=f"Ünïcode {i}"))
            for i in range(3)]
    reqs.append(cal.events().insert(calendarId="primary", body=dict(timed(T0), id="batch000")))
    reqs.append(cal.events().get(calendarId="primary", eventId="nothere00"))
    out = run_batch(base, reqs)
    assert [r["id"] for r, e in out[:3]] == ["batch000", "batch001", "batch002"]
    assert out[0][0]["summary"] == "Ünïcode 0"
    assert isinstance(out[3][1], HttpError) and out[3][1].resp.status == 409
    assert isinstance(out[4][1], HttpError) and out[4][1].resp.status == 404
    listed = cal.events().list(calendarId="primary").execute()["items"]
    assert len(listed) == 3


def test_batch_counts_once_in_stats_with_parts_separately(ctl, cal, base, timed):
    ctl.stats_reset()
    run_batch(base, [cal.events().insert(calendarId="primary", body=timed(T0))
                     for _ in range(4)])
    stats = ctl.stats()
    assert stats["requests"] == {"POST /batch/calendar/v3": 1}
    assert stats["total"] == 1 and stats["batch_parts"] == 4
    assert stats["batch_requests"] == {"POST /calendar/v3/calendars/{calendarId}/events": 4}


def test_batch_over_50_parts_is_refused(ctl, cal, base, timed):
    batch = BatchHttpRequest(batch_uri=base + "/batch/calendar/v3")
    # googleapiclient itself refuses more than 1000; the server's limit is 50
    for _ in range(51):
        batch.add(cal.events().list(calendarId="primary"))
    with pytest.raises(HttpError) as exc:
        batch.execute()
    assert exc.value.resp.status == 400


def test_batch_of_exactly_50_parts_is_answered_part_by_part(ctl, cal, base, timed):
    out = run_batch(base, [cal.events().insert(calendarId="primary",
                                               body=dict(timed(T0), id=f"part{i:03d}0"))
                           for i in range(50)])
    assert [r["id"] for r, e in out] == [f"part{i:03d}0" for i in range(50)]
    assert all(e is None for r, e in out)
    assert ctl.stats()["batch_parts"] == 50


def test_batch_parts_each_need_a_valid_token(ctl, cal, base, make_creds, calendar_for):
    from googlesim.testing import SCOPE_CONTACTS
    weak = calendar_for(make_creds(scopes=(SCOPE_CONTACTS,)))
    out = run_batch(base, [weak.events().list(calendarId="primary")])
    assert isinstance(out[0][1], HttpError) and out[0][1].resp.status == 403


def test_faults_apply_to_matching_batch_parts(ctl, cal, base, timed):
    ctl.fault(method="POST", path="/calendar/v3/calendars/", status=429,
              reason="rateLimitExceeded")
    out = run_batch(base, [cal.events().insert(calendarId="primary", body=timed(T0))
                           for _ in range(2)])
    assert out[0][1].resp.status == 429 and out[1][1] is None


def test_non_multipart_batch_is_400(ctl, base):
    import requests
    s = requests.Session()
    s.trust_env = False
    r = s.post(base + "/batch/calendar/v3", data="{}",
               headers={"Content-Type": "application/json"})
    assert r.status_code == 400 and r.json()["error"]["code"] == 400


def test_batch_parts_keep_encoded_paths_and_query_strings(ctl, cal, base, timed):
    from googlesim.testing import TEST_USER
    cal.events().insert(calendarId="primary", body=dict(timed(T0), id="encode001",
                                                        summary="Needle here")).execute()
    cal.events().insert(calendarId="primary", body=dict(timed(T0), id="encode002",
                                                        summary="Hay")).execute()
    out = run_batch(base, [
        cal.events().get(calendarId=TEST_USER, eventId="encode001"),  # "@" is %40 here
        cal.events().list(calendarId=TEST_USER, q="needle", maxResults=5),
        cal.events().patch(calendarId="primary", eventId="encode002",
                           body={"summary": "Häy ✓"})])
    assert out[0][0]["id"] == "encode001"
    assert [e["id"] for e in out[1][0]["items"]] == ["encode001"]
    assert out[2][0]["summary"] == "Häy ✓"


def _raw_part(cid, request_line, auth=None, body=""):
    head = f"{request_line}\r\nContent-Type: application/json\r\n"
    if auth:
        head += f"Authorization: Bearer {auth}\r\n"
    return (f"Content-Type: application/http\r\nContent-ID: <{cid}>\r\n\r\n"
            f"{head}\r\n{body}")


def test_raw_multipart_with_crlf_preamble_per_part_auth_and_a_bad_part(ctl, base, make_creds):
    import email
    import email.policy
    import json
    import requests
    ann = make_creds("ann@example.com").token
    bob = make_creds("bob@example.com").token
    parts = [
        _raw_part("a", "GET /calendar/v3/calendars/primary HTTP/1.1"),
        _raw_part("b", "GET /calendar/v3/calendars/primary HTTP/1.1", auth=bob),
        "Content-Type: application/http\r\nContent-ID: <c>\r\n\r\nnot an http request",
        _raw_part("d", "GET /calendar/v3/calendars/primary HTTP/1.1", auth="bogus"),
    ]
    body = ("This is the preamble.\r\n--xyz\r\n" + "\r\n--xyz\r\n".join(parts) +
            "\r\n--xyz--\r\nepilogue")
    s = requests.Session()
    s.trust_env = False
    r = s.post(base + "/batch/calendar/v3", data=body.encode(), headers={
        "Authorization": "Bearer " + ann, "Content-Type": 'multipart/mixed; boundary="xyz"'})
    assert r.status_code == 200
    msg = email.message_from_bytes(
        b"Content-Type: " + r.headers["Content-Type"].encode() + b"\r\n\r\n" + r.content,
        policy=email.policy.HTTP)
    answers = {}
    for part in msg.get_payload():
        status_line, _, rest = part.get_payload().partition("\r\n")
        answers[part["Content-ID"]] = (int(status_line.split()[1]), rest.split("\r\n\r\n", 1)[1])
    assert set(answers) == {"<response-a>", "<response-b>", "<response-c>", "<response-d>"}
    assert answers["<response-a>"][0] == 200
    assert json.loads(answers["<response-a>"][1])["id"] == "ann@example.com"
    assert json.loads(answers["<response-b>"][1])["id"] == "bob@example.com"
    assert answers["<response-c>"][0] == 400
    assert answers["<response-d>"][0] == 401


def test_people_parts_in_a_batch_count_under_their_own_routes(ctl, make_creds, base):
    import requests
    from googlesim.testing import SCOPE_CONTACTS
    token = make_creds(scopes=(SCOPE_CONTACTS,)).token
    part = _raw_part("1", "GET /v1/people/me?personFields=names HTTP/1.1")
    body = "--b1\r\n" + part + "\r\n--b1\r\n" + part.replace("<1>", "<2>") + "\r\n--b1--\r\n"
    ctl.stats_reset()
    s = requests.Session()
    s.trust_env = False
    r = s.post(base + "/batch", data=body, headers={
        "Authorization": "Bearer " + token, "Content-Type": "multipart/mixed; boundary=b1"})
    assert r.status_code == 200 and r.text.count("HTTP/1.1 200 OK") == 2
    stats = ctl.stats()
    assert stats["requests"] == {"POST /batch": 1}
    assert stats["batch_requests"] == {"GET /v1/people/{personId}": 2}
