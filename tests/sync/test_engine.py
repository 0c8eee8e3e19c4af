"""The sync engine's rules, on plain data (no app, no database, no network)."""
import uuid
from datetime import date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest

from portal.crm.reminders import Reminders
from portal.sync.calendar import engine as e

UTC = timezone.utc
MEETING = 2


def mapping(**kw):
    values = dict(id=1, activity_type_id=MEETING, calendar_id="ann@example.com",
                  user_email="ann@example.com", user_id=1, time_zone="Europe/Berlin")
    values.update(kw)
    return e.MappingSnapshot(**values)


def activity(n=1, **kw):
    start = datetime(2030, 3, 4, 9, 0, tzinfo=UTC)
    values = dict(id=n, uid=uuid.UUID(int=n), version=1, subject=f"Meeting {n}",
                  activity_type_id=MEETING, start_at=start, end_at=start + timedelta(hours=1),
                  time_zone="Europe/Berlin", organizer_email="ann@example.com",
                  organizer_id=1)
    values.update(kw)
    return e.ActivitySnapshot(**values)


def link(a, **kw):
    values = dict(id=100 + (a.id or 0), mapping_id=1, activity_id=a.id,
                  event_id=e.google_event_id(a.uid), etag='"1"', synced_version=a.version,
                  ical_uid=e.google_event_id(a.uid) + "@google.com", owner=e.OWNER_CRM)
    values.update(kw)
    return e.LinkSnapshot(**values)


def event_for(a, etag='"2"', **overrides):
    body = e.event_body(a, e.google_event_id(a.uid))
    body.update(etag=etag, iCalUID=body["id"] + "@google.com",
                updated="2030-01-01T10:00:00.000Z")
    body.update(overrides)
    return e.EventSnapshot.from_resource(body)


def google_event(event_id="g0000001", etag='"g1"', **overrides):
    body = {"id": event_id, "etag": etag, "status": "confirmed", "summary": "From Google",
            "start": {"dateTime": "2030-03-05T10:00:00+01:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2030-03-05T11:00:00+01:00", "timeZone": "Europe/Berlin"},
            "iCalUID": event_id + "@google.com", "updated": "2030-01-01T10:00:00.000Z",
            "htmlLink": "https://calendar.example/" + event_id}
    body.update(overrides)
    return e.EventSnapshot.from_resource(body)


def kinds(actions):
    return [a.kind for a in actions]


# -- event ids -----------------------------------------------------------------------------------

def test_event_id_is_deterministic_base32hex_of_the_uuid():
    uid = uuid.UUID("12345678-1234-5678-1234-567812345678")
    first = e.google_event_id(uid)
    assert first == e.google_event_id(str(uid))
    assert len(first) == 26
    assert set(first) <= set("0123456789abcdefghijklmnopqrstuv")
    # base32hex keeps the byte order: decode it back
    import base64
    padded = first.upper().translate(str.maketrans("0123456789ABCDEFGHIJKLMNOPQRSTUV",
                                                   "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567")) + "======"
    assert base64.b32decode(padded) == uid.bytes


def test_different_activities_get_different_event_ids():
    ids = {e.google_event_id(uuid.uuid4()) for _ in range(500)}
    assert len(ids) == 500


def test_event_id_of_zero_uuid_is_all_zeros():
    assert e.google_event_id(uuid.UUID(int=0)) == "0" * 26


# -- event body ----------------------------------------------------------------------------------

def test_timed_event_body_uses_the_activity_zone_and_maps_every_field():
    a = activity(description="Agenda", location="Room 1", reminders=Reminders.popup(15),
                 visibility="private", organizer_name="Ann",
                 attendees=(e.Attendee("Bob@Example.com", "Bob"), e.Attendee("c@example.com")),
                 external_attendees=(e.Attendee("ext@other.org", "Ext", "accepted"),))
    body = e.event_body(a, "abc123")
    assert body["id"] == "abc123"
    assert body["summary"] == "Meeting 1"
    assert body["description"] == "Agenda"
    assert body["location"] == "Room 1"
    assert body["status"] == "confirmed"
    assert body["start"] == {"dateTime": "2030-03-04T10:00:00+01:00", "timeZone": "Europe/Berlin"}
    assert body["end"] == {"dateTime": "2030-03-04T11:00:00+01:00", "timeZone": "Europe/Berlin"}
    assert body["reminders"] == {"useDefault": False,
                                 "overrides": [{"method": "popup", "minutes": 15}]}
    assert body["visibility"] == "private"
    assert body["organizer"] == {"email": "ann@example.com", "displayName": "Ann"}
    assert [a["email"] for a in body["attendees"]] == ["bob@example.com", "c@example.com",
                                                      "ext@other.org"]
    assert body["attendees"][2]["responseStatus"] == "accepted"
    assert body["extendedProperties"]["private"] == {e.PROP_ACTIVITY_UID: str(a.uid),
                                                     e.PROP_MARKER: e.MARKER_VALUE}
    assert body["recurrence"] == []


def test_organizer_is_not_listed_as_their_own_attendee_and_duplicates_collapse():
    a = activity(attendees=(e.Attendee("ann@example.com"), e.Attendee("bob@example.com"),
                            e.Attendee("BOB@example.com")))
    assert [x["email"] for x in e.event_body(a)["attendees"]] == ["bob@example.com"]


def test_not_held_is_a_cancelled_event():
    assert e.event_body(activity(status=e.STATUS_NOT_HELD))["status"] == "cancelled"
    assert e.event_body(activity(status=e.STATUS_HELD))["status"] == "confirmed"


def test_no_reminder_means_no_popup_and_not_the_calendar_default():
    assert e.event_body(activity())["reminders"] == {"useDefault": False, "overrides": []}


def test_all_day_end_is_exclusive_in_google():
    a = activity(all_day=True, start_at=None, end_at=None, start_date=date(2030, 12, 31),
                 end_date=date(2031, 1, 2))
    body = e.event_body(a)
    assert body["start"] == {"date": "2030-12-31"}
    assert body["end"] == {"date": "2031-01-03"}
    back = e.activity_fields(body)
    assert back["all_day"] is True
    assert (back["start_date"], back["end_date"]) == (date(2030, 12, 31), date(2031, 1, 2))


def test_single_all_day_and_leap_day():
    a = activity(all_day=True, start_at=None, end_at=None, start_date=date(2028, 2, 29),
                 end_date=None)
    body = e.event_body(a)
    assert body["end"] == {"date": "2028-03-01"}
    assert e.activity_fields(body)["end_date"] == date(2028, 2, 29)


def test_google_all_day_event_with_missing_end_is_one_day():
    fields = e.activity_fields({"start": {"date": "2030-05-01"}, "end": {}})
    assert fields["start_date"] == fields["end_date"] == date(2030, 5, 1)


@pytest.mark.parametrize("zone,utc_start,local", [
    # the night Europe/Berlin springs forward: 01:30 UTC is 03:30 CEST
    ("Europe/Berlin", datetime(2030, 3, 31, 1, 30, tzinfo=UTC), "2030-03-31T03:30:00+02:00"),
    # the night it falls back: 00:30 UTC is 02:30 CEST, 01:30 UTC is 02:30 CET
    ("Europe/Berlin", datetime(2030, 10, 27, 0, 30, tzinfo=UTC), "2030-10-27T02:30:00+02:00"),
    ("Europe/Berlin", datetime(2030, 10, 27, 1, 30, tzinfo=UTC), "2030-10-27T02:30:00+01:00"),
    ("America/New_York", datetime(2030, 3, 10, 7, 0, tzinfo=UTC), "2030-03-10T03:00:00-04:00"),
    ("Asia/Kolkata", datetime(2030, 1, 1, 0, 0, tzinfo=UTC), "2030-01-01T05:30:00+05:30"),
    ("Pacific/Chatham", datetime(2030, 6, 1, 0, 0, tzinfo=UTC), "2030-06-01T12:45:00+12:45"),
])
def test_timed_round_trip_across_zones_and_dst(zone, utc_start, local):
    a = activity(time_zone=zone, start_at=utc_start, end_at=utc_start + timedelta(minutes=90))
    body = e.event_body(a)
    assert body["start"]["dateTime"] == local
    assert body["start"]["timeZone"] == zone
    back = e.activity_fields(body)
    assert back["start_at"] == utc_start
    assert back["start_at"].tzinfo is not None
    assert back["end_at"] - back["start_at"] == timedelta(minutes=90)
    assert back["time_zone"] == zone


def test_event_spanning_a_dst_change_keeps_its_real_duration():
    start = datetime(2030, 3, 31, 0, 0, tzinfo=UTC)  # 01:00 CET, ends after the jump
    a = activity(start_at=start, end_at=start + timedelta(hours=2))
    body = e.event_body(a)
    assert body["start"]["dateTime"] == "2030-03-31T01:00:00+01:00"
    assert body["end"]["dateTime"] == "2030-03-31T04:00:00+02:00"


def test_google_times_in_utc_z_or_other_offsets_are_read_as_utc_instants():
    fields = e.activity_fields({"start": {"dateTime": "2030-01-01T10:00:00Z"},
                                "end": {"dateTime": "2030-01-01T12:00:00-05:00"}}, "Asia/Tokyo")
    assert fields["start_at"] == datetime(2030, 1, 1, 10, tzinfo=UTC)
    assert fields["end_at"] == datetime(2030, 1, 1, 17, tzinfo=UTC)
    assert fields["time_zone"] == "Asia/Tokyo"  # no zone on the event: the user's


UNICODE_TEXTS = ["Réunion à Zürich — ça va?", "会议 📅 with 🚀 and 👩🏽‍💻", "Встреча",
                 "مرحبا بالعالم", "Zero\u200bwidth and\ttabs\nand lines", "ℌ𝔢𝔩𝔩𝔬 🏳️‍🌈"]


@pytest.mark.parametrize("text", UNICODE_TEXTS)
def test_text_of_any_language_and_emoji_round_trips_unchanged(text):
    import json
    a = activity(subject=text, description=text * 3, location=text)
    body = json.loads(json.dumps(e.event_body(a), ensure_ascii=False))
    back = e.activity_fields(body)
    assert (back["subject"], back["description"], back["location"]) == (text, text * 3, text)


def test_recurrence_lines_go_out_and_come_back():
    lines = ("RRULE:FREQ=WEEKLY;BYDAY=MO,WE;COUNT=10", "EXDATE;TZID=Europe/Berlin:20300311T100000")
    a = activity(recurrence=lines)
    body = e.event_body(a)
    assert body["recurrence"] == list(lines)
    assert body["start"]["timeZone"] == "Europe/Berlin"  # Google requires it for a series
    assert e.activity_fields(body)["recurrence"] == "\n".join(lines)
    assert e.event_body(activity(recurrence="RRULE:FREQ=DAILY\n\n  \n"))["recurrence"] == [
        "RRULE:FREQ=DAILY"]


def test_reverse_mapping_of_visibility_status_reminders_attendees():
    fields = e.activity_fields({
        "summary": "x", "status": "tentative", "visibility": "confidential",
        "start": {"dateTime": "2030-01-01T10:00:00Z"}, "end": {"dateTime": "2030-01-01T11:00:00Z"},
        "reminders": {"useDefault": False, "overrides": [{"method": "email", "minutes": 60},
                                                         {"method": "popup", "minutes": 30},
                                                         {"method": "popup", "minutes": 10}]},
        "organizer": {"email": "Ann@example.com"},
        "attendees": [{"email": "ann@example.com", "organizer": True},
                      {"email": "Bob@example.com", "responseStatus": "accepted"},
                      {"email": "room@resource.calendar.google.com", "resource": True}]})
    assert fields["status"] == e.STATUS_PLANNED
    assert fields["visibility"] == "private"
    # every reminder kept, email ones too
    assert fields["reminders"] == Reminders.of(False, [("email", 60), ("popup", 30),
                                                       ("popup", 10)])
    assert fields["organizer_email"] == "ann@example.com"
    assert fields["attendees"] == (e.Attendee("bob@example.com", "", "accepted",
                                              "email:bob@example.com"),)
    # the organizer's own entry (and answer) is kept as the organizer from outside
    assert fields["external_organizer"].email == "ann@example.com"
    assert e.activity_fields({"start": {"date": "2030-01-01"}, "end": {"date": "2030-01-02"},
                              "reminders": {"useDefault": True}})["reminders"] == \
        Reminders(True, ())


def test_event_snapshot_reads_back_references_only_with_our_marker():
    a = activity()
    assert event_for(a).activity_uid == a.uid
    foreign = google_event(extendedProperties={"private": {e.PROP_ACTIVITY_UID: str(a.uid)}})
    assert foreign.activity_uid is None


# -- export -------------------------------------------------------------------------------------

def test_new_activity_is_inserted_with_its_own_event_id():
    a = activity()
    [action] = e.plan_export(mapping(), [a], [])
    assert action.kind == e.INSERT_EVENT
    assert action.event_id == e.google_event_id(a.uid) == action.body["id"]


def test_unchanged_linked_activity_sends_nothing():
    a = activity(version=3)
    assert e.plan_export(mapping(), [a], [link(a, synced_version=3)]) == []


def test_changed_activity_is_patched_with_if_match():
    a = activity(version=4)
    [action] = e.plan_export(mapping(), [a], [link(a, synced_version=3, etag='"7"')])
    assert action.kind == e.PATCH_EVENT
    assert action.if_match == '"7"'
    assert action.body["summary"] == a.subject
    assert "id" not in action.body


def test_held_activity_is_no_longer_updated():
    a = activity(version=4, status=e.STATUS_HELD)
    [action] = e.plan_export(mapping(), [a], [link(a, synced_version=3)])
    assert action.kind == e.SKIP
    assert "held" in action.reason


def test_activity_deleted_in_crm_is_deleted_in_google():
    a = activity()
    tomb = link(a, activity_id=None)
    [action] = e.plan_export(mapping(), [], [tomb])
    assert action.kind == e.DELETE_EVENT
    assert action.event_id == tomb.event_id


def test_unticked_show_in_calendar_deletes_the_event():
    a = activity(version=2, show_in_calendar=False)
    [action] = e.plan_export(mapping(), [a], [link(a, synced_version=1)])
    assert action.kind == e.DELETE_EVENT
    assert e.plan_export(mapping(), [a], []) == []


def test_type_moved_to_another_mapping_deletes_from_the_old_calendar():
    a = activity(version=2, activity_type_id=MEETING + 1)
    [action] = e.plan_export(mapping(), [a], [link(a, synced_version=1)])
    assert action.kind == e.DELETE_EVENT
    assert "type" in action.reason


def test_activities_before_synchronize_from_are_ignored():
    early = activity(1, start_at=datetime(2029, 12, 31, 22, tzinfo=UTC),
                     end_at=datetime(2029, 12, 31, 23, tzinfo=UTC))
    # 23:30 UTC on Dec 31 is already Jan 1 in Berlin: the user's day counts
    boundary = activity(2, start_at=datetime(2029, 12, 31, 23, 30, tzinfo=UTC),
                        end_at=datetime(2030, 1, 1, 0, 30, tzinfo=UTC))
    actions = e.plan_export(mapping(sync_from=date(2030, 1, 1)), [early, boundary], [])
    assert [(a.kind, a.activity_id) for a in actions] == [(e.INSERT_EVENT, 2)]
    changed = activity(1, version=5, start_at=early.start_at, end_at=early.end_at)
    [skip] = e.plan_export(mapping(sync_from=date(2030, 1, 1)), [changed],
                           [link(changed, synced_version=4)])
    assert skip.kind == e.SKIP


def test_not_held_activity_is_not_created_but_a_linked_one_is_cancelled():
    a = activity(status=e.STATUS_NOT_HELD, version=2)
    # never sent, and not logged as a skip on every run (its page says why)
    assert kinds(e.plan_export(mapping(), [a], [])) == []
    [patch] = e.plan_export(mapping(), [a], [link(a, synced_version=1)])
    assert patch.kind == e.PATCH_EVENT and patch.body["status"] == "cancelled"


def test_someone_elses_meeting_is_never_written_to_google_but_the_own_answer():
    a = activity(version=9)
    guest = link(a, synced_version=1, owner=e.OWNER_GOOGLE, role=e.ROLE_GUEST,
                 base_fields=dict(e.crm_state(activity(version=1), 1), v=e.BASE_VERSION))
    [rebase] = e.plan_export(mapping(), [a], [guest])
    assert rebase.kind == e.REBASE
    answered = activity(version=10, answers=((1, "accepted"),))
    [patch] = e.plan_export(mapping(), [answered], [guest])
    assert patch.kind == e.PATCH_EVENT and set(patch.body) == {"attendees"}
    # deleted in the CRM (an admin): the organizer's event stays, only the link goes
    [unlink] = e.plan_export(mapping(), [], [link(a, activity_id=None, role=e.ROLE_GUEST)])
    assert unlink.kind == e.UNLINK


def test_own_meeting_made_in_google_is_written_back_like_any_other():
    a = activity(version=9, subject="Renamed in CRM", origin=e.ORIGIN_GOOGLE)
    base = dict(e.crm_state(activity(version=1, origin=e.ORIGIN_GOOGLE)), v=e.BASE_VERSION)
    own = link(a, synced_version=1, owner=e.OWNER_GOOGLE, base_fields=base)
    [patch] = e.plan_export(mapping(), [a], [own])
    assert patch.kind == e.PATCH_EVENT and patch.body == {"summary": "Renamed in CRM"}
    [delete] = e.plan_export(mapping(), [], [link(a, activity_id=None, owner=e.OWNER_GOOGLE)])
    assert delete.kind == e.DELETE_EVENT


def test_detached_activity_is_not_re_exported_unless_edited_again():
    a = activity(version=3)
    detached = link(a, synced_version=3, state=e.LINK_DETACHED)
    assert e.plan_export(mapping(), [a], [detached]) == []
    edited = activity(version=4)
    [action] = e.plan_export(mapping(), [edited], [detached])
    assert action.kind == e.INSERT_EVENT
    assert action.event_id == detached.event_id and action.link_id == detached.id


def test_detached_then_deleted_in_crm_only_forgets_the_link():
    a = activity()
    [action] = e.plan_export(mapping(), [], [link(a, activity_id=None, state=e.LINK_DETACHED)])
    assert action.kind == e.UNLINK


def test_export_plan_for_a_mixed_calendar():
    new, same, changed, hidden = (activity(1), activity(2, version=2), activity(3, version=5),
                                  activity(4, version=2, show_in_calendar=False))
    gone = link(activity(5), activity_id=None)
    actions = e.plan_export(mapping(), [new, same, changed, hidden],
                            [link(same, synced_version=2), link(changed, synced_version=4),
                             link(hidden, synced_version=1), gone])
    assert sorted((a.kind, a.activity_id or 0) for a in actions) == sorted([
        (e.INSERT_EVENT, 1), (e.PATCH_EVENT, 3), (e.DELETE_EVENT, 4), (e.DELETE_EVENT, 0)])


# -- import --------------------------------------------------------------------------------------

def test_new_google_event_becomes_a_google_owned_activity():
    ev = google_event(summary="Lunch 🍜")
    [action] = e.plan_import(mapping(), [ev], [], [])
    assert action.kind == e.CREATE_ACTIVITY
    assert action.owner == e.OWNER_GOOGLE
    assert action.fields["subject"] == "Lunch 🍜"
    assert action.fields["start_at"] == datetime(2030, 3, 5, 9, tzinfo=UTC)


def test_new_google_event_before_synchronize_from_is_ignored():
    ev = google_event()
    [action] = e.plan_import(mapping(sync_from=date(2030, 4, 1)), [ev], [], [])
    assert action.kind == e.SKIP
    series = google_event(recurrence=["RRULE:FREQ=WEEKLY"])
    assert kinds(e.plan_import(mapping(sync_from=date(2030, 4, 1)), [series], [], [])) == [
        e.CREATE_ACTIVITY]


def test_echo_of_our_own_write_is_ignored():
    a = activity()
    ev = event_for(a, etag='"1"')
    assert e.plan_import(mapping(), [ev], [link(a, etag='"1"')], [a]) == []


def test_change_in_google_updates_a_crm_owned_activity_two_way():
    a = activity(version=2)
    ev = event_for(a, etag='"2"', summary="Renamed in Google")
    [action] = e.plan_import(mapping(), [ev], [link(a, synced_version=2, etag='"1"')], [a])
    assert action.kind == e.UPDATE_ACTIVITY
    assert action.fields["subject"] == "Renamed in Google"


def test_change_in_google_updates_a_google_owned_activity():
    a = activity(version=2)
    ev = event_for(a, summary="New title")
    [action] = e.plan_import(mapping(), [ev], [link(a, etag='"1"', owner=e.OWNER_GOOGLE)], [a])
    assert action.kind == e.UPDATE_ACTIVITY


def test_held_activity_is_not_updated_from_google():
    a = activity(status=e.STATUS_HELD)
    ev = event_for(a, summary="Renamed")
    [action] = e.plan_import(mapping(), [ev], [link(a, etag='"1"')], [a])
    assert action.kind == e.SKIP and "held" in action.reason


def _both_changed(rule, crm_modified, google_updated):
    a = activity(version=3, subject="CRM title", modified_at=crm_modified)
    ev = event_for(activity(version=3, subject="Google title"), updated=google_updated)
    return a, e.plan_import(mapping(conflict_rule=rule), [ev],
                            [link(a, synced_version=2, etag='"1"')], [a])


def test_conflict_crm_wins_by_default_and_logs_both_versions():
    a, actions = _both_changed(e.CONFLICT_CRM_WINS, None, "2030-01-01T10:00:00Z")
    assert kinds(actions) == [e.CONFLICT, e.PATCH_EVENT]
    record = actions[0].conflict
    assert record["crm"]["subject"] == "CRM title"
    assert record["google"]["subject"] == "Google title"
    assert record["winner"] == e.OWNER_CRM and record["rule"] == e.CONFLICT_CRM_WINS
    assert actions[1].body["summary"] == "CRM title"
    assert actions[1].if_match == '"2"'  # the etag just seen, so a newer Google edit is not lost


def test_conflict_google_wins():
    _, actions = _both_changed(e.CONFLICT_GOOGLE_WINS, None, "2030-01-01T10:00:00Z")
    assert kinds(actions) == [e.CONFLICT, e.UPDATE_ACTIVITY]
    assert actions[1].fields["subject"] == "Google title"


@pytest.mark.parametrize("crm_minute,expected", [(5, e.UPDATE_ACTIVITY), (15, e.PATCH_EVENT)])
def test_conflict_most_recent_edit_wins(crm_minute, expected):
    crm_time = datetime(2030, 1, 1, 10, crm_minute, tzinfo=UTC)
    _, actions = _both_changed(e.CONFLICT_MOST_RECENT, crm_time, "2030-01-01T10:10:00Z")
    assert kinds(actions) == [e.CONFLICT, expected]


def test_identical_changes_on_both_sides_are_not_a_conflict():
    a = activity(version=3, subject="Same")
    ev = event_for(a)
    [action] = e.plan_import(mapping(), [ev], [link(a, synced_version=2, etag='"1"')], [a])
    assert action.kind == e.REBASE  # nothing to write on either side


def test_crm_owned_event_deleted_in_google_is_unlinked_and_kept():
    a = activity()
    ev = google_event(e.google_event_id(a.uid), status="cancelled")
    [action] = e.plan_import(mapping(), [ev], [link(a)], [a])
    assert action.kind == e.UNLINK and action.activity_id == a.id


def test_crm_owned_event_deleted_in_google_can_delete_in_crm_by_option():
    a = activity()
    ev = google_event(e.google_event_id(a.uid), status="cancelled")
    [action] = e.plan_import(mapping(delete_in_crm_on_google_delete=True), [ev], [link(a)], [a])
    assert action.kind == e.DELETE_ACTIVITY


def test_google_owned_event_deleted_in_google_follows_the_users_choice():
    a = activity()
    ev = google_event("g1", status="cancelled")
    imported = link(a, event_id="g1", owner=e.OWNER_GOOGLE)
    [action] = e.plan_import(mapping(), [ev], [imported], [a])
    assert action.kind == e.UNLINK and action.synced_version == a.version  # kept
    [action] = e.plan_import(mapping(delete_in_crm_on_google_delete=True), [ev], [imported],
                             [a])
    assert action.kind == e.DELETE_ACTIVITY and action.activity_id == a.id


def test_held_activity_is_never_deleted_by_a_google_delete():
    a = activity(status=e.STATUS_HELD)
    ev = google_event("g1", status="cancelled")
    [action] = e.plan_import(mapping(delete_in_crm_on_google_delete=True), [ev],
                             [link(a, event_id="g1", owner=e.OWNER_GOOGLE)], [a])
    assert action.kind == e.UNLINK and action.synced_version is not None


def test_our_not_held_cancellation_echo_is_not_a_deletion():
    a = activity(status=e.STATUS_NOT_HELD)
    ev = google_event(e.google_event_id(a.uid), status="cancelled", etag='"9"')
    assert e.plan_import(mapping(), [ev], [link(a)], [a]) == []


def test_deleted_event_that_was_never_synced_is_skipped():
    assert kinds(e.plan_import(mapping(), [google_event(status="cancelled")], [], [])) == [e.SKIP]


def test_cancelled_instance_becomes_an_exception_on_the_series():
    series = activity(recurrence=("RRULE:FREQ=DAILY;COUNT=5",))
    series_link = link(series, event_id="series1", owner=e.OWNER_GOOGLE)
    instance = google_event("series1_20300306T090000Z", status="cancelled",
                            recurringEventId="series1",
                            originalStartTime={"dateTime": "2030-03-06T10:00:00+01:00",
                                               "timeZone": "Europe/Berlin"})
    [action] = e.plan_import(mapping(), [instance], [series_link], [series])
    assert action.kind == e.ADD_EXCEPTION
    assert action.activity_id == series.id
    assert action.exdate == "EXDATE;TZID=Europe/Berlin:20300306T100000"
    all_day = google_event("s_20300306", status="cancelled", recurringEventId="series1",
                           originalStartTime={"date": "2030-03-06"})
    assert e.plan_import(mapping(), [all_day], [series_link], [series])[0].exdate == \
        "EXDATE;VALUE=DATE:20300306"
    utc = google_event("s_x", status="cancelled", recurringEventId="series1",
                       originalStartTime={"dateTime": "2030-03-06T09:00:00Z", "timeZone": "UTC"})
    assert e.plan_import(mapping(), [utc], [series_link], [series])[0].exdate == \
        "EXDATE:20300306T090000Z"


def test_moved_instance_becomes_its_own_linked_activity():
    series = activity(recurrence=("RRULE:FREQ=DAILY;COUNT=5",))
    moved = google_event("series1_20300306T090000Z", recurringEventId="series1",
                         originalStartTime={"dateTime": "2030-03-06T10:00:00+01:00"})
    create, exception = e.plan_import(mapping(), [moved], [link(series, event_id="series1")],
                                      [series])
    assert create.kind == e.CREATE_ACTIVITY and "instance" in create.reason
    # ... and its original slot leaves the series, so the CRM does not show it twice
    assert exception.kind == e.ADD_EXCEPTION and exception.activity_id == series.id
    assert exception.exdate == "EXDATE;TZID=Europe/Berlin:20300306T100000"


def test_recurring_series_imports_as_one_recurring_activity():
    ev = google_event(recurrence=["RRULE:FREQ=WEEKLY;BYDAY=TU", "EXDATE:20300312T090000Z"])
    [action] = e.plan_import(mapping(), [ev], [], [])
    assert action.fields["recurrence"] == "RRULE:FREQ=WEEKLY;BYDAY=TU\nEXDATE:20300312T090000Z"


def test_same_meeting_in_another_users_calendar_links_to_the_existing_activity():
    a = activity()
    anns_link = link(a, mapping_id=1, ical_uid="shared-uid@google.com")
    bobs_copy = google_event("bobcopy", iCalUID="shared-uid@google.com")
    action = e.plan_import(mapping(id=2, user_email="bob@example.com", user_id=2,
                                   calendar_id="bob@example.com"), [bobs_copy], [], [a],
                           other_links=[anns_link])[0]
    assert action.kind == e.LINK_ACTIVITY and action.activity_id == a.id


def test_same_ical_uid_twice_in_one_listing_makes_one_activity_per_user_not_per_event():
    one = google_event("one", iCalUID="x@google.com")
    actions = e.plan_import(mapping(), [one], [], [])
    assert kinds(actions) == [e.CREATE_ACTIVITY]


def test_our_own_event_without_a_link_is_relinked_not_imported():
    """A crash between Google's answer and our commit leaves an event without a link."""
    a = activity()
    ev = event_for(a)
    action, *rest = e.plan_import(mapping(), [ev], [], [a])
    assert action.kind == e.LINK_ACTIVITY and action.owner == e.OWNER_CRM
    assert kinds(rest) == [e.REBASE]  # nothing differs: nothing to write


def test_full_sync_treats_missing_linked_events_as_deleted_but_not_outside_the_window():
    present, missing, old = (activity(1), activity(2),
                             activity(3, start_at=datetime(2020, 1, 1, tzinfo=UTC),
                                      end_at=datetime(2020, 1, 1, 1, tzinfo=UTC)))
    links = [link(present), link(missing), link(old)]
    actions = e.plan_import(mapping(sync_from=date(2029, 1, 1)), [event_for(present, etag='"1"')],
                            links, [present, missing, old], full_sync=True)
    assert [(a.kind, a.activity_id) for a in actions] == [(e.UNLINK, 2)]
    # an incremental (or partial) answer never implies deletions
    assert e.plan_import(mapping(), [], links, [present, missing, old]) == []


def test_edit_in_google_to_an_activity_deleted_in_crm_does_not_resurrect_it():
    a = activity()
    ev = event_for(a, summary="edited")
    conflict, rebase = e.plan_import(mapping(), [ev], [link(a, activity_id=None)], [])
    assert conflict.kind == e.CONFLICT and conflict.conflict["winner"] == e.OWNER_CRM
    assert rebase.kind == e.REBASE  # the export then deletes it (with Google's new etag)


def test_edit_in_google_to_an_activity_deleted_in_crm_comes_back_if_google_wins():
    a = activity()
    ev = event_for(a, summary="edited")
    tomb = link(a, activity_id=None)
    conflict, create = e.plan_import(mapping(conflict_rule=e.CONFLICT_GOOGLE_WINS), [ev],
                                     [tomb], [])
    assert create.kind == e.CREATE_ACTIVITY and create.link_id == tomb.id
    later = datetime(2030, 1, 1, 11, tzinfo=UTC)  # deleted after Google's edit at 10:00
    actions = e.plan_import(mapping(conflict_rule=e.CONFLICT_MOST_RECENT), [ev],
                            [link(a, activity_id=None, crm_deleted_at=later)], [])
    assert kinds(actions) == [e.CONFLICT, e.REBASE]


def test_with_fields_applies_imported_values():
    a = activity()
    fields = e.activity_fields(google_event(summary="X", recurrence=["RRULE:FREQ=DAILY"]))
    b = e.with_fields(a, fields)
    assert b.subject == "X" and b.recurrence == ("RRULE:FREQ=DAILY",)
    assert e.crm_state(b)["subject"] == "X"


def test_zone_of_a_timed_event_drives_its_local_day():
    ev = google_event(start={"dateTime": "2030-03-31T23:30:00-04:00", "timeZone": "America/New_York"},
                      end={"dateTime": "2030-04-01T00:30:00-04:00", "timeZone": "America/New_York"})
    assert kinds(e.plan_import(mapping(sync_from=date(2030, 4, 1)), [ev], [], [])) == [e.SKIP]
    assert e.activity_fields(ev)["start_at"].astimezone(ZoneInfo("America/New_York")).day == 31


def test_crm_edit_after_google_delete_is_a_conflict_the_crm_rule_keeps():
    a = activity(version=4)
    ev = google_event(e.google_event_id(a.uid), status="cancelled")
    actions = e.plan_import(mapping(), [ev], [link(a, synced_version=3)], [a])
    assert kinds(actions) == [e.CONFLICT, e.UNLINK]
    assert actions[0].conflict["winner"] == e.OWNER_CRM
    # the detached link keeps the old version: the export brings the edited event back
    assert actions[1].synced_version == 3
    edited = e.plan_export(mapping(), [a], [link(a, synced_version=3, state=e.LINK_DETACHED)])
    assert kinds(edited) == [e.INSERT_EVENT]


def test_crm_edit_after_google_delete_under_google_wins_is_dropped_but_logged():
    a = activity(version=4)
    ev = google_event(e.google_event_id(a.uid), status="cancelled")
    actions = e.plan_import(mapping(conflict_rule=e.CONFLICT_GOOGLE_WINS), [ev],
                            [link(a, synced_version=3)], [a])
    assert kinds(actions) == [e.CONFLICT, e.UNLINK]
    assert actions[1].synced_version == 4


def test_activity_moved_to_another_organizer_leaves_this_calendar():
    a = activity(version=2, organizer_email="bob@example.com")
    [action] = e.plan_export(mapping(), [a], [link(a, synced_version=1)], out_of_scope={a.id})
    assert action.kind == e.DELETE_EVENT and action.reason == e.OUT_OF_SCOPE
    # never inserted either
    assert e.plan_export(mapping(), [a], [], out_of_scope={a.id}) == []
