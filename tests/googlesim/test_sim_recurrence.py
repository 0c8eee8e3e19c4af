"""Recurring events: singleEvents expansion, instances, exceptions."""

import pytest

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
