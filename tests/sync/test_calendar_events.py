"""The Calendar client layer against googlesim over real HTTP: paging, sync tokens, 410,
batches of 50, 409/412 handling and backoff on injected faults."""
import random
import uuid
from datetime import datetime, timedelta, timezone

import pytest

from googlesim.testing import (SCOPE_CALENDAR, TEST_CLIENT_ID, TEST_CLIENT_SECRET,
                               TEST_REDIRECT_URI)
from portal.google import calendar_events as ce
from portal.google.client import GoogleClient, PermanentError, TransientError
from portal.google.urls import google_endpoints
from portal.sync.calendar.engine import google_event_id

USER = "ann@example.com"


@pytest.fixture
def gcal(sim, googlesim_server):
    sim.register_client(TEST_CLIENT_ID, TEST_CLIENT_SECRET, [TEST_REDIRECT_URI])
    tokens = sim.issue_tokens(USER, TEST_CLIENT_ID, [SCOPE_CALENDAR])
    client = GoogleClient(endpoints=google_endpoints(googlesim_server.base_url),
                          client_id=TEST_CLIENT_ID, client_secret=TEST_CLIENT_SECRET,
                          refresh_token=tokens["refresh_token"],
                          access_token=tokens["access_token"],
                          expiry=datetime.now(timezone.utc) + timedelta(seconds=3000),
                          scopes=[SCOPE_CALENDAR])
    return client


class Sleeps:
    def __init__(self):
        self.calls = []

    def __call__(self, seconds):
        self.calls.append(seconds)


@pytest.fixture
def backoff():
    return ce.Backoff(sleep=Sleeps(), rng=random.Random(1))


def body(n, **extra):
    start = datetime(2031, 1, 1, 9, tzinfo=timezone.utc) + timedelta(hours=n)
    value = {"summary": f"Event {n}", "start": {"dateTime": start.isoformat(), "timeZone": "UTC"},
             "end": {"dateTime": (start + timedelta(hours=1)).isoformat(), "timeZone": "UTC"}}
    value.update(extra)
    return value


def inserts(count):
    writes = []
    for n in range(count):
        eid = google_event_id(uuid.UUID(int=n + 1))
        writes.append(ce.Write(key=n, op=ce.OP_INSERT, event_id=eid, body=body(n, id=eid)))
    return writes


def test_batched_inserts_use_one_http_request_per_50_and_land_in_the_calendar(gcal, sim,
                                                                              backoff):
    sim.stats_reset()
    results = ce.apply_writes(gcal.calendar, gcal.endpoints.calendar_batch, USER, inserts(120),
                              backoff=backoff)
    assert all(r.ok for r in results)
    assert results[5].event["id"] == google_event_id(uuid.UUID(int=6))
    stats = sim.stats()
    assert stats["batch_parts"] == 120
    assert sum(v for k, v in stats["requests"].items() if "batch" in k) == 3
    assert len([e for e in sim.events(USER, USER) if e["status"] != "cancelled"]) == 120


def test_listing_pages_and_then_returns_only_changes(gcal, sim, backoff):
    ce.apply_writes(gcal.calendar, gcal.endpoints.calendar_batch, USER, inserts(7),
                    backoff=backoff)
    first = ce.list_events(gcal.calendar, USER, backoff=backoff, max_results=3)
    assert first.full and first.pages == 3 and len(first.events) == 7
    assert first.next_sync_token
    sim.patch_event(USER, USER, google_event_id(uuid.UUID(int=2)), {"summary": "Changed ✨"})
    again = ce.list_events(gcal.calendar, USER, sync_token=first.next_sync_token,
                           backoff=backoff)
    assert not again.full
    assert [e["summary"] for e in again.events] == ["Changed ✨"]


def test_expired_sync_token_raises_full_sync_required(gcal, sim, backoff):
    listing = ce.list_events(gcal.calendar, USER, backoff=backoff)
    sim.expire(sync_tokens=True)
    with pytest.raises(ce.FullSyncRequired):
        ce.list_events(gcal.calendar, USER, sync_token=listing.next_sync_token, backoff=backoff)


def test_insert_retried_after_a_crash_patches_instead_of_duplicating(gcal, sim, backoff):
    writes = inserts(2)
    ce.apply_writes(gcal.calendar, gcal.endpoints.calendar_batch, USER, writes, backoff=backoff)
    writes[0].body["summary"] = "Second try"
    results = ce.apply_writes(gcal.calendar, gcal.endpoints.calendar_batch, USER, writes,
                              backoff=backoff)
    assert all(r.ok and r.duplicate for r in results)
    events = [e for e in sim.events(USER, USER) if e["status"] != "cancelled"]
    assert len(events) == 2
    assert {e["summary"] for e in events} == {"Second try", "Event 1"}


def test_insert_over_an_event_deleted_in_google_revives_it(gcal, sim, backoff):
    writes = inserts(1)
    ce.apply_writes(gcal.calendar, gcal.endpoints.calendar_batch, USER, writes, backoff=backoff)
    sim.delete_event(USER, USER, writes[0].event_id)
    [result] = ce.apply_writes(gcal.calendar, gcal.endpoints.calendar_batch, USER, writes,
                               backoff=backoff)
    assert result.ok
    assert sim.get_event(USER, USER, writes[0].event_id)["status"] == "confirmed"


def test_stale_etag_gives_the_fresh_copy_and_a_bad_event_fails_alone(gcal, sim, backoff):
    [done] = ce.apply_writes(gcal.calendar, gcal.endpoints.calendar_batch, USER, inserts(1),
                             backoff=backoff)
    eid = done.event["id"]
    sim.patch_event(USER, USER, eid, {"summary": "Edited in Google"})
    bad = ce.Write(key="bad", op=ce.OP_INSERT, event_id="bad1d0000",
                   body={"id": "bad1d0000", "summary": "no times"})
    stale = ce.Write(key="stale", op=ce.OP_PATCH, event_id=eid, body={"summary": "CRM"},
                     if_match=done.event["etag"])
    results = ce.apply_writes(gcal.calendar, gcal.endpoints.calendar_batch, USER, [bad, stale],
                              backoff=backoff)
    assert isinstance(results[0].error, PermanentError) and results[0].error.status == 400
    assert not results[1].ok
    assert results[1].conflict_event["summary"] == "Edited in Google"
    assert sim.get_event(USER, USER, eid)["summary"] == "Edited in Google"


def test_deleting_an_already_deleted_event_is_fine(gcal, sim, backoff):
    [done] = ce.apply_writes(gcal.calendar, gcal.endpoints.calendar_batch, USER, inserts(1),
                             backoff=backoff)
    delete = ce.Write(key=1, op=ce.OP_DELETE, event_id=done.event["id"])
    assert ce.apply_writes(gcal.calendar, gcal.endpoints.calendar_batch, USER, [delete],
                           backoff=backoff)[0].ok
    assert ce.apply_writes(gcal.calendar, gcal.endpoints.calendar_batch, USER, [delete],
                           backoff=backoff)[0].ok


@pytest.mark.parametrize("fault", [
    dict(status=429, reason="rateLimitExceeded"),
    dict(status=403, reason="userRateLimitExceeded"),
    dict(status=503, reason="backendError"),
    dict(drop=True),
])
def test_transient_faults_on_the_batch_are_retried_with_backoff(gcal, sim, backoff, fault):
    sim.fault(method="POST", path="/batch/calendar/v3", count=2, **fault)
    results = ce.apply_writes(gcal.calendar, gcal.endpoints.calendar_batch, USER, inserts(3),
                              backoff=backoff)
    assert all(r.ok for r in results)
    # (httplib2 itself retries a dropped connection once before we see it)
    assert len(backoff.sleep.calls) == (1 if fault.get("drop") else 2)
    assert len([e for e in sim.events(USER, USER) if e["status"] != "cancelled"]) == 3


def test_rate_limited_parts_are_retried_alone(gcal, sim, backoff):
    sim.fault(method="POST", path=f"/calendar/v3/calendars/{USER}/events", status=429,
              reason="rateLimitExceeded", count=1)
    results = ce.apply_writes(gcal.calendar, gcal.endpoints.calendar_batch, USER, inserts(4),
                              backoff=backoff)
    assert all(r.ok for r in results)
    assert sim.stats()["batch_parts"] == 5


def test_listing_retries_a_server_error_then_gives_up_as_transient(gcal, sim, backoff):
    sim.fault(method="GET", path=f"/calendar/v3/calendars/{USER}/events", status=500,
              reason="backendError", count=1)
    assert ce.list_events(gcal.calendar, USER, backoff=backoff).full
    sim.fault(method="GET", path=f"/calendar/v3/calendars/{USER}/events", status=500,
              reason="backendError", count=10)
    with pytest.raises(TransientError):
        ce.list_events(gcal.calendar, USER, backoff=backoff)
    assert len(backoff.sleep.calls) == 1 + ce.MAX_ATTEMPTS - 1


def test_backoff_grows_exponentially_with_jitter_and_is_capped():
    b = ce.Backoff(rng=random.Random(3), base=1, cap=8)
    for attempt in range(8):
        delays = [b.delay(attempt) for _ in range(200)]
        assert 0 <= min(delays) and max(delays) <= min(8, 2 ** attempt)
        assert len(set(delays)) > 100  # jittered, not a fixed step


def test_conference_data_counts_only_on_writes_that_carry_it(gcal, sim, backoff):
    """Google ignores conferenceData without conferenceDataVersion=1: the client asks for
    it on exactly the writes that send conferenceData, so a Meet is created when asked and
    no other write can ever drop or replace one."""
    meet = {"createRequest": {"requestId": "r-1",
                              "conferenceSolutionKey": {"type": "hangoutsMeet"}}}
    [insert] = inserts(1)
    insert.body["conferenceData"] = meet
    [made] = ce.apply_writes(gcal.calendar, gcal.endpoints.calendar_batch, USER, [insert],
                             backoff=backoff)
    link = made.event["hangoutLink"]
    [patched] = ce.apply_writes(gcal.calendar, gcal.endpoints.calendar_batch, USER, [ce.Write(
        key=0, op=ce.OP_PATCH, event_id=insert.event_id, body={"summary": "Renamed"})],
        backoff=backoff)
    assert (patched.event["summary"], patched.event["hangoutLink"]) == ("Renamed", link)
    [removed] = ce.apply_writes(gcal.calendar, gcal.endpoints.calendar_batch, USER, [ce.Write(
        key=0, op=ce.OP_PATCH, event_id=insert.event_id, body={"conferenceData": None})],
        backoff=backoff)
    assert "conferenceData" not in removed.event and "hangoutLink" not in removed.event
