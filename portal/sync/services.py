"""Sync services for other features: is an activity from Google, may the CRM change it
(someone else's meeting is answer-only), its link to open it in Google, the last successful
sync, answers to invitations, and cleanup hooks."""
from dataclasses import dataclass

from flask import g
from sqlalchemy import delete, select, update

from portal.core.types import utcnow
from portal.crm.models import ORIGIN_GOOGLE
from portal.extensions import db
from portal.sync.calendar.directory import event_state
from portal.sync.calendar.models import (
    LINK_ACTIVE, ROLE_GUEST, ROLE_ORGANIZER, EventLink, GuestNotification,
)
from portal.sync.core.runs import SyncRunEntry

#: shown wherever the CRM refuses to change someone else's meeting
READ_ONLY_REASON = ("{organizer} organizes this meeting in Google Calendar, and only the "
                    "organizer can change it there, so it is read-only here. You can answer "
                    "the invitation; your answer goes to Google with the next sync.")


@dataclass(frozen=True)
class LinkMark:
    """What pages need of a link: plain values, not an ORM row (a month holds hundreds)."""

    id: int
    activity_id: int
    owner: str
    role: str
    state: str
    html_link: str
    event_state: str | None


def links_by_activity(activity_ids):
    """{activity_id: [LinkMark, ...]} for every link of these activities (one query)."""
    ids = sorted({i for i in activity_ids if i is not None})
    out = {}
    if not ids:
        return out
    for row in db.session.execute(select(
            EventLink.id, EventLink.activity_id, EventLink.owner, EventLink.role,
            EventLink.state, EventLink.html_link, EventLink.event_state).where(
            EventLink.activity_id.in_(ids)).order_by(EventLink.id)):
        out.setdefault(row.activity_id, []).append(LinkMark(*row))
    return out


def _organizer_shown(link):
    state = event_state(link) or {}
    return state.get("organizer") or "its organizer"


def _guests_may_modify(link):
    return bool((event_state(link) or {}).get("guestsCanModify"))


def lock_reason_for(links):
    """Why the CRM may not change an activity with these links, or None: only copies of
    someone else's meeting are linked (the organizer's is not), and guests may not modify
    it. Google would refuse the change, so the CRM does not take it."""
    active = [l for l in links if l.state == LINK_ACTIVE]
    if any(l.role == ROLE_ORGANIZER for l in active):
        return None
    guests = [l for l in active if l.role == ROLE_GUEST]
    if not guests or any(_guests_may_modify(l) for l in guests):
        return None
    return READ_ONLY_REASON.format(organizer=_organizer_shown(guests[0]))


def mark_activities(activities):
    """Set the sync's display attributes on ``activities`` with one query: ``from_google``
    (made in Google), ``google_html_link`` (open it in Google), ``google_synced`` (linked
    to a Google event) and ``locked_reason`` (someone else's meeting: answer only)."""
    links = links_by_activity(a.id for a in activities)
    cache = g.setdefault("_sync_google_links", {})
    for activity in activities:
        own = links.get(activity.id, [])
        active = [l for l in own if l.state == LINK_ACTIVE]
        shown = next((l for l in active if l.html_link), None)
        cache[activity.id] = shown
        activity.from_google = (getattr(activity, "origin", None) == ORIGIN_GOOGLE
                                and bool(active))
        activity.google_html_link = shown.html_link if shown is not None else ""
        activity.google_synced = bool(active) and not activity.from_google
        #: its event was deleted in Google and the activity kept (no longer synced)
        activity.google_removed = bool(own) and not active
        activity.locked_reason = lock_reason_for(own)


def _on_activities_shown(activities, **_):
    mark_activities(activities)


def google_link(activity):
    """A link of ``activity`` to open it in Google (active ones first), or None (cached
    for the request)."""
    if activity is None or getattr(activity, "id", None) is None:
        return None
    activity = getattr(activity, "series", activity)
    cache = g.setdefault("_sync_google_links", {})
    if activity.id not in cache:
        own = links_by_activity([activity.id]).get(activity.id, [])
        cache[activity.id] = next((l for l in own if l.state == LINK_ACTIVE and l.html_link),
                                  None)
    return cache[activity.id]


def is_from_google(activity):
    """True when the activity was made in Google Calendar and came in with the sync."""
    activity = getattr(activity, "series", activity)
    if activity is not None and "from_google" in vars(activity):
        return bool(activity.from_google)
    return getattr(activity, "origin", None) == ORIGIN_GOOGLE and google_link(activity) is not None


def sync_problem(activity):
    """Why Google refused this activity at its last export, or None.

    A refused update is kept on the link (cleared by the next acknowledged write); a refused
    first insert has no link yet, so its latest "error" line of a run's log tells."""
    if activity is None or getattr(activity, "id", None) is None:
        return None
    links = db.session.execute(select(EventLink.last_error).where(
        EventLink.activity_id == activity.id)).scalars().all()
    if links:
        return next((error for error in links if error), None)
    return db.session.scalar(
        select(SyncRunEntry.detail).where(SyncRunEntry.activity_id == activity.id,
                                          SyncRunEntry.action == "error")
        .order_by(SyncRunEntry.id.desc()).limit(1))


def last_successful_sync_at(user):
    from portal.google import services as google_services

    if user is None or not getattr(user, "is_authenticated", False):
        return None
    settings = google_services.get_sync_settings(user)
    return settings.last_successful_sync_at if settings is not None else None


def forget_user_links(user):
    """Delete the EventLinks of ``user``'s activities (the "forget links" choice on
    disconnect). Tombstones stay: they are deletes made in the CRM that the next export
    still owes Google, or a reconnect would bring those activities back."""
    from portal.sync.calendar import export_queue

    db.session.execute(delete(EventLink).where(EventLink.user_id == user.id,
                                               EventLink.activity_id.is_not(None))
                       .execution_options(export_queue=export_queue.HANDLED))
    # Their activities are unlinked now: the user's exports read every candidate again.
    export_queue.rescan(db.session.connection(), user_id=user.id)


def tombstone_links(activity):
    """The activity is being deleted: keep its links as tombstones for the next export
    (the FK's ON DELETE SET NULL does the same where the database enforces it), with the
    time of the delete (a Google edit made later wins under "most recent")."""
    if activity.id is not None:
        from portal.sync.calendar.export_queue import HANDLED

        # (every export reads its tombstones: nothing to queue)
        db.session.execute(update(EventLink).where(EventLink.activity_id == activity.id)
                           .values(activity_id=None, crm_deleted_at=utcnow())
                           .execution_options(export_queue=HANDLED))


def moved_occurrences(activity):
    """Activities that are moved or edited occurrences of ``activity``'s series in Google
    (linked as instances of one of its events)."""
    from portal.crm.models import Activity

    series = db.session.execute(select(EventLink.mapping_id, EventLink.event_id).where(
        EventLink.activity_id == activity.id)).all()
    if not series:
        return []
    ids = set()
    for mapping_id, event_id in series:
        ids.update(db.session.scalars(select(EventLink.activity_id).where(
            EventLink.mapping_id == mapping_id, EventLink.recurring_event_id == event_id,
            EventLink.activity_id.is_not(None))))
    ids.discard(activity.id)
    return db.session.scalars(select(Activity).where(Activity.id.in_(ids))).all() if ids else []


def _on_activity_deleting(activity, source="crm", actor=None, **_):
    from portal.crm import activities as crm_activities

    # A deleted series takes its moved occurrences along, as Google does with its exceptions.
    for occurrence in moved_occurrences(activity):
        crm_activities.delete_activity(occurrence, actor=actor, source=source)
    tombstone_links(activity)


def request_guest_notification(activity, user=None):
    """Ask that the next export of ``activity`` emails its guests (Google's sendUpdates)."""
    if db.session.get(GuestNotification, activity.id) is None:
        db.session.add(GuestNotification(activity_id=activity.id,
                                         requested_by_id=user.id if user else None))
        db.session.flush()


def _on_activity_saved(activity, notify_guests=False, actor=None, source="crm", **_):
    if notify_guests and source == "crm":
        request_guest_notification(activity, actor)


def connect_signals():
    """Register the hooks other features offer (idempotent)."""
    from portal.crm.activities import activities_shown, activity_deleting, activity_saved
    from portal.google.services import register_account_changed_hook, register_forget_links_hook
    from portal.sync.contacts import services as contacts_services

    activity_deleting.connect(_on_activity_deleting, weak=False)
    activity_saved.connect(_on_activity_saved, weak=False)
    activities_shown.connect(_on_activities_shown, weak=False)
    register_forget_links_hook(forget_user_links)
    register_forget_links_hook(contacts_services.forget_user_links)
    register_account_changed_hook(contacts_services.forget_account)


# -- the activity page's sync line --------------------------------------------------------------
@dataclass
class SyncLine:
    """One sentence about an activity's life in Google. ``kind``: "synced" (then ``since``,
    ``last`` and ``pending``), "waiting" or "not_sent" (then ``text`` says why)."""

    kind: str
    text: str = ""
    since: object = None
    last: object = None
    pending: bool = False


def sync_line(activity):
    """What the activity's page says of its sync (None: its organizer does not use Google).
    The page shows a refusal or a delete in Google on their own; this covers the rest."""
    from portal.crm.models import STATUS_HELD, STATUS_NOT_HELD
    from portal.google import services as google_services
    from portal.google.models import STATUS_CONNECTED, STATUS_NEEDS_REAUTH

    if activity is None or getattr(activity, "id", None) is None:
        return None
    links = db.session.scalars(select(EventLink).where(
        EventLink.activity_id == activity.id, EventLink.state == LINK_ACTIVE)).all()
    if links:
        own = [l for l in links if l.user_id == activity.organizer_id] or links
        link = own[0]
        since = min((l.created_at or l.synced_at for l in own
                     if l.created_at or l.synced_at), default=None)
        last = max((l.synced_at for l in own if l.synced_at), default=None)
        # Changed in the CRM since Google acknowledged it (held ones are no longer sent).
        pending = (link.role == ROLE_ORGANIZER and link.synced_version is not None
                   and activity.version != link.synced_version
                   and activity.status != STATUS_HELD)
        return SyncLine("synced", since=since, last=last, pending=pending)
    organizer = activity.organizer
    conn = google_services.get_connection(organizer) if organizer is not None else None
    if conn is None or conn.status not in (STATUS_CONNECTED, STATUS_NEEDS_REAUTH):
        return None
    mapping = next((m for m in google_services.user_mappings(organizer)
                    if m.activity_type_id == activity.activity_type_id), None)
    type_name = activity.activity_type.name if activity.activity_type else "This type"
    if not activity.show_in_calendar:
        return SyncLine("not_sent", "Not sent to Google: it is hidden from the calendar.")
    if mapping is None or not mapping.calendar_id:
        return SyncLine("not_sent", f"Not sent to Google: {type_name} is not synchronized "
                                    "with a Google calendar.")
    if not mapping.export_enabled:
        return SyncLine("not_sent", f"Not sent to Google: Export is off for {type_name}.")
    if activity.status == STATUS_NOT_HELD:
        return SyncLine("not_sent", "Not sent to Google: it is not held (cancelled).")
    settings = google_services.get_sync_settings(organizer)
    starts = activity.start_date if activity.all_day else (
        activity.start_at.date() if activity.start_at else None)
    if settings is not None and settings.sync_from and starts and starts < settings.sync_from:
        return SyncLine("not_sent", "Not sent to Google: it is before Synchronize from "
                                    f"({settings.sync_from:%d %b %Y}).")
    if conn.status == STATUS_NEEDS_REAUTH:
        return SyncLine("waiting", "Waiting for the next sync: Google needs "
                                   f"{organizer.name} to reconnect first.")
    return SyncLine("waiting", "Waiting for the next sync.")
