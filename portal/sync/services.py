"""Sync services for other features: is an activity from Google (read-only), its link to
open it in Google, the last successful sync, and cleanup hooks."""
from flask import g
from sqlalchemy import delete, select, update

from portal.extensions import db
from portal.sync.models import (LINK_ACTIVE, OWNER_CRM, OWNER_GOOGLE, EventLink,
                                GuestNotification, SyncRunEntry)

#: shown wherever the CRM refuses to change an activity imported from Google
READ_ONLY_REASON = ("It was imported from Google Calendar, which keeps the master copy: "
                    "change it in Google Calendar and the next sync brings the change here.")


def google_links(activity_ids):
    """{activity_id: EventLink} for activities imported from Google (one query)."""
    ids = [i for i in activity_ids if i is not None]
    if not ids:
        return {}
    rows = db.session.scalars(select(EventLink).where(EventLink.activity_id.in_(ids),
                                                      EventLink.owner == OWNER_GOOGLE))
    out = {}
    for link in rows:
        out.setdefault(link.activity_id, link)
    return out


def links_by_activity(activity_ids):
    """{activity_id: [EventLink, ...]} for every link of these activities (one query)."""
    ids = sorted({i for i in activity_ids if i is not None})
    out = {}
    if not ids:
        return out
    for link in db.session.scalars(select(EventLink).where(EventLink.activity_id.in_(ids))
                                   .order_by(EventLink.id)):
        out.setdefault(link.activity_id, []).append(link)
    return out


def mark_activities(activities):
    """Set the sync's display attributes on ``activities`` with one query: ``from_google``
    (imported: read-only here), ``google_html_link`` (open it in Google), ``google_synced``
    (a CRM activity exported to Google) and ``locked_reason``."""
    links = links_by_activity(a.id for a in activities)
    cache = g.setdefault("_sync_google_links", {})
    for activity in activities:
        own = links.get(activity.id, [])
        google = next((l for l in own if l.owner == OWNER_GOOGLE), None)
        cache[activity.id] = google
        activity.from_google = google is not None
        activity.google_html_link = (google.html_link if google is not None else
                                     next((l.html_link for l in own if l.html_link), "")) or ""
        activity.google_synced = google is None and any(
            l.owner == OWNER_CRM and l.state == LINK_ACTIVE for l in own)
        if google is not None:
            activity.locked_reason = READ_ONLY_REASON


def _on_activities_shown(activities, **_):
    mark_activities(activities)


def google_link(activity):
    """The Google-owned link of ``activity`` or None (cached for the request)."""
    if activity is None or getattr(activity, "id", None) is None:
        return None
    activity = getattr(activity, "series", activity)
    cache = g.setdefault("_sync_google_links", {})
    if activity.id not in cache:
        cache[activity.id] = google_links([activity.id]).get(activity.id)
    return cache[activity.id]


def is_from_google(activity):
    """True when the activity was imported from Google: the CRM shows it read-only."""
    if activity is not None and "from_google" in vars(getattr(activity, "series", activity)):
        return bool(activity.from_google)
    return google_link(activity) is not None


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
    """Delete every EventLink of ``user`` (the "forget links" choice on disconnect)."""
    db.session.execute(delete(EventLink).where(EventLink.user_id == user.id))


def tombstone_links(activity):
    """The activity is being deleted: keep its links as tombstones for the next export
    (the FK's ON DELETE SET NULL does the same where the database enforces it)."""
    if activity.id is not None:
        db.session.execute(update(EventLink).where(EventLink.activity_id == activity.id)
                           .values(activity_id=None))


def _on_activity_deleting(activity, **_):
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
    from portal.google.services import register_forget_links_hook

    activity_deleting.connect(_on_activity_deleting, weak=False)
    activity_saved.connect(_on_activity_saved, weak=False)
    activities_shown.connect(_on_activities_shown, weak=False)
    register_forget_links_hook(forget_user_links)
