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
