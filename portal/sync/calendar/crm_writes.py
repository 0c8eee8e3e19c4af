"""What an import writes in the CRM: an event's fields on an activity (only the groups the
plan names), its people (participants, invitees, attendees from outside, the organizer from
outside), everyone's answers, and the meeting's identity. Services flush; the run commits.
"""
import uuid

from sqlalchemy import delete, insert, select, update

from portal.core.types import utcnow
from portal.crm import activities as crm_activities
from portal.crm.models import Activity, activity_invitees, activity_responses
from portal.crm.reminders import Reminders
from portal.extensions import db
from portal.sync.calendar import engine as e
from portal.sync.calendar.export_queue import HANDLED
from portal.sync.calendar.directory import key_id
from portal.sync.calendar.models import ExternalAttendee

#: the plain columns each field group writes
_COLUMNS = {
    "subject": ("subject",), "description": ("description",), "location": ("location",),
    "timing": ("all_day", "start_at", "end_at", "start_date", "end_date", "time_zone"),
    "recurrence": ("recurrence",), "visibility": ("visibility",), "reminders": ("reminders",),
    "color": ("color",),
    "conference": ("conference", "conference_url", "conference_name"),
}


def values_for(fields, groups, activity=None):
    """save_activity() values for ``groups`` of an event's ``fields``."""
    values = {}
    for group in groups:
        for column in _COLUMNS.get(group, ()):
            values[column] = fields[column]
    if "status" in groups:
        # Google knows cancelled or not; the CRM's Held stays Held (held activities are not
        # updated at all) and a Planned one only becomes Not Held by a cancellation.
        current = activity.status if activity is not None else None
        if fields["status"] == e.STATUS_NOT_HELD or current in (None, e.STATUS_NOT_HELD):
            values["status"] = fields["status"]
    if "subject" in values:
        values["subject"] = values["subject"] or e.NO_TITLE
    return values


def people_for(fields, directory, organizer_id, activity=None):
    """(participants, invitees, unknown attendees) for the event's attendees."""
    participants, invitees, unknown = [], [], []
    for attendee in fields["attendees"]:
        user_id = key_id(attendee.identity, "user")
        contact_id = key_id(attendee.identity, "contact")
        if user_id is not None and user_id in directory.users:
            if user_id != organizer_id:
                participants.append(directory.users[user_id])
        elif contact_id is not None and contact_id in directory.contacts:
            invitees.append(directory.contacts[contact_id])
        else:
            unknown.append(attendee)
    if activity is not None:
        # Contacts without an email never reached Google, so Google cannot drop them.
        invitees += [c for c in activity.invitees if not c.primary_email]
    return _unique(participants), _unique(invitees), unknown


def _unique(rows):
    seen, out = set(), []
    for row in rows:
        if row.id not in seen:
            seen.add(row.id)
            out.append(row)
    return out


def set_externals(activity_id, unknown, organizer=None):
    """Replace the attendees kept from Google that match nobody (and the organizer from
    outside the CRM). One bulk DELETE and one INSERT; the session is not scanned."""
    db.session.execute(delete(ExternalAttendee).where(
        ExternalAttendee.activity_id == activity_id).execution_options(
        synchronize_session=False))
    rows = _external_rows(activity_id, unknown, organizer)
    if rows:
        db.session.execute(insert(ExternalAttendee), rows)


def set_answer(activity_id, user_id, status, when=None):
    """Record a CRM user's own answer (an upsert of one row)."""
    if status not in e.ANSWERS:
        return
    table = activity_responses
    found = db.session.execute(select(table.c.response_status).where(
        table.c.activity_id == activity_id, table.c.user_id == user_id)).first()
    if found is None:
        db.session.execute(insert(table).values(activity_id=activity_id, user_id=user_id,
                                                response_status=status,
                                                answered_at=when or utcnow()))
    elif found[0] != status:
        db.session.execute(update(table).where(
            table.c.activity_id == activity_id, table.c.user_id == user_id).values(
            response_status=status, answered_at=when or utcnow()))


def apply_answers(activity, answers, skip_users=()):
    """Everyone's answers as Google reports them on the copy the meeting's fields come
    from; users who answer through their own copy (``skip_users``) keep theirs."""
    if not answers:
        return
    participant_ids = {p.id for p in activity.participants}
    invitee_ids = {c.id for c in activity.invitees}
    for identity, status in answers.items():
        user_id = key_id(identity, "user")
        contact_id = key_id(identity, "contact")
        if user_id is not None:
            if user_id in participant_ids and user_id not in skip_users:
                set_answer(activity.id, user_id, status)
        elif contact_id is not None:
            if contact_id in invitee_ids:
                # (an answer, not an edit: no version bump, nothing for the export)
                db.session.execute(update(activity_invitees).where(
                    activity_invitees.c.activity_id == activity.id,
                    activity_invitees.c.contact_id == contact_id,
                    activity_invitees.c.response_status != status).values(
                    response_status=status).execution_options(export_queue=HANDLED))
        else:
            db.session.execute(update(ExternalAttendee).where(
                ExternalAttendee.activity_id == activity.id,
                ExternalAttendee.email == identity[len("email:"):],
                ExternalAttendee.response_status != status).values(
                response_status=status).execution_options(synchronize_session=False))


def set_identity(activity_id, event):
    """Remember the meeting's identity at Google on the activity, without a version bump
    (which would look like a CRM edit to every link)."""
    resource = event if isinstance(event, dict) else event.resource
    ical_uid = resource.get("iCalUID") or None
    event_id = resource.get("id") or None
    table = Activity.__table__
    db.session.execute(update(table).where(table.c.id == activity_id).values(
        ical_uid=ical_uid, google_event_id=event_id).execution_options(export_queue=HANDLED))


def write_fields(activity, fields, groups, directory, organizer_id, user):
    """Write ``groups`` of an event's ``fields`` on ``activity`` (saved with source
    google, so the change does not echo back as a CRM edit)."""
    values = values_for(fields, groups, activity)
    unknown, organizer = None, None
    if "attendees" in groups:
        participants, invitees, unknown = people_for(fields, directory, organizer_id, activity)
        values.update(participants=participants, invitees=invitees)
        organizer = fields.get("external_organizer")
    if values:
        crm_activities.save_activity(activity, actor=None, source=crm_activities.SOURCE_GOOGLE,
                                     **values)
    if unknown is not None:
        set_externals(activity.id, unknown, organizer)
    if e.ANSWER in groups and fields.get("answer"):
        set_answer(activity.id, user.id, fields["answer"])
    return activity


def create_activity(fields, directory, *, organizer, user, type_id, event):
    """A new activity from a Google event (origin google), with its people."""
    values = values_for(fields, [g for g in e.FIELD_GROUPS if g != "attendees"])
    participants, invitees, unknown = people_for(fields, directory, organizer.id)
    if organizer.id != user.id and all(p.id != user.id for p in participants):
        participants.append(user)  # their calendar has it: they are on it
    activity = Activity(origin=e.ORIGIN_GOOGLE, ical_uid=event.ical_uid or None,
                        google_event_id=event.id)
    crm_activities.save_activity(
        activity, actor=user, source=crm_activities.SOURCE_GOOGLE, activity_type_id=type_id,
        organizer=organizer, status=values.pop("status", e.STATUS_PLANNED),
        participants=participants, invitees=invitees, **values)
    activity.created_by = user
    db.session.flush()
    set_externals(activity.id, unknown, fields.get("external_organizer"))
    if fields.get("answer") and organizer.id != user.id:
        set_answer(activity.id, user.id, fields["answer"])
    return activity


def create_activities(actions, directory, *, user, type_id):
    """Create the activities of many CREATE_ACTIVITY actions at once: one multi-row INSERT
    per table (activities, participants, invitees, attendees from outside, answers) instead
    of a flush per activity. The rules ``save_activity`` checks hold already: Google
    guarantees a title (or the engine put the placeholder), the engine skipped events that
    end before they start. Returns ``[(action, activity id)]`` in order."""
    if not actions:
        return []
    table = Activity.__table__
    now = utcnow()
    rows, people = [], []
    for action in actions:
        fields = action.fields
        organizer_id = action.organizer_id or user.id
        participants, invitees, unknown = people_for(fields, directory, organizer_id)
        participant_ids = [p.id for p in participants]
        if organizer_id != user.id and user.id not in participant_ids:
            participant_ids.append(user.id)  # their calendar has it: they are on it
        values = values_for(fields, [g for g in e.FIELD_GROUPS if g != "attendees"])
        reminders = values.pop("reminders", None)
        rows.append(dict(
            uid=uuid.uuid4(), subject=values.get("subject") or e.NO_TITLE,
            activity_type_id=type_id, status=values.get("status", e.STATUS_PLANNED),
            priority="Medium", all_day=values["all_day"], start_at=values["start_at"],
            end_at=values["end_at"], start_date=values["start_date"],
            end_date=values["end_date"], time_zone=values["time_zone"] or "UTC",
            location=values.get("location", ""), description=values.get("description", ""),
            recurrence=values.get("recurrence", ""),
            reminders=(reminders or Reminders()).dumps(),
            visibility=values.get("visibility", "default"), show_in_calendar=True,
            color=values.get("color", ""),
            conference=bool(values.get("conference")),
            conference_url=values.get("conference_url", ""),
            conference_name=values.get("conference_name", ""),
            organizer_id=organizer_id, created_by_id=user.id, created_at=now,
            modified_at=now, version=1, origin=e.ORIGIN_GOOGLE,
            ical_uid=action.event.ical_uid or None, google_event_id=action.event.id))
        people.append((participant_ids, invitees, unknown, fields, organizer_id))
    # One executemany, then the new ids by their UIDs (INSERT .. RETURNING in parameter
    # order falls back to a statement per row on SQLite).
    # Activities made in Google are never exported as new, and the links the import makes
    # for them say they are in sync: nothing for any export queue.
    db.session.execute(insert(table).execution_options(export_queue=HANDLED), rows)
    by_uid = {}
    for chunk in _chunked([r["uid"] for r in rows], 500):
        by_uid.update((uid, row_id) for row_id, uid in db.session.execute(
            select(table.c.id, table.c.uid).where(table.c.uid.in_(chunk))))
    ids = [by_uid[r["uid"]] for r in rows]
    participant_rows, invitee_rows, external_rows, answer_rows = [], [], [], []
    for activity_id, (participant_ids, invitees, unknown, fields, organizer_id) in zip(
            ids, people):
        answers = {key_id(k, "user"): v for k, v in _answers_of(fields).items()
                   if key_id(k, "user") is not None}
        answers_by_contact = {key_id(k, "contact"): v for k, v in _answers_of(fields).items()
                              if key_id(k, "contact") is not None}
        for user_id in participant_ids:
            participant_rows.append(dict(activity_id=activity_id, user_id=user_id))
            status = fields.get("answer") if user_id == user.id else answers.get(user_id)
            if status in e.ANSWERS and user_id != organizer_id:
                answer_rows.append(dict(activity_id=activity_id, user_id=user_id,
                                        response_status=status, answered_at=now))
        seen = set()
        for contact in invitees:
            if contact.id not in seen:
                seen.add(contact.id)
                invitee_rows.append(dict(activity_id=activity_id, contact_id=contact.id,
                                         response_status=answers_by_contact.get(
                                             contact.id, e.NEEDS_ACTION)))
        external_rows.extend(_external_rows(activity_id, unknown,
                                            fields.get("external_organizer")))
    from portal.crm.models import activity_participants

    for target, values in ((activity_participants, participant_rows),
                           (activity_invitees, invitee_rows),
                           (ExternalAttendee.__table__, external_rows),
                           (activity_responses, answer_rows)):
        for chunk in _chunked(values, 1000):
            db.session.execute(insert(target).execution_options(export_queue=HANDLED), chunk)
    return list(zip(actions, ids))


def _answers_of(fields):
    return e.answers_of(fields)


def _external_rows(activity_id, unknown, organizer=None):
    rows, seen = [], set()
    if organizer is not None and organizer.email:
        seen.add(organizer.email)
        rows.append(dict(activity_id=activity_id, email=organizer.email,
                         display_name=organizer.display_name or "",
                         response_status=organizer.response_status or e.NEEDS_ACTION,
                         is_organizer=True))
    for attendee in unknown:
        if attendee.email not in seen:
            seen.add(attendee.email)
            rows.append(dict(activity_id=activity_id, email=attendee.email,
                             display_name=attendee.display_name or "",
                             response_status=attendee.response_status or e.NEEDS_ACTION,
                             is_organizer=False))
    return rows


def _chunked(items, size):
    for start in range(0, len(items), size):
        yield items[start:start + size]
