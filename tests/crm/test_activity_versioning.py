"""The activity version changes on every write the sync must notice, attendees included."""
from portal.extensions import db


def test_version_changes_when_only_participants_change(make_user, make_activity):
    organizer, colleague = make_user(), make_user()
    activity = make_activity(organizer)
    before = activity.version
    activity.participants.append(colleague)
    db.session.commit()
    assert activity.version == before + 1
    activity.participants.remove(colleague)
    db.session.commit()
    assert activity.version == before + 2


def test_version_changes_when_only_invitees_change(make_user, make_activity):
    from portal.crm.models import Contact

    organizer = make_user()
    contact = Contact(owner=organizer, last_name="Invitee")
    db.session.add(contact)
    activity = make_activity(organizer)
    before = activity.version
    activity.invitees.append(contact)
    db.session.commit()
    assert activity.version == before + 1


def test_reading_does_not_change_the_version(make_user, make_activity):
    activity = make_activity(make_user())
    before = activity.version
    _ = list(activity.participants), list(activity.invitees)
    db.session.commit()
    assert activity.version == before
