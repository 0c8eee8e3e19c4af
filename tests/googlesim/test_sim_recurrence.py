"""Recurring events: singleEvents expansion, instances, exceptions."""

import json

import pytest
from googleapiclient.errors import HttpError

from googlesim.testing import TEST_USER as USER


def series(cal, rule, start="2026-12-01T10:00:00+01:00", end="2026-12-01T11:00:00+01:00",
           tz="Europe/Berlin", eid="series01", extra=()):
    return cal.events().insert(calendarId="primary", body={
        "id": eid, "summary": "Standup", "recurrence": [rule, *extra],
        "start": {"dateTime": start, "timeZone": tz},
        "end": {"dateTime": end, "timeZone": tz}}).execute()


def expanded(cal, **kw):
    return cal.events().list(calendarId="primary", singleEvents=True, orderBy="startTime",
                             **kw).execute()["items"]


def starts(items):
    return [i["start"].get("dateTime") or i["start"]["date"] for i in items]


def test_daily_count_expands_with_instance_ids_and_links(cal):
    master = series(cal, "RRULE:FREQ=DAILY;COUNT=3")
    items = expanded(cal)
    assert [i["id"] for i in items] == ["series01_20261201T090000Z",
                                        "series01_20261202T090000Z",
                                        "series01_20261203T090000Z"]
    assert all(i["recurringEventId"] == "series01" for i in items)
    assert items[1]["originalStartTime"] == {"dateTime": "2026-12-02T10:00:00+01:00",
                                             "timeZone": "Europe/Berlin"}
    assert items[1]["end"]["dateTime"] == "2026-12-02T11:00:00+01:00"
    assert "recurrence" not in items[0]
    plain = cal.events().list(calendarId="primary").execute()["items"]
    assert [p["id"] for p in plain] == ["series01"] and plain[0]["recurrence"] == \
        master["recurrence"]


def test_weekly_byday_until_keeps_local_time_across_dst(cal):
    series(cal, "RRULE:FREQ=WEEKLY;BYDAY=MO,WE;UNTIL=20270410T000000Z",
           start="2027-03-22T09:00:00+01:00", end="2027-03-22T09:30:00+01:00")
    got = starts(expanded(cal))
    assert got[:3] == ["2027-03-22T09:00:00+01:00", "2027-03-24T09:00:00+01:00",
                       "2027-03-29T09:00:00+02:00"]  # still 09:00 after the DST switch
    assert got[-1] == "2027-04-07T09:00:00+02:00" and len(got) == 6


def test_monthly_interval_and_yearly(cal):
    series(cal, "RRULE:FREQ=MONTHLY;INTERVAL=2;COUNT=3", start="2026-01-15T10:00:00Z",
           end="2026-01-15T11:00:00Z", tz="UTC")
    series(cal, "RRULE:FREQ=YEARLY;COUNT=2", start="2026-06-01T08:00:00Z",
           end="2026-06-01T09:00:00Z", tz="UTC", eid="annual01")
    got = starts(expanded(cal))
    assert got == ["2026-01-15T10:00:00+00:00", "2026-03-15T10:00:00+00:00",
                   "2026-05-15T10:00:00+00:00", "2026-06-01T08:00:00+00:00",
                   "2027-06-01T08:00:00+00:00"]


def test_exdate_and_all_day_series(cal):
    cal.events().insert(calendarId="primary", body={
        "id": "alldate1", "summary": "Gym", "start": {"date": "2026-12-01"},
        "end": {"date": "2026-12-02"},
        "recurrence": ["RRULE:FREQ=DAILY;COUNT=4", "EXDATE;VALUE=DATE:20261202"]}).execute()
    items = expanded(cal)
    assert [i["id"] for i in items] == ["alldate1_20261201", "alldate1_20261203",
                                        "alldate1_20261204"]
    assert items[0]["start"] == {"date": "2026-12-01"} and items[0]["end"] == \
        {"date": "2026-12-02"}
    assert items[0]["originalStartTime"] == {"date": "2026-12-01"}


def test_exdate_with_tzid_on_timed_series(cal):
    series(cal, "RRULE:FREQ=DAILY;COUNT=3",
           extra=["EXDATE;TZID=Europe/Berlin:20261202T100000"])
    assert [i["id"] for i in expanded(cal)] == ["series01_20261201T090000Z",
                                                "series01_20261203T090000Z"]


def test_time_window_on_open_ended_series(cal):
    series(cal, "RRULE:FREQ=DAILY")
    got = expanded(cal, timeMin="2027-01-10T00:00:00Z", timeMax="2027-01-13T00:00:00Z")
    assert [i["id"] for i in got] == ["series01_20270110T090000Z",
                                      "series01_20270111T090000Z",
                                      "series01_20270112T090000Z"]


def test_instances_endpoint_and_instance_exceptions(cal):
    series(cal, "RRULE:FREQ=DAILY;COUNT=4")
    inst = cal.events().instances(calendarId="primary", eventId="series01").execute()["items"]
    assert len(inst) == 4
    second = inst[1]["id"]
    got = cal.events().get(calendarId="primary", eventId=second).execute()
    assert got["recurringEventId"] == "series01"
    changed = cal.events().patch(calendarId="primary", eventId=second, body={
        "summary": "Moved standup",
        "start": {"dateTime": "2026-12-02T15:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-12-02T16:00:00+01:00", "timeZone": "Europe/Berlin"}}) \
        .execute()
    assert changed["id"] == second and changed["originalStartTime"]["dateTime"] == \
        "2026-12-02T10:00:00+01:00"
    cal.events().delete(calendarId="primary", eventId=inst[2]["id"]).execute()
    items = expanded(cal)
    assert [i["summary"] for i in items] == ["Standup", "Moved standup", "Standup"]
    assert items[1]["start"]["dateTime"] == "2026-12-02T15:00:00+01:00"
    with_deleted = cal.events().instances(calendarId="primary", eventId="series01",
                                          showDeleted=True).execute()["items"]
    assert [i["status"] for i in with_deleted] == ["confirmed", "confirmed", "cancelled",
                                                   "confirmed"]
    # without singleEvents the exceptions are their own items next to the series
    plain = cal.events().list(calendarId="primary", showDeleted=True).execute()["items"]
    assert {p["id"] for p in plain} == {"series01", second, inst[2]["id"]}


def test_instance_changes_show_up_in_incremental_sync(cal, ctl):
    series(cal, "RRULE:FREQ=DAILY;COUNT=3")
    sync = cal.events().list(calendarId="primary", singleEvents=True).execute()["nextSyncToken"]
    ctl.patch_event(USER, "primary", "series01_20261202T090000Z", {"summary": "Owner edit"})
    changes = cal.events().list(calendarId="primary", singleEvents=True, syncToken=sync) \
        .execute()["items"]
    assert [(c["id"], c["summary"]) for c in changes] == [("series01_20261202T090000Z",
                                                           "Owner edit")]
    cal.events().delete(calendarId="primary", eventId="series01").execute()
    after = cal.events().list(calendarId="primary", singleEvents=True, syncToken=sync) \
        .execute()["items"]
    assert {c["id"]: c["status"] for c in after}["series01"] == "cancelled"


def test_unknown_instance_id_is_404(cal):
    series(cal, "RRULE:FREQ=DAILY;COUNT=2")
    from googleapiclient.errors import HttpError
    with pytest.raises(HttpError) as exc:
        cal.events().get(calendarId="primary", eventId="series01_20300101T090000Z").execute()
    assert exc.value.resp.status == 404


def test_daily_until_and_interval(cal):
    series(cal, "RRULE:FREQ=DAILY;INTERVAL=3;UNTIL=20261210T235959Z",
           start="2026-12-01T10:00:00Z", end="2026-12-01T10:30:00Z", tz="UTC")
    assert starts(expanded(cal)) == ["2026-12-01T10:00:00+00:00", "2026-12-04T10:00:00+00:00",
                                     "2026-12-07T10:00:00+00:00", "2026-12-10T10:00:00+00:00"]


def test_weekly_interval_byday_count_and_utc_exdate(cal):
    # every other week on Tuesday and Thursday, 5 times, minus the second one
    series(cal, "RRULE:FREQ=WEEKLY;INTERVAL=2;BYDAY=TU,TH;COUNT=5",
           start="2026-12-01T10:00:00Z", end="2026-12-01T11:00:00Z", tz="UTC",
           extra=["EXDATE:20261203T100000Z"])
    assert [i["id"] for i in expanded(cal)] == [
        "series01_20261201T100000Z", "series01_20261215T100000Z",
        "series01_20261217T100000Z", "series01_20261229T100000Z"]


def test_monthly_byday_and_yearly_until(cal):
    # first Monday of each month, three times; a yearly series bounded by UNTIL
    series(cal, "RRULE:FREQ=MONTHLY;BYDAY=1MO;COUNT=3", start="2026-12-07T09:00:00Z",
           end="2026-12-07T10:00:00Z", tz="UTC")
    series(cal, "RRULE:FREQ=YEARLY;UNTIL=20290101T000000Z", start="2026-03-01T08:00:00Z",
           end="2026-03-01T09:00:00Z", tz="UTC", eid="annual02")
    got = starts(expanded(cal))
    assert got == ["2026-03-01T08:00:00+00:00", "2026-12-07T09:00:00+00:00",
                   "2027-01-04T09:00:00+00:00", "2027-02-01T09:00:00+00:00",
                   "2027-03-01T08:00:00+00:00", "2028-03-01T08:00:00+00:00"]


def test_monthly_last_friday_all_day_with_several_exdates(cal):
    cal.events().insert(calendarId="primary", body={
        "id": "lastfri1", "summary": "Review", "start": {"date": "2026-10-30"},
        "end": {"date": "2026-10-31"},
        "recurrence": ["RRULE:FREQ=MONTHLY;BYDAY=-1FR;COUNT=5",
                       "EXDATE;VALUE=DATE:20261127,20270129"]}).execute()
    assert starts(expanded(cal)) == ["2026-10-30", "2026-12-25", "2027-02-26"]


def test_instances_window_paging_and_original_start(cal):
    series(cal, "RRULE:FREQ=DAILY;COUNT=6")
    window = cal.events().instances(calendarId="primary", eventId="series01",
                                    timeMin="2026-12-02T00:00:00Z",
                                    timeMax="2026-12-05T00:00:00Z").execute()["items"]
    assert [i["id"] for i in window] == ["series01_20261202T090000Z",
                                         "series01_20261203T090000Z",
                                         "series01_20261204T090000Z"]
    first = cal.events().instances(calendarId="primary", eventId="series01",
                                   maxResults=4).execute()
    rest = cal.events().instances(calendarId="primary", eventId="series01", maxResults=4,
                                  pageToken=first["nextPageToken"]).execute()
    assert len(first["items"]) == 4 and len(rest["items"]) == 2
    assert "nextPageToken" not in rest
    one = cal.events().instances(calendarId="primary", eventId="series01",
                                 originalStart="2026-12-03T10:00:00+01:00").execute()["items"]
    assert [i["id"] for i in one] == ["series01_20261203T090000Z"]
    assert one[0]["recurringEventId"] == "series01"
    with pytest.raises(HttpError) as exc:
        cal.events().instances(calendarId="primary", eventId="nosuch0001").execute()
    assert exc.value.resp.status == 404


def test_recurring_instances_respect_show_deleted_and_series_deletion(cal):
    series(cal, "RRULE:FREQ=DAILY;COUNT=3")
    cal.events().delete(calendarId="primary", eventId="series01").execute()
    assert expanded(cal) == []
    with pytest.raises(HttpError) as exc:
        cal.events().instances(calendarId="primary", eventId="series01").execute()
    assert exc.value.resp.status == 410


@pytest.mark.parametrize("rule", ["RRULE:FREQ=DAILY;INTERVAL=0", "RRULE:FREQ=DAILY;INTERVAL=-2",
                                  "RRULE:FREQ=WEEKLY;COUNT=0", "RRULE:FREQ=DAILY;BYDAY=XX",
                                  "EXDATE:20261201T100000Z"])
def test_invalid_rules_are_400_and_never_hang_the_sim(cal, rule):
    # INTERVAL=0 used to send dateutil into an endless loop under the store lock
    with pytest.raises(HttpError) as exc:
        series(cal, rule)
    assert exc.value.resp.status == 400
    assert json.loads(exc.value.content)["error"]["errors"][0]["reason"] == "invalid"
    assert cal.events().list(calendarId="primary").execute()["items"] == []


@pytest.mark.parametrize("single", [False, True])
def test_deleting_the_series_cancels_its_exceptions(cal, single):
    series(cal, "RRULE:FREQ=DAILY;COUNT=4")
    moved, edited = "series01_20261202T090000Z", "series01_20261203T090000Z"
    cal.events().patch(calendarId="primary", eventId=moved, body={
        "start": {"dateTime": "2026-12-02T15:00:00+01:00", "timeZone": "Europe/Berlin"},
        "end": {"dateTime": "2026-12-02T16:00:00+01:00", "timeZone": "Europe/Berlin"}}) \
        .execute()
    cal.events().patch(calendarId="primary", eventId=edited,
                       body={"summary": "Edited"}).execute()
    sync = cal.events().list(calendarId="primary", singleEvents=single).execute()[
        "nextSyncToken"]
    cal.events().delete(calendarId="primary", eventId="series01").execute()
    for eid in (moved, edited):
        assert cal.events().get(calendarId="primary", eventId=eid).execute()["status"] == \
            "cancelled"
    assert cal.events().list(calendarId="primary", singleEvents=single).execute()[
        "items"] == []
    changes = cal.events().list(calendarId="primary", singleEvents=single,
                                syncToken=sync).execute()["items"]
    assert {c["id"]: c["status"] for c in changes} == {
        "series01": "cancelled", moved: "cancelled", edited: "cancelled"}


def test_exrule_removes_instances_everywhere(cal):
    # every day for a week (Tue 1st to Mon 7th), except weekends and Mondays
    series(cal, "RRULE:FREQ=DAILY;UNTIL=20261207T235959Z", start="2026-12-01T10:00:00Z",
           end="2026-12-01T11:00:00Z", tz="UTC",
           extra=["EXRULE:FREQ=WEEKLY;BYDAY=SA,SU,MO"])
    days = ["20261201", "20261202", "20261203", "20261204"]
    assert [i["id"] for i in expanded(cal)] == [f"series01_{d}T100000Z" for d in days]
    inst = cal.events().instances(calendarId="primary", eventId="series01").execute()["items"]
    assert [i["id"] for i in inst] == [f"series01_{d}T100000Z" for d in days]
    with pytest.raises(HttpError) as exc:  # an excluded instance doesn't exist
        cal.events().get(calendarId="primary", eventId="series01_20261205T100000Z").execute()
    assert exc.value.resp.status == 404
    # the series ends with its last instance (Friday), not the RRULE's last day (Monday)
    plain = cal.events().list(calendarId="primary", timeMin="2026-12-05T00:00:00Z") \
        .execute()["items"]
    assert plain == []
    assert expanded(cal, timeMin="2026-12-05T00:00:00Z") == []
    plain = cal.events().list(calendarId="primary", timeMin="2026-12-04T10:30:00Z") \
        .execute()["items"]
    assert [p["id"] for p in plain] == ["series01"]
