"""Engine rules for recurring series with exceptions, attendees' answers on CRM patches,
and the full list of mapped fields (pure: no app, no database, no network)."""
import json
import uuid
from datetime import date, datetime, timedelta, timezone

import pytest

from portal.crm.reminders import Reminders
from portal.sync.calendar import engine as e

UTC = timezone.utc
MEETING = 2
RULE = "RRULE:FREQ=WEEKLY;COUNT=6"


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


def base_of(a):
    """The merge base a link remembers after syncing ``a``."""
    return dict(e.crm_state(a), v=e.BASE_VERSION)


def link(a, **kw):
    values = dict(id=100 + a.id, mapping_id=1, activity_id=a.id,
                  event_id=e.google_event_id(a.uid), etag='"1"', synced_version=a.version,
                  owner=e.OWNER_CRM, google_recurrence=tuple(a.recurrence))
    values.update(kw)
    return e.LinkSnapshot(**values)


def gevent(event_id, etag='"g1"', **overrides):
    body = {"id": event_id, "etag": etag, "status": "confirmed", "summary": "Weekly",
            "start": {"dateTime": "2030-03-04T10:00:00+01:00", "timeZone": "Europe/Berlin"},
            "end": {"dateTime": "2030-03-04T11:00:00+01:00", "timeZone": "Europe/Berlin"},
            "iCalUID": event_id + "@google.com", "updated": "2030-01-01T10:00:00.000Z"}
    body.update(overrides)
    return e.EventSnapshot.from_resource(body)


def series_with_exceptions(series_id="series1"):
    """A weekly series (Mondays 10:00 Berlin), its 2nd occurrence moved to Tuesday, its
    3rd cancelled: what events.list returns without singleEvents."""
    series = gevent(series_id, recurrence=[RULE])
    moved = gevent(f"{series_id}_20300311T090000Z", summary="Weekly (moved)",
                   recurringEventId=series_id,
                   originalStartTime={"dateTime": "2030-03-11T10:00:00+01:00",
                                      "timeZone": "Europe/Berlin"},
                   start={"dateTime": "2030-03-12T15:00:00+01:00", "timeZone": "Europe/Berlin"},
                   end={"dateTime": "2030-03-12T16:00:00+01:00", "timeZone": "Europe/Berlin"})
    cancelled = gevent(f"{series_id}_20300318T090000Z", status="cancelled",
                       recurringEventId=series_id,
                       originalStartTime={"dateTime": "2030-03-18T10:00:00+01:00",
                                          "timeZone": "Europe/Berlin"})
    return series, moved, cancelled


EXDATES = ("EXDATE;TZID=Europe/Berlin:20300311T100000",
           "EXDATE;TZID=Europe/Berlin:20300318T100000")


# -- recurring series import ---------------------------------------------------------------------

def test_new_series_with_a_moved_and_a_cancelled_instance_is_one_series_plus_the_moved_one():
    series, moved, cancelled = series_with_exceptions()
    plan = e.plan_import(mapping(), [series, moved, cancelled], [], [])
    creates = [a for a in plan if a.kind == e.CREATE_ACTIVITY]
    assert [a.event_id for a in creates] == ["series1", moved.id]
    assert [a.kind for a in plan if a.kind != e.CREATE_ACTIVITY] == []
    series_action = creates[0]
    assert series_action.fields["recurrence"].splitlines() == [RULE, *EXDATES]
    assert series_action.exdates == EXDATES  # remembered as Google's, never sent back
    moved_fields = creates[1].fields
    assert moved_fields["subject"] == "Weekly (moved)"
    assert moved_fields["recurrence"] == ""
    assert moved_fields["start_at"] == datetime(2030, 3, 12, 14, tzinfo=UTC)


def test_the_same_exceptions_listed_again_change_nothing():
    series, moved, cancelled = series_with_exceptions()
    crm_series = activity(recurrence=(RULE, *EXDATES))
    crm_moved = activity(2)
    links = [link(crm_series, event_id="series1", etag=series.etag, owner=e.OWNER_GOOGLE,
                  google_recurrence=(RULE,), google_exdates=EXDATES),
             link(crm_moved, event_id=moved.id, etag=moved.etag, owner=e.OWNER_GOOGLE,
                  recurring_event_id="series1")]
    # a full listing after a 410 brings every item back, the cancelled one included
    assert e.plan_import(mapping(), [series, moved, cancelled], links, [crm_series, crm_moved],
                         full_sync=True) == []


def test_an_exception_of_an_already_linked_series_adds_one_exdate():
    _, moved, _ = series_with_exceptions()
    crm_series = activity(recurrence=(RULE, EXDATES[1]))
    series_link = link(crm_series, event_id="series1", google_exdates=(EXDATES[1],))
    plan = e.plan_import(mapping(), [moved], [series_link], [crm_series])
    assert [(a.kind, a.exdate) for a in plan if a.kind == e.ADD_EXCEPTION] == [
        (e.ADD_EXCEPTION, EXDATES[0])]


def test_series_changed_in_google_keeps_the_exdates_of_its_exceptions():
    series, _, _ = series_with_exceptions()
    renamed = gevent("series1", etag='"g2"', summary="Weekly sync", recurrence=[RULE])
    crm_series = activity(recurrence=(RULE, *EXDATES))
    series_link = link(crm_series, event_id="series1", etag=series.etag,
                       owner=e.OWNER_GOOGLE, google_exdates=EXDATES)
    [update] = e.plan_import(mapping(), [renamed], [series_link], [crm_series])
    assert update.kind == e.UPDATE_ACTIVITY
    assert update.fields["subject"] == "Weekly sync"
    assert update.fields["recurrence"].splitlines() == [RULE, *EXDATES]


def test_exceptions_of_a_deleted_series_add_nothing():
    series, moved, cancelled = series_with_exceptions()
    gone = gevent("series1", etag='"g9"', status="cancelled")
    crm_series = activity(recurrence=(RULE,))
    series_link = link(crm_series, event_id="series1", owner=e.OWNER_GOOGLE)
    plan = e.plan_import(mapping(), [gone, cancelled], [series_link], [crm_series])
    assert [a.kind for a in plan] == [e.UNLINK]  # kept, the default; no EXDATEs added


@pytest.mark.parametrize("original,series_zone,expected", [
    ({"date": "2030-03-11"}, None, "EXDATE;VALUE=DATE:20300311"),
    ({"dateTime": "2030-03-11T09:00:00Z", "timeZone": "UTC"}, None, "EXDATE:20300311T090000Z"),
    ({"dateTime": "2030-03-11T09:00:00Z"}, "UTC", "EXDATE:20300311T090000Z"),
    # no zone on the instance: the series' own zone, not the user's
    ({"dateTime": "2030-03-11T09:00:00Z"}, "America/New_York",
     "EXDATE;TZID=America/New_York:20300311T050000"),
    ({"dateTime": "2030-03-11T09:00:00Z", "timeZone": "Asia/Kolkata"}, None,
     "EXDATE;TZID=Asia/Kolkata:20300311T143000"),
])
def test_exdate_format_follows_the_series(original, series_zone, expected):
    start = {"date": "2030-03-04"} if "date" in original else \
        {"dateTime": "2030-03-04T09:00:00Z", **({"timeZone": series_zone} if series_zone else {})}
    end = {"date": "2030-03-05"} if "date" in original else \
        {"dateTime": "2030-03-04T10:00:00Z", **({"timeZone": series_zone} if series_zone else {})}
    series = gevent("series1", recurrence=[RULE], start=start, end=end)
    cancelled = gevent("series1_x", status="cancelled", recurringEventId="series1",
                       originalStartTime=original)
    [create] = e.plan_import(mapping(), [series, cancelled], [], [])
    assert create.fields["recurrence"].splitlines() == [RULE, expected]


def test_an_instance_of_our_own_series_is_not_relinked_to_the_series_activity():
    crm_series = activity(recurrence=(RULE,))
    series_id = e.google_event_id(crm_series.uid)
    body = e.event_body(crm_series, series_id)
    del body["recurrence"]
    body.update(id=series_id + "_20300311T090000Z", etag='"i1"', recurringEventId=series_id,
                summary="Moved one",
                originalStartTime={"dateTime": "2030-03-11T10:00:00+01:00",
                                   "timeZone": "Europe/Berlin"})
    instance = e.EventSnapshot.from_resource(body)
    assert instance.activity_uid == crm_series.uid  # the instance carries the series' marker
    plan = e.plan_import(mapping(), [instance], [link(crm_series, event_id=series_id)],
                         [crm_series])
    assert [a.kind for a in plan] == [e.CREATE_ACTIVITY, e.ADD_EXCEPTION]
    assert plan[0].fields["subject"] == "Moved one"


# -- exporting a series back ---------------------------------------------------------------------

def test_patching_a_series_leaves_googles_exceptions_alone():
    crm_series = activity(recurrence=(RULE, *EXDATES), version=2, subject="Weekly (agenda)")
    before = activity(recurrence=(RULE,), subject="Weekly")
    series_link = link(crm_series, synced_version=1, google_recurrence=(RULE,),
                       google_exdates=EXDATES, base_fields=base_of(before))
    [patch] = e.plan_export(mapping(), [crm_series], [series_link])
    assert patch.kind == e.PATCH_EVENT
    # only the subject changed: no recurrence in the patch, so Google keeps its exceptions
    assert patch.body == {"summary": "Weekly (agenda)"}


def test_a_changed_rule_is_sent_without_the_exdates_that_mirror_googles_exceptions():
    own_exdate = "EXDATE;TZID=Europe/Berlin:20300325T100000"
    crm_series = activity(recurrence=("RRULE:FREQ=WEEKLY;COUNT=8", *EXDATES, own_exdate),
                          version=2)
    series_link = link(crm_series, synced_version=1, google_recurrence=(RULE,),
                       google_exdates=EXDATES)
    [patch] = e.plan_export(mapping(), [crm_series], [series_link])
    assert patch.body["recurrence"] == ["RRULE:FREQ=WEEKLY;COUNT=8", own_exdate]


def test_a_link_that_never_recorded_googles_rule_sends_the_recurrence():
    crm_series = activity(recurrence=(RULE,), version=2)
    [patch] = e.plan_export(mapping(), [crm_series], [link(crm_series, synced_version=1,
                                                           google_recurrence=None)])
    assert patch.body["recurrence"] == [RULE]


def test_exdates_from_google_are_not_a_conflict():
    series = gevent("series1", etag='"g2"', summary="Same", recurrence=[RULE])
    crm_series = activity(subject="Same", version=3, recurrence=(RULE, *EXDATES),
                          start_at=datetime(2030, 3, 4, 9, tzinfo=UTC),
                          end_at=datetime(2030, 3, 4, 10, tzinfo=UTC), organizer_email="",
                          reminders=Reminders(True))
    series_link = link(crm_series, event_id="series1", synced_version=2,
                       google_exdates=EXDATES)
    [action] = e.plan_import(mapping(), [series], [series_link], [crm_series])
    assert action.kind == e.REBASE  # both sides agree: nothing to write, no conflict


# -- attendees' answers --------------------------------------------------------------------------

GOOGLE_ATTENDEES = (
    {"email": "ann@example.com", "organizer": True, "self": True, "responseStatus": "accepted"},
    {"email": "bob@example.com", "displayName": "Bobby B.", "responseStatus": "accepted",
     "optional": True},
    {"email": "carol@example.com", "responseStatus": "declined", "comment": "away"},
    {"email": "gone@example.com", "responseStatus": "tentative"},
)


def test_a_crm_patch_keeps_the_attendees_answers_names_and_flags():
    a = activity(version=2, subject="Edited", attendees=(
        e.Attendee("bob@example.com", "Bob"), e.Attendee("Carol@example.com", "Carol"),
        e.Attendee("dave@example.com", "Dave")))
    before = activity(attendees=(e.Attendee("bob@example.com"), e.Attendee("carol@example.com"),
                                 e.Attendee("gone@example.com")))
    [patch] = e.plan_export(mapping(), [a], [link(a, synced_version=1,
                                                  google_attendees=GOOGLE_ATTENDEES,
                                                  base_fields=base_of(before))])
    assert patch.body["attendees"] == [
        {"email": "ann@example.com", "organizer": True, "responseStatus": "accepted"},
        {"email": "bob@example.com", "displayName": "Bobby B.", "responseStatus": "accepted",
         "optional": True},
        {"email": "carol@example.com", "responseStatus": "declined", "comment": "away"},
        {"email": "dave@example.com", "responseStatus": "needsAction", "displayName": "Dave"},
    ]  # gone@ was removed in the CRM: removed in Google too


def test_when_both_changed_and_the_crm_wins_the_fresh_answers_from_google_are_kept():
    a = activity(version=2, subject="CRM title", attendees=(e.Attendee("bob@example.com"),))
    fresh = gevent(e.google_event_id(a.uid), etag='"g7"', summary="Google title",
                   attendees=[{"email": "bob@example.com", "responseStatus": "tentative"}])
    plan = e.plan_import(mapping(), [fresh], [link(a, synced_version=1, google_attendees=(
        {"email": "bob@example.com", "responseStatus": "needsAction"},))], [a])
    [patch] = [x for x in plan if x.kind == e.PATCH_EVENT]
    assert patch.body == {"summary": "CRM title"}  # the guest list (and answers) untouched


def test_remembered_state_keeps_attendee_objects_recurrence_and_exdates():
    state = e.remembered_state({"attendees": list(GOOGLE_ATTENDEES), "recurrence": [RULE, " "]},
                               EXDATES + EXDATES[:1])
    assert json.loads(json.dumps(state)) == {"attendees": [dict(x) for x in GOOGLE_ATTENDEES],
                                             "recurrence": [RULE], "exdates": list(EXDATES),
                                             "guestsCanModify": False, "organizer": ""}


# -- every mapped field, both ways ---------------------------------------------------------------

@pytest.mark.parametrize("all_day", [False, True])
@pytest.mark.parametrize("status", [e.STATUS_PLANNED, e.STATUS_NOT_HELD])
def test_every_mapped_field_round_trips_through_a_google_event(all_day, status):
    text = "Réunion 会议 📅 Встреча مرحبا"
    when = dict(all_day=True, start_at=None, end_at=None, start_date=date(2030, 3, 30),
                end_date=date(2030, 4, 1)) if all_day else dict(
        start_at=datetime(2030, 4, 6, 15, 30, tzinfo=UTC),  # across Sydney's DST end
        end_at=datetime(2030, 4, 6, 17, 0, tzinfo=UTC))
    a = activity(subject=text, description=text + "\n" + text, location=text, status=status,
                 time_zone="Australia/Sydney", recurrence=(RULE,),
                 reminders=Reminders.of(False, [("popup", 25), ("email", 1440)]),
                 visibility="private", organizer_name="Ann",
                 attendees=(e.Attendee("bob@example.com", "Bob"),),
                 external_attendees=(e.Attendee("ext@other.org", "Ext", "accepted"),), **when)
    body = json.loads(json.dumps(e.event_body(a, e.google_event_id(a.uid)), ensure_ascii=False))
    assert body["status"] == ("cancelled" if status == e.STATUS_NOT_HELD else "confirmed")
    if all_day:
        assert (body["start"], body["end"]) == ({"date": "2030-03-30"}, {"date": "2030-04-02"})
    else:
        assert body["start"] == {"dateTime": "2030-04-07T02:30:00+11:00",
                                 "timeZone": "Australia/Sydney"}
        assert body["end"] == {"dateTime": "2030-04-07T03:00:00+10:00",
                               "timeZone": "Australia/Sydney"}
    back = e.activity_fields(body, "Europe/Berlin")
    event = e.EventSnapshot.from_resource(dict(body, etag='"x"'))
    assert e.google_state(event, mapping(), organizer_key=a.organizer_key) == e.crm_state(a)
    assert back["organizer_email"] == "ann@example.com"
    assert [(x.email, x.display_name, x.response_status) for x in back["attendees"]] == [
        ("bob@example.com", "Bob", "needsAction"), ("ext@other.org", "Ext", "accepted")]
    if not all_day:
        assert back["time_zone"] == "Australia/Sydney"


def test_a_cancelled_google_event_seen_as_a_change_means_not_held_and_back():
    a = activity(version=1)
    fields = e.activity_fields(gevent("x", status="cancelled"))
    assert fields["status"] == e.STATUS_NOT_HELD
    assert e.activity_fields(gevent("x", status="confirmed"))["status"] == e.STATUS_PLANNED
    # a Not Held activity brought back to Planned is un-cancelled in Google
    back = activity(version=3, status=e.STATUS_PLANNED)
    was = activity(version=2, status=e.STATUS_NOT_HELD)
    [patch] = e.plan_export(mapping(), [back], [link(a, synced_version=2,
                                                     base_fields=base_of(was))])
    assert patch.body == {"status": "confirmed"}
    # Held is not a Google state: nothing is sent for it (a tentative event stays so)
    held = activity(version=3, status=e.STATUS_HELD)
    assert e.patch_for(held, ["status"], link(a), mapping(), base_of(a)) == {}


def test_a_zero_length_google_event_is_imported_and_one_ending_before_it_starts_skipped():
    instant = gevent("ping1", end={"dateTime": "2030-03-04T10:00:00+01:00",
                                   "timeZone": "Europe/Berlin"})
    [action] = e.plan_import(mapping(), [instant], [], [])
    assert action.kind == e.CREATE_ACTIVITY
    assert action.fields["start_at"] == action.fields["end_at"]
    a = activity(version=1)
    backwards = gevent(e.google_event_id(a.uid), etag='"g5"',
                       start={"dateTime": "2030-03-04T10:00:00+01:00"},
                       end={"dateTime": "2030-03-04T09:00:00+01:00"})
    [action] = e.plan_import(mapping(), [backwards], [link(a)], [a])
    assert action.kind in (e.SKIP, e.UPDATE_ACTIVITY)
