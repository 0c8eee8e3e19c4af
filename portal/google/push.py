"""Google push notification channels (events.watch / channels.stop) for calendar mappings.

Every mapping with *Import* on and a calendar gets one channel pointed at
``<GOOGLE_PUSH_URL>/google/notifications`` (off while that setting is unset); Google then
calls the portal when the calendar changes and the import runs at once (see
portal/jobs/push.py). The polling crons stay: a channel can expire, be dropped by Google, or
a notification can be lost, and polling catches all of that.

Google never renews a channel, so :func:`reconcile` (run by every scheduler tick) opens a
new one well before the old expires and stops the old; it also stops channels nobody needs
any more (import turned off, the mapping moved to another calendar, the user disconnected).
Disconnecting stops the user's channels before the grant is revoked (they can't be stopped
after)."""
from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
import uuid
from datetime import datetime, timedelta, timezone

from flask import current_app
from redis.exceptions import RedisError
from sqlalchemy import false, select

from portal.accounts.models import User
from portal.core.types import utcnow
from portal.extensions import db
from portal.google import services as google_services
from portal.google.client import GoogleError, PermanentError, ReauthorizationNeeded
from portal.google.models import STATUS_CONNECTED, CalendarMapping, GoogleConnection, PushChannel
from portal.jobs.connection import get_redis

log = logging.getLogger(__name__)

NOTIFICATIONS_PATH = "/google/notifications"
#: how long a channel is asked for (Google caps it: about a week for events)
CHANNEL_LIFETIME = timedelta(days=7)
#: a channel expiring within this is replaced by the next tick
RENEW_BEFORE = timedelta(days=1)
#: after Google refused to open a channel, the next try waits this long (polling goes on)
RETRY_REFUSED = timedelta(hours=1)
#: Google calls with these bounds on a watch/stop; a tick must not hang on one account
TIMEOUT = 10


def push_address(config=None):
    """Where Google calls back, or None when push is off (``GOOGLE_PUSH_URL`` unset)."""
    base = (config or current_app.config).get("GOOGLE_PUSH_URL")
    return base + NOTIFICATIONS_PATH if base else None


def token_hash(token):
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def token_matches(channel, token):
    """Constant-time check of the token Google echoed against the stored hash."""
    if not isinstance(token, str) or not token or len(token) > 256:
        return False
    return hmac.compare_digest(channel.token_hash, token_hash(token))


def find_channel(channel_id):
    if not isinstance(channel_id, str) or not channel_id or len(channel_id) > 64:
        return None
    return db.session.scalars(select(PushChannel)
                              .where(PushChannel.channel_id == channel_id)).first()


def wants_channel(mapping):
    """A mapping whose calendar should be watched: import on, a calendar, connected user."""
    return bool(mapping.import_enabled and mapping.calendar_id)


def open_channel(mapping, now=None):
    """Ask Google to watch ``mapping``'s calendar; store and return the new channel.
    Raises the classified :class:`GoogleError` (or NotConnected) when Google refuses."""
    address = push_address()
    if address is None:
        return None
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    channel_id = uuid.uuid4().hex
    client = google_services.client_for(mapping.user, timeout=TIMEOUT)
    try:
        answer = client.execute(client.calendar.events().watch(
            calendarId=mapping.calendar_id,
            body={"id": channel_id, "type": "web_hook", "address": address, "token": token,
                  "expiration": int((now + CHANNEL_LIFETIME).timestamp() * 1000)}))
    except ReauthorizationNeeded as exc:
        # The grant is gone: say so now (banner, scheduled runs skipped), not at the next poll.
        google_services.mark_needs_reauth(
            mapping.user, f"Google refused access ({exc.reason or exc.status}); "
                          "please reconnect.")
        raise
    expires_at = None
    try:
        expires_at = _from_millis(int(answer.get("expiration")))
    except (TypeError, ValueError):
        expires_at = now + CHANNEL_LIFETIME
    channel = PushChannel(mapping_id=mapping.id, user_id=mapping.user_id,
                          channel_id=channel_id, resource_id=answer.get("resourceId") or "",
                          calendar_id=mapping.calendar_id, token_hash=token_hash(token),
                          expires_at=expires_at, created_at=now)
    db.session.add(channel)
    db.session.flush()
    return channel


def _from_millis(value):
    return datetime.fromtimestamp(value / 1000, timezone.utc)


def stop_channel(channel, user=None):
    """channels.stop at Google (best effort: an expired or unknown channel is gone anyway,
    and an unreachable Google lets it expire by itself), then forget it."""
    user = user or db.session.get(User, channel.user_id)
    try:
        client = google_services.client_for(user, timeout=TIMEOUT)
        client.execute(client.calendar.channels().stop(
            body={"id": channel.channel_id, "resourceId": channel.resource_id}))
    except PermanentError as exc:
        if exc.status != 404:
            log.info("channels.stop of %s: %s", channel.channel_id, exc)
    except (GoogleError, google_services.NotConnected) as exc:
        log.info("channels.stop of %s not possible (%s); it expires by itself",
                 channel.channel_id, exc.__class__.__name__)
    db.session.delete(channel)
    db.session.flush()


def stop_user_channels(user):
    """Stop every channel of ``user`` (before their grant is revoked)."""
    for channel in db.session.scalars(select(PushChannel).where(PushChannel.user_id == user.id)):
        stop_channel(channel, user)


def stop_unwanted_channels(user):
    """Stop ``user``'s channels whose mapping no longer wants them (import off, another
    calendar, or gone)."""
    for channel in db.session.scalars(select(PushChannel).where(PushChannel.user_id == user.id)):
        mapping = channel.mapping
        if mapping is None or not wants_channel(mapping) \
                or mapping.calendar_id != channel.calendar_id:
            stop_channel(channel, user)


def stop_mapping_channels(mapping):
    for channel in db.session.scalars(select(PushChannel)
                                      .where(PushChannel.mapping_id == mapping.id)):
        stop_channel(channel, mapping.user)


def _rest_key(mapping_id):
    return f"portal:push:watch-refused:mapping:{mapping_id}"


def _resting(mapping_id):
    """Google refused a watch of this mapping lately (e.g. an address it won't call):
    ask again after :data:`RETRY_REFUSED`, not on every tick."""
    try:
        return bool(get_redis().exists(_rest_key(mapping_id)))
    except RedisError:
        return False


def _rest(mapping_id):
    try:
        get_redis().set(_rest_key(mapping_id), "1", ex=int(RETRY_REFUSED.total_seconds()))
    except RedisError:
        pass


def reconcile(now=None):
    """One scheduler tick's channel upkeep; returns (opened, stopped).

    Stops channels no mapping needs (import off, another calendar now, user not connected,
    push switched off) and opens channels for mappings without a fresh one; a channel
    expiring within :data:`RENEW_BEFORE` is replaced (new first, then the old stopped, so
    no change goes unnoticed in between). One account failing never stops the others."""
    now = now or utcnow()
    address = push_address()
    opened = stopped = 0
    connected = set(db.session.scalars(select(GoogleConnection.user_id).where(
        GoogleConnection.status == STATUS_CONNECTED,
        GoogleConnection.refresh_token_encrypted.is_not(None))))
    channels = db.session.scalars(select(PushChannel)).all()
    by_mapping = {}
    for channel in channels:
        mapping = channel.mapping
        keep = address is not None and mapping is not None and wants_channel(mapping) \
            and mapping.calendar_id == channel.calendar_id and mapping.user_id in connected
        if not keep:
            stop_channel(channel)
            stopped += 1
            continue
        by_mapping.setdefault(mapping.id, []).append(channel)
    if address is None:
        return opened, stopped
    mappings = db.session.scalars(select(CalendarMapping).where(
        CalendarMapping.import_enabled.is_(True), CalendarMapping.calendar_id.is_not(None),
        CalendarMapping.user_id.in_(connected) if connected else false())).all()
    for mapping in mappings:
        current = by_mapping.get(mapping.id, [])
        fresh = sorted((c for c in current
                        if c.expires_at is None or c.expires_at - now > RENEW_BEFORE),
                       key=lambda c: c.created_at, reverse=True)[:1]
        if not fresh:
            if _resting(mapping.id):
                continue
            try:
                open_channel(mapping, now)
                opened += 1
            except (GoogleError, google_services.NotConnected) as exc:
                log.warning("push channel for mapping %s not opened: %s", mapping.id, exc)
                _rest(mapping.id)
                continue
        for old in current:
            if old not in fresh:
                stop_channel(old, mapping.user)
                stopped += 1
    return opened, stopped
