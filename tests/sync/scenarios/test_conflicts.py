"""Conflicts under each rule, deletes included: what each side shows after both changed
between two syncs (googlesim, real client, RQ worker). Every conflict is logged with both
versions on the run."""
import json
from datetime import datetime, timedelta

import pytest

from portal.sync.calendar.engine import google_event_id

from scenario_kit import UTC, activities, delete, edit, entries, fresh, live

START = datetime(2031, 5, 6, 8, 0, tzinfo=UTC)
RULES = ["crm_wins", "google_wins", "most_recent"]


def synced_meeting(connect_user, make_activity, sync, rule, **options):
    ann, mapping = connect_user(conflict_rule=rule, **options)
    meeting = make_activity(ann, subject="Budget", start=START, location="Room 1")
    sync(mapping)
    return ann, mapping, meeting, google_event_id(meeting.uid)


@pytest.mark.parametrize("rule,google_last,winner", [
    ("crm_wins", False, "crm"), ("crm_wins", True, "crm"),
    ("google_wins", False, "google"), ("google_wins", True, "google"),
    ("most_recent", False, "crm"), ("most_recent", True, "google"),
])
def test_the_same_field_changed_on_both_sides_follows_the_rule(
        connect_user, make_activity, sim, sync, rule, google_last, winner):
    ann, mapping, meeting, event_id = synced_meeting(connect_user, make_activity, sync, rule)
    crm_edit = lambda: edit(meeting, subject="CRM title")  # noqa: E731
    google_edit = lambda: sim.patch_event(ann.email, ann.email, event_id,  # noqa: E731
                                          {"summary": "Google title"})
    for step in ((crm_edit, google_edit) if google_last else (google_edit, crm_edit)):
        step()
    run = sync(mapping)
    assert run.conflicts == 1 and run.errors == 0
    expected = "CRM title" if winner == "crm" else "Google title"
    assert fresh(meeting).subject == expected
    assert sim.get_event(ann.email, ann.email, event_id)["summary"] == expected
    [entry] = entries(run, "conflict")
    versions = json.loads(entry.versions)
    assert (versions["crm"]["subject"], versions["google"]["subject"]) == (
        "CRM title", "Google title")
    assert versions["winner"] == winner
    again = sync(mapping)
    assert (again.conflicts, again.updated) == (0, 0)


@pytest.mark.parametrize("rule", RULES)
def test_different_fields_changed_on_each_side_are_both_kept_under_every_rule(
        connect_user, make_activity, sim, sync, rule):
    ann, mapping, meeting, event_id = synced_meeting(connect_user, make_activity, sync, rule)
    moved = START + timedelta(hours=2)
    edit(meeting, start_at=moved, end_at=moved + timedelta(hours=1))
    sim.patch_event(ann.email, ann.email, event_id, {"description": "Agenda from Google"})
    run = sync(mapping)
    assert run.conflicts == 0 and run.errors == 0
    activity = fresh(meeting)
    event = sim.get_event(ann.email, ann.email, event_id)
    assert activity.start_at == moved
    assert datetime.fromisoformat(event["start"]["dateTime"]) == moved
    assert activity.description == event["description"] == "Agenda from Google"


@pytest.mark.parametrize("rule,google_last,edit_survives", [
    ("crm_wins", True, False), ("google_wins", False, True),
    ("most_recent", False, False), ("most_recent", True, True),
])
def test_crm_delete_against_a_google_edit_follows_the_rule(
        connect_user, make_activity, sim, sync, rule, google_last, edit_survives):
    ann, mapping, meeting, event_id = synced_meeting(connect_user, make_activity, sync, rule)
    steps = [lambda: delete(meeting),
             lambda: sim.patch_event(ann.email, ann.email, event_id,
                                     {"summary": "Budget (edited in Google)"})]
    for step in (steps if google_last else reversed(steps)):
        step()
    run = sync(mapping)
    assert run.conflicts == 1 and run.errors == 0
    if edit_survives:
        [activity] = activities()
        assert activity.subject == "Budget (edited in Google)"
        assert [e["summary"] for e in live(sim, ann.email)] == ["Budget (edited in Google)"]
    else:
        assert activities() == []
        assert live(sim, ann.email) == []
    run = sync(mapping)
    assert (run.created, run.deleted, run.conflicts, run.errors) == (0, 0, 0, 0)


@pytest.mark.parametrize("rule,google_last,edit_survives", [
    ("crm_wins", True, True), ("google_wins", False, False),
    ("most_recent", False, True), ("most_recent", True, False),
])
def test_google_delete_against_a_crm_edit_follows_the_rule(
        connect_user, make_activity, sim, sync, rule, google_last, edit_survives):
    """The CRM edit "survives" when the event is back in Google with it; otherwise the
    event stays deleted in Google and the activity is kept (the default choice)."""
    ann, mapping, meeting, event_id = synced_meeting(connect_user, make_activity, sync, rule)
    steps = [lambda: edit(meeting, subject="Budget (edited in CRM)"),
             lambda: sim.delete_event(ann.email, ann.email, event_id)]
    for step in (steps if google_last else reversed(steps)):
        step()
    run = sync(mapping)
    assert run.conflicts == 1 and run.errors == 0
    assert fresh(meeting).subject == "Budget (edited in CRM)"
    if edit_survives:
        assert [e["summary"] for e in live(sim, ann.email)] == ["Budget (edited in CRM)"]
    else:
        assert live(sim, ann.email) == []
    run = sync(mapping)
    assert (run.created, run.deleted, run.conflicts, run.errors) == (0, 0, 0, 0)


def test_google_delete_of_an_edited_activity_under_google_wins_with_the_delete_option(
        connect_user, make_activity, sim, sync):
    ann, mapping, meeting, event_id = synced_meeting(
        connect_user, make_activity, sync, "google_wins",
        delete_in_crm_when_deleted_in_google=True)
    edit(meeting, subject="Budget (edited in CRM)")
    sim.delete_event(ann.email, ann.email, event_id)
    run = sync(mapping)
    assert run.conflicts == 1
    assert activities() == [] and live(sim, ann.email) == []


@pytest.mark.parametrize("delete_in_crm", [False, True])
def test_a_held_activity_is_never_deleted_nor_changed_by_google(
        connect_user, make_activity, sim, sync, delete_in_crm):
    ann, mapping, meeting, event_id = synced_meeting(
        connect_user, make_activity, sync, "google_wins",
        delete_in_crm_when_deleted_in_google=delete_in_crm)
    edit(meeting, status="Held", description="Minutes: we agreed on the budget.")
    sync(mapping)
    sim.patch_event(ann.email, ann.email, event_id, {"summary": "Budget (renamed)"})
    sync(mapping)
    assert fresh(meeting).subject == "Budget"
    sim.delete_event(ann.email, ann.email, event_id)
    assert sync(mapping).errors == 0
    kept = fresh(meeting)
    assert kept is not None
    assert (kept.status, kept.description) == ("Held", "Minutes: we agreed on the budget.")


@pytest.mark.parametrize("delete_in_crm", [False, True])
def test_an_event_made_in_google_and_deleted_there_follows_the_users_choice(
        connect_user, sim, sync, delete_in_crm):
    ann, mapping = connect_user(delete_in_crm_when_deleted_in_google=delete_in_crm)
    made = sim.insert_event(ann.email, ann.email, {
        "summary": "Dentist", "start": {"dateTime": "2031-05-06T10:00:00+02:00"},
        "end": {"dateTime": "2031-05-06T11:00:00+02:00"}})
    sync(mapping)
    sim.delete_event(ann.email, ann.email, made["id"])
    assert sync(mapping).errors == 0
    assert [a.subject for a in activities()] == ([] if delete_in_crm else ["Dentist"])
    run = sync(mapping)
    assert (run.created, run.errors) == (0, 0)
    assert live(sim, ann.email) == []


@pytest.mark.parametrize("rule,expected", [("crm_wins", "CRM title"),
                                           ("google_wins", "Google title")])
def test_a_conflict_on_a_shared_meeting_is_decided_by_the_organizers_rule(
        connect_user, make_activity, sim, sync, rule, expected):
    """Ann changes the title in the CRM and in Google; Bob (a guest) syncs in between: his
    copy must not decide anything, Ann's rule does."""
    ann, ann_map = connect_user("ann@example.com", conflict_rule=rule)
    bob, bob_map = connect_user("bob@example.com",
                                conflict_rule="google_wins" if rule == "crm_wins"
                                else "crm_wins")
    meeting = make_activity(ann, subject="Budget", start=START, participants=[bob])
    sync(ann_map)
    sync(bob_map)
    event_id = google_event_id(meeting.uid)
    edit(meeting, subject="CRM title")
    sim.patch_event(ann.email, ann.email, event_id, {"summary": "Google title"})
    assert sync(bob_map).conflicts == 0
    assert sync(ann_map).conflicts == 1
    sync(bob_map)
    assert fresh(meeting).subject == expected
    for owner in (ann.email, bob.email):
        assert sim.get_event(owner, owner, event_id)["summary"] == expected
