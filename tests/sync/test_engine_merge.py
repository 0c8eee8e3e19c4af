"""Field-level three-way merge when both sides changed since the last sync (pure engine)."""
from datetime import datetime, timedelta, timezone

import pytest

from portal.sync.calendar import engine as e

from tests.sync.test_engine import activity, event_for, kinds, link, mapping

UTC = timezone.utc
RULES = (e.CONFLICT_CRM_WINS, e.CONFLICT_GOOGLE_WINS, e.CONFLICT_MOST_RECENT)


def _synced(**kw):
    """An activity as last synced (version 2) and the link remembering its fields."""
    base = activity(version=2, location="Room 1", **kw)
    return base, link(base, synced_version=2, etag='"1"',
                      base_fields=dict(e.crm_state(base), v=e.BASE_VERSION))


def _plan(rule, crm, google_event, lnk, crm_modified=None):
    from dataclasses import replace
    crm = replace(crm, modified_at=crm_modified) if crm_modified else crm
    return e.plan_import(mapping(conflict_rule=rule), [google_event], [lnk], [crm])


@pytest.mark.parametrize("rule", RULES)
def test_disjoint_edits_are_merged_under_every_rule(rule):
    base, lnk = _synced()
    crm = e.with_fields(base, {"subject": "CRM title"})
    crm = crm.__class__(**{**crm.__dict__, "version": 3})
    google = event_for(e.with_fields(base, {"location": "Room 7"}),
                       updated="2030-01-01T10:10:00Z")
    actions = _plan(rule, crm, google, lnk,
                    crm_modified=datetime(2030, 1, 1, 10, 20, tzinfo=UTC))
    assert kinds(actions) == [e.MERGED, e.UPDATE_ACTIVITY, e.PATCH_EVENT]
    record = actions[0].conflict
    assert record["from_crm"] == ["subject"] and record["from_google"] == ["location"]
    assert record["both_changed"] == [] and record["winner"] is None
    assert record["crm"]["subject"] == "CRM title" and record["google"]["location"] == "Room 7"
    update, patch = actions[1], actions[2]
    # each side gets only what the other changed
    assert update.groups == ("location",) and update.fields["location"] == "Room 7"
    assert patch.body == {"summary": "CRM title"}
    assert patch.if_match == '"2"'
    # the link keeps the old sync until Google acknowledged the patch, whose base is the merge
    assert update.synced_version == 2 and update.base is None
    assert patch.base["subject"] == "CRM title" and patch.base["location"] == "Room 7"


def _both_edit_subject():
    base, lnk = _synced()
    crm = e.with_fields(base, {"subject": "CRM title", "description": "agenda"})
    crm = crm.__class__(**{**crm.__dict__, "version": 3})
    google = event_for(e.with_fields(base, {"subject": "Google title", "location": "Room 7"}),
                       updated="2030-01-01T10:10:00Z")
    return crm, google, lnk


@pytest.mark.parametrize("rule,minute,winner", [
    (e.CONFLICT_CRM_WINS, None, e.OWNER_CRM),
    (e.CONFLICT_GOOGLE_WINS, None, e.OWNER_GOOGLE),
    (e.CONFLICT_MOST_RECENT, 5, e.OWNER_GOOGLE),
    (e.CONFLICT_MOST_RECENT, 15, e.OWNER_CRM)])
def test_same_field_changed_on_both_sides_is_decided_by_the_rule(rule, minute, winner):
    crm, google, lnk = _both_edit_subject()
    modified = datetime(2030, 1, 1, 10, minute, tzinfo=UTC) if minute is not None else None
    actions = _plan(rule, crm, google, lnk, crm_modified=modified)
    record = actions[0]
    assert record.kind == e.CONFLICT
    assert record.conflict["both_changed"] == ["subject"]
    assert record.conflict["winner"] == winner
    assert record.conflict["crm"]["subject"] == "CRM title"
    assert record.conflict["google"]["subject"] == "Google title"
    expected = "CRM title" if winner == e.OWNER_CRM else "Google title"
    # the other, one-sided edits are kept whatever the rule
    update = next(a for a in actions if a.kind == e.UPDATE_ACTIVITY)
    patch = next(a for a in actions if a.kind == e.PATCH_EVENT)
    written = e.with_fields(crm, update.fields, update.groups)
    assert (written.subject, written.description, written.location) == (
        expected, "agenda", "Room 7")
    sent = {"summary": "Google title", "location": "Room 7", **patch.body}
    assert (sent["summary"], sent["description"], sent["location"]) == (
        expected, "agenda", "Room 7")
    if winner == e.OWNER_CRM:
        assert record.conflict["from_crm"] == ["subject", "description"]
    else:
        assert record.conflict["from_crm"] == ["description"]
        assert record.conflict["from_google"] == ["subject", "location"]


def test_only_crm_fields_in_the_merge_patch_google_without_updating_the_activity():
    crm, google, lnk = _both_edit_subject()
    google = event_for(e.with_fields(crm, {"subject": "Google title"}),
                       updated="2030-01-01T10:10:00Z")
    actions = _plan(e.CONFLICT_CRM_WINS, crm, google, lnk)
    assert kinds(actions) == [e.CONFLICT, e.PATCH_EVENT]
    assert actions[1].body["summary"] == "CRM title"


def test_only_google_fields_in_the_merge_update_the_activity_and_mark_it_synced():
    base, lnk = _synced()
    crm = e.with_fields(base, {"subject": "CRM title"})
    crm = crm.__class__(**{**crm.__dict__, "version": 3})
    google = event_for(e.with_fields(base, {"subject": "Google title", "location": "Room 7"}))
    actions = _plan(e.CONFLICT_GOOGLE_WINS, crm, google, lnk)
    assert kinds(actions) == [e.CONFLICT, e.UPDATE_ACTIVITY]
    update = actions[1]
    assert (update.fields["subject"], update.fields["location"]) == ("Google title", "Room 7")
    # nothing to send to Google: the update records the sync and its base at once
    assert update.synced_version is None
    assert update.base["subject"] == "Google title" and update.base["location"] == "Room 7"


def test_timing_is_one_group_start_end_and_zone_move_together():
    base, lnk = _synced()
    start = base.start_at + timedelta(hours=2)
    crm = e.with_fields(base, {"start_at": start, "end_at": start + timedelta(hours=1),
                               "time_zone": "America/New_York"})
    crm = crm.__class__(**{**crm.__dict__, "version": 3})
    # Google moved only the end (a longer meeting), and renamed it
    google = event_for(e.with_fields(base, {"end_at": base.end_at + timedelta(minutes=30),
                                            "subject": "Google title"}))
    actions = _plan(e.CONFLICT_CRM_WINS, crm, google, lnk)
    record = actions[0].conflict
    assert actions[0].kind == e.CONFLICT and record["both_changed"] == ["timing"]
    patch = next(a for a in actions if a.kind == e.PATCH_EVENT)
    update = next(a for a in actions if a.kind == e.UPDATE_ACTIVITY)
    # the CRM's whole timing wins, never its start with Google's end
    assert e.parse_rfc3339(patch.body["start"]["dateTime"]) == start
    assert e.parse_rfc3339(patch.body["end"]["dateTime"]) == start + timedelta(hours=1)
    assert patch.body["start"]["timeZone"] == "America/New_York"
    assert "summary" not in patch.body  # Google's rename stays Google's
    assert update.groups == ("subject",) and update.fields["subject"] == "Google title"


def test_same_instant_in_another_zone_is_the_same_time_but_a_zone_change():
    base, lnk = _synced()
    berlin = e.crm_state(base)["timing"]
    moved = e.with_fields(base, {"time_zone": "Asia/Kolkata"})
    assert e.crm_state(moved)["timing"][1:3] == berlin[1:3]
    assert e.crm_state(moved)["timing"] != berlin
    # Google's copy of the synced activity reads back as exactly the remembered base
    assert e.google_state(event_for(base), mapping(), organizer_key=base.organizer_key) \
        == e.crm_state(base)


def test_all_day_timing_ignores_the_zone():
    day = datetime(2030, 3, 4).date()
    a = activity(all_day=True, start_date=day, end_date=day, start_at=None, end_at=None)
    assert e.google_state(event_for(a), mapping(), organizer_key=a.organizer_key) \
        == e.crm_state(a)


def test_old_links_without_remembered_fields_keep_the_whole_record_rule():
    base, lnk = _synced()
    lnk = link(base, synced_version=2, etag='"1"')  # no base_fields
    crm = e.with_fields(base, {"subject": "CRM title"})
    crm = crm.__class__(**{**crm.__dict__, "version": 3})
    google = event_for(e.with_fields(base, {"location": "Room 7"}))
    actions = _plan(e.CONFLICT_CRM_WINS, crm, google, lnk)
    assert kinds(actions) == [e.CONFLICT, e.PATCH_EVENT]
    assert actions[1].body == {"summary": "CRM title", "location": "Room 1"}
    actions = _plan(e.CONFLICT_GOOGLE_WINS, crm, google, lnk)
    assert kinds(actions) == [e.CONFLICT, e.UPDATE_ACTIVITY]
    assert set(actions[1].groups) == {"subject", "location"}
    assert actions[1].fields["subject"] == "Meeting 1"


def test_a_guests_copy_merges_nothing_but_the_guests_answer():
    """Someone else organizes it: their shared fields come from their copy, never from a
    guest's, and the CRM never writes them through the guest's copy."""
    base, _ = _synced()
    lnk = link(base, synced_version=2, etag='"1"', owner=e.OWNER_GOOGLE, role=e.ROLE_GUEST,
               base_fields=dict(e.crm_state(base, 1), v=e.BASE_VERSION))
    crm = e.with_fields(base, {"subject": "CRM title"})
    crm = crm.__class__(**{**crm.__dict__, "version": 3})
    google = event_for(e.with_fields(base, {"location": "Room 7"}))
    google.resource["organizer"] = {"email": "boss@outside.org"}
    google.resource["attendees"] = [{"email": "ann@example.com", "self": True,
                                     "responseStatus": "accepted"}]
    ctx = e.Context(organizer_linked=frozenset({crm.id}))
    actions = e.plan_import(mapping(), [google], [lnk], [crm], ctx=ctx)
    assert kinds(actions) == [e.UPDATE_ACTIVITY]
    assert actions[0].groups == (e.ANSWER,) and actions[0].fields["answer"] == "accepted"


def test_attendees_merge_as_one_group():
    base, lnk = _synced(attendees=(e.Attendee("bob@example.com"),))
    crm = e.with_fields(base, {"subject": "CRM title"})
    crm = crm.__class__(**{**crm.__dict__, "version": 3})
    google_side = base.__class__(**{**base.__dict__, "attendees": (
        e.Attendee("bob@example.com"), e.Attendee("eve@outside.org"))})
    google = event_for(google_side)
    actions = _plan(e.CONFLICT_CRM_WINS, crm, google, lnk)
    assert actions[0].kind == e.MERGED
    assert actions[0].conflict["from_google"] == ["attendees"]
    patch = next(a for a in actions if a.kind == e.PATCH_EVENT)
    assert patch.body == {"summary": "CRM title"}  # Google's guest list is not rewritten
    update = next(a for a in actions if a.kind == e.UPDATE_ACTIVITY)
    assert sorted(a.email for a in update.fields["attendees"]) == [
        "bob@example.com", "eve@outside.org"]


def test_an_attendee_added_in_the_crm_is_added_to_googles_list_as_it_is():
    """The patch applies the CRM's change to Google's own list: answers, names, the
    organizer's entry and resources stay."""
    a = activity(version=3, attendees=(e.Attendee("bob@example.com"),
                                       e.Attendee("eve@outside.org")))
    known = ({"email": "ann@example.com", "organizer": True, "responseStatus": "accepted"},
             {"email": "bob@example.com", "responseStatus": "declined", "optional": True,
              "displayName": "Bobby"},
             {"email": "room@resource.calendar.google.com", "resource": True})
    before = dict(e.crm_state(activity(attendees=(e.Attendee("bob@example.com"),))),
                  v=e.BASE_VERSION)
    lnk = link(a, synced_version=2, base_fields=before, google_attendees=known)
    [patch] = e.plan_export(mapping(), [a], [lnk])
    assert patch.body == {"attendees": list(known) + [
        {"email": "eve@outside.org", "responseStatus": "needsAction"}]}


def test_acknowledged_writes_carry_the_merge_base():
    a = activity(version=3)
    [insert] = e.plan_export(mapping(), [a], [])
    assert insert.base == dict(e.crm_state(a), v=e.BASE_VERSION)
    [patch] = e.plan_export(mapping(), [a], [link(a, synced_version=2)])
    assert patch.base["subject"] == a.subject
    ev = event_for(a, summary="Renamed")
    [update] = e.plan_import(mapping(), [ev], [link(a, etag='"1"', synced_version=3)], [a])
    state = e.google_state(ev, mapping(), organizer_key=a.organizer_key)
    assert {k: v for k, v in update.base.items() if k != "v"} == state
    assert update.base["subject"] == "Renamed"
