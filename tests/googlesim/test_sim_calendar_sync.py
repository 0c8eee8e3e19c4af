"""events.list: paging, sync tokens, and the query filters."""
import json
import time
from datetime import datetime, timedelta, timezone

import pytest
from googleapiclient.errors import HttpError

from googlesim.testing import TEST_USER as USER

T0 = datetime(2026, 12, 1, 10, 0, tzinfo=timezone.utc)


def reason(exc):
    return exc.value.resp.status, json.loads(exc.value.content)["error"]["errors"][0]["reason"]


def list_all(cal, **kwargs):
    """Every page of events.list; returns (items, nextSyncToken, pages)."""
    items, pages, token = [], 0, None
    while True:
        resp = cal.events().list(calendarId="primary", pageToken=token, **kwargs).execute()
        pages += 1
        items += resp["items"]
        token = resp.get("nextPageToken")
        if not token:
            return items, resp.get("nextSyncToken"), pages
        assert "nextSyncToken" not in resp  # never both


def seed(cal, timed, n):
    for i in range(n):
        cal.events().insert(calendarId="primary", body=dict(
            timed(T0 + timedelta(days=i)), id=f"seed{i:04d}", summary=f"Event {i}")).execute()


def test_default_page_size_is_250_and_sync_token_only_on_last_page(ctl, cal, timed, gsim):
    ops = gsim.app.config["EVENTS"]
    with gsim.store.tx():  # bulk seed straight into the store: this test is about paging
        c = gsim.store.calendars[USER]
        for i in range(260):
            ops.insert(c, dict(timed(T0 + timedelta(hours=i))), USER)
    first = cal.events().list(calendarId="primary").execute()
    assert len(first["items"]) == 250 and "nextPageToken" in first
    assert "nextSyncToken" not in first
    items, sync, pages = list_all(cal, maxResults=100)
    assert len(items) == 260 and len({e["id"] for e in items}) == 260 and pages == 3
    assert sync
    big = cal.events().list(calendarId="primary", maxResults=5000).execute()
    assert len(big["items"]) == 260  # maxResults is capped at 2500, not refused


def test_incremental_sync_returns_only_changes_including_deletions(cal, ctl, timed):
    seed(cal, timed, 5)
    items, sync, _ = list_all(cal)
    assert len(items) == 5
    empty = cal.events().list(calendarId="primary", syncToken=sync).execute()
    assert empty["items"] == [] and empty["nextSyncToken"]
    cal.events().patch(calendarId="primary", eventId="seed0001", body={"summary": "x"}).execute()
    cal.events().delete(calendarId="primary", eventId="seed0002").execute()
    ctl.insert_event(USER, "primary", dict(timed(T0), id="google01", summary="from Google"))
    ctl.patch_event(USER, "primary", "seed0003", {"location": "moved by owner"})
    changes, sync2, _ = list_all(cal, syncToken=sync)
    by_id = {e["id"]: e for e in changes}
    assert set(by_id) == {"seed0001", "seed0002", "google01", "seed0003"}
    assert by_id["seed0002"]["status"] == "cancelled"
    assert by_id["seed0003"]["location"] == "moved by owner"
    assert cal.events().list(calendarId="primary", syncToken=sync2).execute()["items"] == []


def test_incremental_sync_pages(cal, timed):
    _, sync, _ = list_all(cal)
    seed(cal, timed, 7)
    changes, _, pages = list_all(cal, syncToken=sync, maxResults=3)
    assert len(changes) == 7 and pages == 3


def test_writes_between_pages_lose_nothing(cal, ctl, timed):
    seed(cal, timed, 6)
    first = cal.events().list(calendarId="primary", maxResults=3).execute()
    cal.events().patch(calendarId="primary", eventId=first["items"][0]["id"],
                       body={"summary": "changed mid-paging"}).execute()
    rest = cal.events().list(calendarId="primary", maxResults=3,
                             pageToken=first["nextPageToken"]).execute()
    ids = [e["id"] for e in first["items"] + rest["items"]]
    assert sorted(ids) == [f"seed{i:04d}" for i in range(6)]
    # the mid-paging change was after the snapshot, so the next sync reports it
    later = cal.events().list(calendarId="primary", syncToken=rest["nextSyncToken"]).execute()
    assert [e["summary"] for e in later["items"]] == ["changed mid-paging"]


def test_unknown_or_expired_sync_token_is_410_full_sync_required(cal, ctl, timed):
    for bogus in ("garbage", "CPgsAAAA"):
        with pytest.raises(HttpError) as exc:
            cal.events().list(calendarId="primary", syncToken=bogus).execute()
        assert reason(exc) == (410, "fullSyncRequired")
    _, sync, _ = list_all(cal)
    ctl.expire(sync_tokens=True)
    with pytest.raises(HttpError) as exc:
        cal.events().list(calendarId="primary", syncToken=sync).execute()
    assert reason(exc) == (410, "fullSyncRequired")
    _, fresh, _ = list_all(cal)  # a full sync hands out a working token again
    assert cal.events().list(calendarId="primary", syncToken=fresh).execute()["items"] == []


def test_sync_token_from_before_a_reset_is_410(cal, ctl, make_creds, calendar_for):
    _, sync, _ = list_all(cal)
    ctl.reset()
    from googlesim.testing import TEST_CLIENT_ID, TEST_CLIENT_SECRET, TEST_REDIRECT_URI
    ctl.register_client(TEST_CLIENT_ID, TEST_CLIENT_SECRET, [TEST_REDIRECT_URI])
    fresh = calendar_for(make_creds())
    with pytest.raises(HttpError) as exc:
        fresh.events().list(calendarId="primary", syncToken=sync).execute()
    assert reason(exc) == (410, "fullSyncRequired")


@pytest.mark.parametrize("param", [
    {"iCalUID": "x"}, {"orderBy": "updated"}, {"privateExtendedProperty": "a=b"},
    {"q": "x"}, {"sharedExtendedProperty": "a=b"}, {"timeMin": "2026-01-01T00:00:00Z"},
    {"timeMax": "2026-01-01T00:00:00Z"}, {"updatedMin": "2026-01-01T00:00:00Z"},
    {"showDeleted": False}])
def test_parameters_forbidden_with_sync_token_are_400(cal, param):
    _, sync, _ = list_all(cal)
    with pytest.raises(HttpError) as exc:
        cal.events().list(calendarId="primary", syncToken=sync, **param).execute()
    assert exc.value.resp.status == 400
    err = json.loads(exc.value.content)["error"]
    assert err["code"] == 400 and err["errors"][0]["reason"] == "invalid"
    assert "details" not in err
    # the same parameter without the sync token is fine
    assert "items" in cal.events().list(calendarId="primary", **param).execute()


def test_parameters_allowed_with_sync_token(cal, timed):
    _, sync, _ = list_all(cal)
    cal.events().insert(calendarId="primary", body=dict(timed(T0), id="permit01")).execute()
    for extra in ({"showDeleted": True}, {"singleEvents": True}, {"maxResults": 1},
                  {"timeZone": "Europe/Berlin"}):
        got = cal.events().list(calendarId="primary", syncToken=sync, **extra).execute()
        assert [e["id"] for e in got["items"]] == ["permit01"]
        assert got["nextSyncToken"] and "nextPageToken" not in got


def test_max_results_bounds(ctl, cal, timed, gsim):
    for bad in (0, -1):
        with pytest.raises(HttpError) as exc:
            cal.events().list(calendarId="primary", maxResults=bad).execute()
        assert reason(exc) == (400, "invalidParameter")
    ops = gsim.app.config["EVENTS"]
    with gsim.store.tx():  # bulk seed straight into the store: this test is about the cap
        c = gsim.store.calendars[USER]
        for i in range(2501):
            ops.insert(c, dict(timed(T0 + timedelta(minutes=i))), USER)
    capped = cal.events().list(calendarId="primary", maxResults=3000).execute()
    assert len(capped["items"]) == 2500
    assert capped["nextPageToken"] and "nextSyncToken" not in capped
    rest = cal.events().list(calendarId="primary", maxResults=3000,
                             pageToken=capped["nextPageToken"]).execute()
    assert len(rest["items"]) == 1 and rest["nextSyncToken"] and "nextPageToken" not in rest
    one = cal.events().list(calendarId="primary", maxResults=1).execute()
    assert len(one["items"]) == 1 and one["nextPageToken"]


def test_time_window_filters_bound_end_and_start_exclusively(cal, timed):
    cal.events().insert(calendarId="primary", body=dict(timed(T0), id="morning1")).execute()
    cal.events().insert(calendarId="primary",
                        body=dict(timed(T0 + timedelta(hours=2)), id="noon0001")).execute()
    cal.events().insert(calendarId="primary", body={
        "id": "alldate1", "start": {"date": "2026-12-02"}, "end": {"date": "2026-12-03"}}) \
        .execute()

    def ids(**kw):
        return sorted(e["id"] for e in cal.events().list(calendarId="primary", **kw)
                      .execute()["items"])

    # an event ending exactly at timeMin is out; one starting exactly at timeMax is out
    assert ids(timeMin="2026-12-01T11:00:00Z") == ["alldate1", "noon0001"]
    assert ids(timeMax="2026-12-01T12:00:00Z") == ["morning1"]
    assert ids(timeMin="2026-12-01T10:30:00+00:00", timeMax="2026-12-01T12:30:00Z") == \
        ["morning1", "noon0001"]
    assert ids(timeMin="2026-12-02T05:00:00Z", timeMax="2026-12-02T06:00:00Z") == ["alldate1"]
    with pytest.raises(HttpError) as exc:
        cal.events().list(calendarId="primary", timeMin="2026-12-02T05:00:00").execute()
    assert exc.value.resp.status == 400


def test_q_extended_property_and_ical_uid_filters(cal, timed):
    cal.events().insert(calendarId="primary", body=dict(
        timed(T0), id="filter01", summary="Quarterly review", description="budget",
        extendedProperties={"private": {"crmId": "7", "src": "crm"}})).execute()
    cal.events().insert(calendarId="primary", body=dict(
        timed(T0), id="filter02", summary="Lunch", attendees=[{"email": "carol@example.com"}],
        extendedProperties={"private": {"crmId": "8", "src": "crm"}})).execute()

    def ids(**kw):
        return sorted(e["id"] for e in cal.events().list(calendarId="primary", **kw)
                      .execute()["items"])

    assert ids(q="quarterly") == ["filter01"]
    assert ids(q="BUDGET review") == ["filter01"]
    assert ids(q="carol") == ["filter02"]
    assert ids(privateExtendedProperty="crmId=8") == ["filter02"]
    assert ids(privateExtendedProperty=["src=crm", "crmId=7"]) == ["filter01"]
    assert ids(privateExtendedProperty="crmId=9") == []
    assert ids(iCalUID="filter02@google.com") == ["filter02"]


def test_updated_min_excludes_older_changes(cal, ctl, timed):
    seed(cal, timed, 3)
    time.sleep(0.01)
    mark = datetime.now(timezone.utc).isoformat()
    time.sleep(0.01)
    assert cal.events().list(calendarId="primary", updatedMin=mark).execute()["items"] == []
    ctl.patch_event(USER, "primary", "seed0001", {"summary": "touched"})
    got = cal.events().list(calendarId="primary", updatedMin=mark).execute()["items"]
    assert [(e["id"], e["summary"]) for e in got] == [("seed0001", "touched")]


def test_q_searches_location_and_organizer_and_needs_every_word(cal, timed):
    cal.events().insert(calendarId="primary", body=dict(
        timed(T0), id="place001", summary="Visit", location="Hamburg Office")).execute()
    cal.events().import_(calendarId="primary", body=dict(
        timed(T0), iCalUID="ext@example.org", summary="Invite",
        organizer={"email": "zed@partner.example", "displayName": "Zed"})).execute()

    def ids(q):
        return [e["id"] for e in cal.events().list(calendarId="primary", q=q)
                .execute()["items"]]

    assert ids("hamburg") == ["place001"]
    assert ids("hamburg berlin") == []
    assert len(ids("partner.example")) == 1 and ids("partner.example") != ["place001"]
    assert ids("nothing-like-this") == []


def test_ical_uid_and_private_property_filters_see_deleted_only_with_show_deleted(cal, timed):
    cal.events().insert(calendarId="primary", body=dict(
        timed(T0), id="propdel1", extendedProperties={"private": {"crmId": "5"}})).execute()
    cal.events().delete(calendarId="primary", eventId="propdel1").execute()
    assert cal.events().list(calendarId="primary", privateExtendedProperty="crmId=5") \
        .execute()["items"] == []
    assert cal.events().list(calendarId="primary", iCalUID="propdel1@google.com") \
        .execute()["items"] == []
    got = cal.events().list(calendarId="primary", privateExtendedProperty="crmId=5",
                            showDeleted=True).execute()["items"]
    assert [(e["id"], e["status"]) for e in got] == [("propdel1", "cancelled")]
    shared = cal.events().list(calendarId="primary", sharedExtendedProperty="crmId=5",
                               showDeleted=True).execute()["items"]
    assert shared == []  # private and shared properties are separate maps


def test_updated_min_includes_deletions(cal, timed):
    seed(cal, timed, 3)
    mark = cal.events().get(calendarId="primary", eventId="seed0002").execute()["updated"]
    cal.events().delete(calendarId="primary", eventId="seed0000").execute()
    got = cal.events().list(calendarId="primary", updatedMin=mark).execute()["items"]
    assert {e["id"]: e["status"] for e in got} == {"seed0002": "confirmed",
                                                   "seed0000": "cancelled"}


def test_order_by_start_time_needs_single_events(cal, timed):
    with pytest.raises(HttpError) as exc:
        cal.events().list(calendarId="primary", orderBy="startTime").execute()
    assert exc.value.resp.status == 400
    cal.events().insert(calendarId="primary", body=dict(timed(T0 + timedelta(days=2)),
                                                        id="later001")).execute()
    cal.events().insert(calendarId="primary", body=dict(timed(T0), id="earlier1")).execute()
    got = cal.events().list(calendarId="primary", orderBy="startTime",
                            singleEvents=True).execute()["items"]
    assert [e["id"] for e in got] == ["earlier1", "later001"]
    by_updated = cal.events().list(calendarId="primary", orderBy="updated").execute()["items"]
    assert [e["id"] for e in by_updated] == ["later001", "earlier1"]


def test_bad_page_token_is_400(cal):
    with pytest.raises(HttpError) as exc:
        cal.events().list(calendarId="primary", pageToken="bogus").execute()
    assert exc.value.resp.status == 400
