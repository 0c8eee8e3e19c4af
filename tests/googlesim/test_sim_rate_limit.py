"""Per-account rate limiting, switched on from the control API."""
import json
import time
from datetime import datetime, timezone

import pytest
from googleapiclient.errors import HttpError
from googleapiclient.http import BatchHttpRequest

from googlesim.testing import SCOPE_CONTACTS, TEST_USER as USER, SimError

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


def reason(err):
    body = json.loads(err.content)["error"]
    return err.resp.status, body["errors"][0]["reason"], body["errors"][0]["domain"]


def test_off_by_default_and_cleared_by_reset(ctl, cal):
    assert "rate_limit" not in ctl.settings()
    for _ in range(30):
        cal.calendarList().list().execute()
    ctl.rate_limit(1, burst=1)
    assert ctl.settings()["rate_limit"] == {"per_user_per_second": 1, "burst": 1}
    ctl.reset()
    assert "rate_limit" not in ctl.settings() and ctl.stats()["rate_limited"] == 0


def test_requests_over_the_rate_get_user_rate_limit_exceeded(ctl, cal, make_creds,
                                                            calendar_for):
    ctl.rate_limit(1, burst=3)
    ctl.stats_reset()
    outcomes = []
    for _ in range(5):
        try:
            cal.events().list(calendarId="primary").execute()
            outcomes.append("ok")
        except HttpError as err:
            outcomes.append(reason(err))
    assert outcomes == ["ok"] * 3 + [(403, "userRateLimitExceeded", "usageLimits")] * 2
    assert ctl.stats()["rate_limited"] == 2
    # each account has its own bucket
    other = calendar_for(make_creds("other@example.com"))
    other.events().list(calendarId="primary").execute()
    time.sleep(1.05)  # one more request's worth refills
    cal.events().list(calendarId="primary").execute()
    with pytest.raises(HttpError):
        cal.events().list(calendarId="primary").execute()
    ctl.rate_limit()  # off again
    for _ in range(5):
        cal.events().list(calendarId="primary").execute()


def test_every_batch_part_counts(ctl, cal, base, timed):
    ctl.rate_limit(0.001, burst=4)
    results = {}

    def callback(request_id, response, exception):
        results[request_id] = exception

    batch = BatchHttpRequest(callback=callback, batch_uri=base + "/batch/calendar/v3")
    for i in range(6):
        batch.add(cal.events().insert(calendarId="primary", body=timed(T0)), request_id=str(i))
    batch.execute()
    assert [results[str(i)] is None for i in range(6)] == [True] * 4 + [False] * 2
    assert reason(results["5"]) == (403, "userRateLimitExceeded", "usageLimits")
    assert ctl.stats()["rate_limited"] == 2
    assert len(ctl.events(USER, "primary")) == 4  # the control API isn't rate limited


def test_people_requests_over_the_rate_get_429(ctl, make_creds, people_for):
    people = people_for(make_creds(scopes=(SCOPE_CONTACTS,)))
    ctl.rate_limit(0.001, burst=1)
    people.people().connections().list(resourceName="people/me",
                                       personFields="names").execute()
    with pytest.raises(HttpError) as exc:
        people.people().connections().list(resourceName="people/me",
                                           personFields="names").execute()
    assert exc.value.resp.status == 429
    assert json.loads(exc.value.content)["error"]["status"] == "RESOURCE_EXHAUSTED"


@pytest.mark.parametrize("spec", [{"per_user_per_second": 0}, {"per_user_per_second": "5"},
                                  {"per_user_per_second": 5, "burst": 0}, {"burst": 3}, 7])
def test_bad_rate_limit_specs_are_400(ctl, spec):
    with pytest.raises(SimError) as exc:
        ctl.settings(rate_limit=spec)
    assert exc.value.response.status_code == 400
    assert "rate_limit" not in ctl.settings()
