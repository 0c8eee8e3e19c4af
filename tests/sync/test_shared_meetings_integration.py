"""Several CRM users on one meeting (issue 9, Creatio's rules): the organizer's edits win over
what a guest's copy says, a guest's copy carries only that guest's answer, a meeting made in
Google belongs to its organizer whoever syncs first, others' meetings are read-only with an
answer, and people are recognised by any of their addresses. Through googlesim (which copies
invitations into the guests' calendars and refuses guests' edits, as Google does), the real
client, RQ and the database."""
from datetime import datetime, timedelta, timezone

from portal.accounts import emails as account_emails
from portal.crm import activities as crm
from portal.crm.models import Activity
from portal.crm.reminders import Reminders
from portal.extensions import db
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


def entry(event, email):
    return next(a for a in event.get("attendees", []) if a["email"] == email)


def test_the_organizers_crm_edit_survives_a_guest_answering_first(connect_user, make_activity,
                                                                  sim, sync):
    ann, ann_mapping = connect_user("ann@example.com")
    bob, bob_mapping = connect_user("bob@example.com")
    meeting = make_activity(ann, subject="Pricing", start=START, participants=[bob])
    assert sync(ann_mapping).created == 1
    event_id = google_event_id(meeting.uid)
    assert sync(bob_mapping).status == "succeeded"  # links Bob's copy (same meeting)

    crm.save_activity(db.session.get(Activity, meeting.id), actor=ann, subject="Pricing v2",
                      start_at=START + timedelta(hours=2), end_at=START + timedelta(hours=3))
    db.session.commit()
    # Bob accepts in Google and changes his own reminders; his sync runs first.
    copy = sim.get_event(bob.email, bob.email, event_id)
    attendees = [dict(a, responseStatus="accepted") if a["email"] == bob.email else a
                 for a in copy["attendees"]]
    sim.patch_event(bob.email, bob.email, event_id, {
        "attendees": attendees,
        "reminders": {"useDefault": False, "overrides": [{"method": "email", "minutes": 5}]}})
    assert sync(bob_mapping).status == "succeeded"
    assert sync(ann_mapping).status == "succeeded"

    activity = db.session.get(Activity, meeting.id)
    assert activity.subject == "Pricing v2" and activity.start_at == START + timedelta(hours=2)
    assert activity.reminders == Reminders()  # Bob's reminders are his own
    assert crm.answers(activity)[0] == {bob.id: "accepted"}
    organizer_copy = sim.get_event(ann.email, ann.email, event_id)
    assert organizer_copy["summary"] == "Pricing v2"
    assert entry(organizer_copy, bob.email)["responseStatus"] == "accepted"
    assert sim.get_event(bob.email, bob.email, event_id)["reminders"]["overrides"] == [
        {"method": "email", "minutes": 5}]


def test_a_meeting_made_in_google_belongs_to_its_organizer_whoever_syncs_first(
        connect_user, sim, sync):
    ann, ann_mapping = connect_user("ann@example.com")
    bob, bob_mapping = connect_user("bob@example.com")
    sim.insert_event(ann.email, ann.email, gevent(
        "Roadmap", attendees=[{"email": bob.email, "responseStatus": "needsAction"}]))
    assert sync(bob_mapping).created == 1  # Bob's copy first
    activity = only_activity()
    assert activity.organizer_id == ann.id
    assert [p.id for p in activity.participants] == [bob.id]
    assert sync(ann_mapping).created == 0  # Ann's own copy joins the same activity
    roles = dict(db.session.execute(db.select(EventLink.user_id, EventLink.role)).all())
    assert roles == {ann.id: "organizer", bob.id: "guest"}
    # her own meeting: editable in the CRM, and the edit reaches Google and Bob
    assert crm.can_edit(ann, only_activity()) and not crm.can_edit(bob, only_activity())
    crm.save_activity(only_activity(), actor=ann, location="Room 9")
    db.session.commit()
    assert sync(ann_mapping).status == "succeeded"
    [own] = [e for e in sim.events(ann.email, ann.email) if e["summary"] == "Roadmap"]
    assert own["location"] == "Room 9"
    assert sim.get_event(bob.email, bob.email, own["id"])["location"] == "Room 9"


def test_someone_outside_organizes_the_syncing_user_answers_from_the_crm(
        client, login, connect_user, sim, sync):
    ann, mapping = connect_user("ann@example.com")
    boss = "boss@outside.org"
    event = sim.insert_event(ann.email, ann.email, gevent(
        "Board", organizer={"email": boss, "displayName": "The Boss"}, colorId="4",
        attendees=[{"email": boss, "organizer": True, "responseStatus": "accepted"},
                   {"email": ann.email, "responseStatus": "needsAction"}]))
    assert sync(mapping).created == 1
    activity = only_activity()
    assert activity.organizer_id == ann.id  # Creatio: the syncing user holds it in the CRM
    assert not crm.can_edit(ann, activity)
    login(client, ann)
    page = client.get(f"/activities/{activity.id}").get_data(as_text=True)
    assert boss in page and 'data-testid="rsvp"' in page
    assert f"/activities/{activity.id}/edit" not in page
    answered = client.post_form(f"/activities/{activity.id}/answer", {"answer": "tentative"},
                                page=f"/activities/{activity.id}")
    assert answered.status_code == 302
    assert sync(mapping).status == "succeeded"
    after = sim.get_event(ann.email, ann.email, event["id"])
    assert entry(after, ann.email)["responseStatus"] == "tentative"
    # nothing else was written: the organizer's entry, colour and title are Google's
    assert entry(after, boss) == {"email": boss, "organizer": True,
                                  "responseStatus": "accepted"}
    assert (after["summary"], after["colorId"]) == ("Board", "4")


def test_a_guest_is_recognised_by_another_of_their_addresses(connect_user, make_user, sim,
                                                             sync):
    ann, mapping = connect_user("ann@example.com")
    carl = make_user(email="carl@example.com", name="Carl")
    account_emails.add_email(carl, "carl.private@gmail.example")
    db.session.commit()
    sim.insert_event(ann.email, ann.email, gevent(
        "Lunch", attendees=[{"email": "carl.private@gmail.example",
                             "responseStatus": "accepted"}]))
    sync(mapping)
    activity = only_activity()
    assert [p.id for p in activity.participants] == [carl.id]
    assert crm.answers(activity)[0] == {carl.id: "accepted"}
    # a CRM edit of another field leaves Carl's Google entry alone (no second Carl)
    crm.save_activity(activity, actor=ann, description="Booked")
    db.session.commit()
    sync(mapping)
    [event] = [e for e in sim.events(ann.email, ann.email) if e["summary"] == "Lunch"]
    assert [a["email"] for a in event["attendees"]] == ["carl.private@gmail.example"]


def test_communication_options_page_adds_and_removes_addresses(client, login, make_user):
    ann = make_user(email="ann@example.com")
    make_user(email="bob@example.com")
    login(client, ann)
    page = "/profile/emails"
    assert client.post_form(page, {"email": "Ann.Home@Example.org"}).status_code == 302
    taken = client.post_form(page, {"email": "bob@example.com"}).get_data(as_text=True)
    assert "already belongs to a user" in taken
    html = client.get(page).get_data(as_text=True)
    assert "ann.home@example.org" in html
    [row] = account_emails.other_emails(ann)
    assert client.post_form(f"/profile/emails/{row.id}/delete", {}, page=page).status_code == 302
    assert account_emails.other_emails(ann) == []
