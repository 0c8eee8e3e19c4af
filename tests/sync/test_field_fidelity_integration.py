"""What Google has and the CRM does not show survives (issue 9, field fidelity): a CRM edit
patches only what changed; reminders map faithfully; captured real-world event payloads
round-trip; deletes against edits follow the conflict rule. Through googlesim, the real
client, RQ and the database."""
from datetime import datetime, timedelta, timezone

import pytest

from portal.crm import activities as crm
from portal.crm.models import Activity
from portal.crm.reminders import Reminders
from portal.extensions import db
from portal.sync.calendar import engine as e
from portal.sync.calendar.engine import google_event_id
from portal.sync.calendar.models import EventLink

UTC = timezone.utc
START = datetime(2031, 3, 11, 9, tzinfo=UTC)


def gevent(summary, start=START, **extra):
    body = {"summary": summary,
            "start": {"dateTime": start.isoformat(), "timeZone": "Europe/Berlin"},
            "end": {"dateTime": (start + timedelta(hours=1)).isoformat(),
                    "timeZone": "Europe/Berlin"}}
    body.update(extra)
    return body


def only_activity():
    return db.session.scalars(db.select(Activity)).one()


#: a captured meeting with everything the CRM does not show
RICH = dict(
    status="tentative", visibility="confidential", transparency="transparent", colorId="7",
    location="Acme GmbH\nHauptstr. 1\n10115 Berlin",
    reminders={"useDefault": False, "overrides": [
        {"method": "email", "minutes": 1440}, {"method": "popup", "minutes": 30},
        {"method": "popup", "minutes": 10}, {"method": "email", "minutes": 60}]},
    attachments=[{"fileUrl": "https://drive.google.com/file/d/abc", "title": "Deck.pdf"}],
    source={"url": "https://tickets.example.org/42", "title": "Ticket 42"},
    guestsCanInviteOthers=False,
    extendedProperties={"shared": {"room": "R42"}})


def test_a_crm_edit_patches_only_what_changed_and_keeps_everything_else(connect_user, sim,
                                                                        sync):
    ann, mapping = connect_user()
    event = sim.insert_event(ann.email, ann.email, gevent("Quarterly", **RICH))
    sync(mapping)
    activity = only_activity()
    assert activity.location == RICH["location"]
    assert activity.reminders == Reminders.from_google(RICH["reminders"])
    crm.save_activity(activity, actor=ann, subject="Quarterly (moved agenda)")
    db.session.commit()
    assert sync(mapping).status == "succeeded"
    after = sim.get_event(ann.email, ann.email, event["id"])
    assert after["summary"] == "Quarterly (moved agenda)"
    for key, value in RICH.items():
        if key == "reminders":
            assert sorted(after[key]["overrides"], key=str) == sorted(value["overrides"],
                                                                     key=str)
        else:
            assert after[key] == value, key


def test_default_reminders_survive_a_subject_change_and_can_be_replaced(connect_user, sim,
                                                                        sync):
    ann, mapping = connect_user()
    event = sim.insert_event(ann.email, ann.email, gevent("Defaults",
                                                          reminders={"useDefault": True}))
    sync(mapping)
    activity = only_activity()
    assert activity.reminders.use_default
    crm.save_activity(activity, actor=ann, subject="Defaults kept")
    db.session.commit()
    sync(mapping)
    assert sim.get_event(ann.email, ann.email, event["id"])["reminders"] == {"useDefault": True}
    crm.save_activity(db.session.get(Activity, activity.id), actor=ann,
                      reminders=Reminders.of(False, [("email", 120)]))
    db.session.commit()
    sync(mapping)
    assert sim.get_event(ann.email, ann.email, event["id"])["reminders"] == {
        "useDefault": False, "overrides": [{"method": "email", "minutes": 120}]}


def test_an_empty_title_never_comes_back_as_a_placeholder(connect_user, sim, sync):
    ann, mapping = connect_user()
    event = sim.insert_event(ann.email, ann.email, gevent(""))
    sync(mapping)
    activity = only_activity()
    assert activity.subject == e.NO_TITLE
    crm.save_activity(activity, actor=ann, description="Notes")
    db.session.commit()
    sync(mapping)
    after = sim.get_event(ann.email, ann.email, event["id"])
    assert after.get("summary", "") == "" and after["description"] == "Notes"


def test_the_organizers_own_entry_stays_when_the_crm_adds_a_guest(client, login, connect_user,
                                                                  make_user, sim, sync):
    """Captured: Google lists the organizer among the attendees (organizer: true, accepted)."""
    ann, mapping = connect_user(import_enabled=False)
    bob = make_user(email="bob@example.com", name="Bob")
    event = sim.insert_event(ann.email, ann.email, gevent("Kick-off", attendees=[
        {"email": ann.email, "organizer": True, "responseStatus": "accepted"},
        {"email": "guest@outside.org", "responseStatus": "tentative"}]))
    login(client, ann)
    client.post_form("/sync/add-into-crm", {"mapping_id": mapping.id, "event_id": event["id"]},
                     page="/")
    activity = only_activity()
    crm.save_activity(activity, actor=ann, participants=[bob])
    db.session.commit()
    assert sync(mapping, "export").status == "succeeded"
    attendees = sim.get_event(ann.email, ann.email, event["id"])["attendees"]
    by_email = {a["email"]: a for a in attendees}
    assert by_email[ann.email]["organizer"] is True
    assert by_email[ann.email]["responseStatus"] == "accepted"
    assert by_email["guest@outside.org"]["responseStatus"] == "tentative"
    assert by_email[bob.email]["responseStatus"] == "needsAction"


def test_a_time_without_offset_is_read_in_its_own_zone():
    fields = e.activity_fields({"start": {"dateTime": "2031-03-10T10:00:00",
                                          "timeZone": "America/New_York"},
                                "end": {"dateTime": "2031-03-10T11:00:00"}}, "Europe/Berlin")
    assert fields["start_at"] == datetime(2031, 3, 10, 14, tzinfo=UTC)  # EDT, not UTC
    assert fields["end_at"] == datetime(2031, 3, 10, 15, tzinfo=UTC)
    fields = e.activity_fields({"start": {"dateTime": "2031-01-10T10:00:00"},
                                "end": {"dateTime": "2031-01-10T11:00:00"}}, "Europe/Berlin")
    assert fields["start_at"] == datetime(2031, 1, 10, 9, tzinfo=UTC)  # the calendar's zone


@pytest.mark.parametrize("rule,kept", [("crm_wins", False), ("google_wins", True)])
def test_a_crm_delete_against_a_google_edit_follows_the_rule(connect_user, make_activity, sim,
                                                             sync, rule, kept):
    ann, mapping = connect_user(conflict_rule=rule)
    meeting = make_activity(ann, subject="Contested")
    sync(mapping)
    event_id = google_event_id(meeting.uid)
    crm.delete_activity(meeting, actor=ann)
    db.session.commit()
    sim.patch_event(ann.email, ann.email, event_id, {"summary": "Edited in Google"})
    run = sync(mapping)
    assert run.conflicts == 1
    [entry] = [x for x in run.entries if x.action == "conflict"]
    assert rule.split("_")[0] in entry.detail
    event = sim.get_event(ann.email, ann.email, event_id)
    if kept:
        assert event["status"] != "cancelled"
        assert only_activity().subject == "Edited in Google"
        assert db.session.scalars(db.select(EventLink)).one().activity_id is not None
    else:
        assert event["status"] == "cancelled"
        assert db.session.scalars(db.select(Activity)).all() == []


def test_a_google_delete_never_deletes_a_held_activity(connect_user, make_activity, sim, sync):
    ann, mapping = connect_user(delete_in_crm_when_deleted_in_google=True)
    meeting = make_activity(ann, subject="Done")
    sync(mapping)
    crm.save_activity(db.session.get(Activity, meeting.id), actor=ann, status="Held")
    db.session.commit()
    sim.delete_event(ann.email, ann.email, google_event_id(meeting.uid))
    sync(mapping)
    assert db.session.get(Activity, meeting.id).status == "Held"
