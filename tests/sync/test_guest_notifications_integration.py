"""A person may ask Google to email the guests about one change; bulk syncs stay silent."""
from datetime import datetime, timedelta, timezone

from portal.crm.models import Activity, Contact, ContactEmail
from portal.extensions import db
from portal.sync.calendar.models import GuestNotification
from portal.sync.calendar.runner import run_mapping

START = datetime.now(timezone.utc).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)


def _form(subject, contact, notify, activity=None):
    end = START + timedelta(hours=1)
    data = {"subject": subject, "activity_type_id": "", "status": "Planned",
            "priority": "Medium", "start_date": START.strftime("%Y-%m-%d"),
            "start_time": START.strftime("%H:%M"), "end_date": end.strftime("%Y-%m-%d"),
            "end_time": end.strftime("%H:%M"), "invitees": str(contact.id),
            "show_in_calendar": "y", "visibility": "default"}
    if activity is not None:
        db.session.refresh(activity)
        data["version"] = str(activity.version)
    if notify:
        data["notify_guests"] = "y"
    return data


def _guest(ann):
    contact = Contact(owner=ann, first_name="Gina", last_name="Guest")
    contact.emails.append(ContactEmail(email="gina@client.example"))
    db.session.add(contact)
    db.session.commit()
    return contact


def test_notifying_save_mails_the_guests_once_and_silent_ones_do_not(
        connect_user, activity_types, client, login, sync, sim):
    ann, mapping = connect_user("ann@example.com", time_zone="UTC")
    contact = _guest(ann)
    login(client, ann)
    data = _form("Contract signing", contact, notify=True)
    data["activity_type_id"] = str(activity_types["Meeting"].id)
    response = client.post_form("/activities/new", data)
    assert response.status_code == 302, response.get_data(as_text=True)[-2000:]
    activity = db.session.scalars(db.select(Activity)).one()

    assert sync(mapping, "export").status == "succeeded"
    assert [(m["kind"], m["to"]) for m in sim.outbox()] == [("invitation", "gina@client.example")]
    assert db.session.get(GuestNotification, activity.id) is None

    silent = _form("Contract signing (room 2)", contact, notify=False, activity=activity)
    silent["activity_type_id"] = str(activity_types["Meeting"].id)
    client.post_form(f"/activities/{activity.id}/edit", silent)
    sync(mapping, "export")
    assert len(sim.outbox()) == 1

    loud = _form("Contract signing (moved)", contact, notify=True, activity=activity)
    loud["activity_type_id"] = str(activity_types["Meeting"].id)
    client.post_form(f"/activities/{activity.id}/edit", loud)
    sync(mapping, "export")
    assert [m["kind"] for m in sim.outbox()] == ["invitation", "update"]
    assert sim.outbox()[-1]["summary"] == "Contract signing (moved)"


def test_a_request_survives_a_failed_export_and_is_honoured_by_the_retry(
        connect_user, activity_types, client, login, sync, sim):
    ann, mapping = connect_user("ann@example.com", time_zone="UTC")
    contact = _guest(ann)
    login(client, ann)
    data = _form("Board call", contact, notify=True)
    data["activity_type_id"] = str(activity_types["Meeting"].id)
    client.post_form("/activities/new", data)
    sim.fault(method="POST", path="/batch/calendar/v3", status=503, count=20)
    assert sync(mapping, "export").status != "succeeded"
    assert sim.outbox() == []
    assert db.session.scalar(db.select(db.func.count()).select_from(GuestNotification)) == 1
    sim.clear_faults()
    # The job's own retry (RQ reruns the same job later) runs the mapping again:
    assert run_mapping(mapping.id, "export").status == "succeeded"
    assert [m["to"] for m in sim.outbox()] == ["gina@client.example"]
