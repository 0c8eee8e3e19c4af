"""Sync services for other features: is an activity from Google (read-only), its link to
open it in Google, the last successful sync, and cleanup hooks."""
from flask import g
from sqlalchemy import delete, select, update

from portal.extensions import db
from portal.sync.models import OWNER_GOOGLE, EventLink


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


def google_link(activity):
    """The Google-owned link of ``activity`` or None (cached for the request)."""
    if activity is None or getattr(activity, "id", None) is None:
        return None
    cache = g.setdefault("_sync_google_links", {})
    if activity.id not in cache:
        cache[activity.id] = google_links([activity.id]).get(activity.id)
    return cache[activity.id]


def is_from_google(activity):
    """True when the activity was imported from Google: the CRM shows it read-only."""
    return google_link(activity) is not None


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


def connect_signals():
    """Register the hooks other features offer (idempotent)."""
    from portal.crm.activities import activity_deleting
    from portal.google.services import register_forget_links_hook

    activity_deleting.connect(_on_activity_deleting, weak=False)
    register_forget_links_hook(forget_user_links)
