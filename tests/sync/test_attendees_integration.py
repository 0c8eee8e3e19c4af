"""Attendees' answers in Google survive CRM edits (googlesim, real client, RQ and Redis)."""
import pytest

from portal.crm import activities as crm
from portal.crm.models import Activity
from portal.extensions import db
from portal.sync.calendar.engine import google_event_id


def answer(sim, owner, event_id, email, **changes):
    """The attendee ``email`` answers in Google (as the calendar's owner sees it)."""
    event = sim.get_event(owner, owner, event_id)
    attendees = [dict(a, **changes) if a["email"] == email else a for a in event["attendees"]]
    sim.patch_event(owner, owner, event_id, {"attendees": attendees})


def attendee(sim, owner, event_id, email):
    event = sim.get_event(owner, owner, event_id)
    return next(a for a in event["attendees"] if a["email"] == email)


@pytest.mark.parametrize("direction_between", ["both", "export"])
def test_accepted_invitation_stays_accepted_after_a_crm_edit(
        connect_user, make_activity, make_user, sim, sync, direction_between):
    ann, mapping = connect_user()
    bob = make_user(email="bob@example.com", name="Bob")
    carol = make_user(email="carol@example.com", name="Carol")
    meeting = make_activity(ann, subject="Plan", participants=[bob, carol])
    sync(mapping)
    event_id = google_event_id(meeting.uid)
    assert attendee(sim, ann.email, event_id, "bob@example.com")["responseStatus"] == \
        "needsAction"

    answer(sim, ann.email, event_id, "bob@example.com", responseStatus="accepted",
           displayName="Bob (mobile)", optional=True)
    answer(sim, ann.email, event_id, "carol@example.com", responseStatus="declined")
    # "both": the answers are imported first; "export": the CRM writes over a copy it has
    # not seen yet (Google answers 412 and the fresh copy's answers are kept)
    sync(mapping, direction_between)

    crm.save_activity(db.session.get(Activity, meeting.id), actor=ann, subject="Plan v2",
                      location="Room 4")
    db.session.commit()
    run = sync(mapping, direction_between)
    assert run.errors == 0
    event = sim.get_event(ann.email, ann.email, event_id)
    assert (event["summary"], event["location"]) == ("Plan v2", "Room 4")
    bob_now = attendee(sim, ann.email, event_id, "bob@example.com")
    assert bob_now["responseStatus"] == "accepted"
    assert bob_now["displayName"] == "Bob (mobile)"
    assert bob_now.get("optional") is True
    assert attendee(sim, ann.email, event_id, "carol@example.com")["responseStatus"] == \
        "declined"


def test_external_guest_answer_is_kept_and_a_removed_participant_leaves(
        connect_user, make_activity, make_user, sim, sync):
    ann, mapping = connect_user()
    bob = make_user(email="bob@example.com", name="Bob")
    meeting = make_activity(ann, subject="Demo", participants=[bob])
    sync(mapping)
    event_id = google_event_id(meeting.uid)
    event = sim.get_event(ann.email, ann.email, event_id)
    sim.patch_event(ann.email, ann.email, event_id, {"attendees": event["attendees"] + [
        {"email": "guest@outside.org", "displayName": "Guest", "responseStatus": "tentative"}]})
    sync(mapping)
    crm.save_activity(db.session.get(Activity, meeting.id), actor=ann, participants=[])
    db.session.commit()
    sync(mapping)
    attendees = sim.get_event(ann.email, ann.email, event_id)["attendees"]
    assert [(a["email"], a["responseStatus"]) for a in attendees] == [
        ("guest@outside.org", "tentative")]
