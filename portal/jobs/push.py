"""Google push notifications -> import jobs, debounced.

Google sends one notification per change, and a person editing in Google makes bursts of
them. The first ``exists`` notification of a mapping sets a short-lived Redis key
(``GOOGLE_PUSH_DEBOUNCE_SECONDS``) and enqueues an import; the rest of the burst finds the
key and enqueues nothing. The job deletes the key when it starts, so a change made after the
import began listing the calendar is never missed: it enqueues again, or, while that import
still holds the mapping's lock, leaves an *again* mark that the job turns into one more
import when it ends."""
import logging

from flask import current_app
from redis.exceptions import RedisError

from portal.jobs.connection import QueueUnavailable, get_redis

log = logging.getLogger(__name__)

#: Google's states: "sync" when a channel opens (nothing changed), "exists" on a change
STATE_SYNC = "sync"
STATE_EXISTS = "exists"


def debounce_key(mapping_id):
    return f"portal:push:debounce:mapping:{mapping_id}"


def again_key(mapping_id):
    return f"portal:push:again:mapping:{mapping_id}"


def receive(channel_id, token, state, resource_id=None):
    """Handle one notification; True when an import was asked for. Unknown channels, wrong
    tokens, other resources and ``sync`` messages do nothing (and say nothing: the webhook
    answers the same either way)."""
    from portal.google import push

    channel = push.find_channel(channel_id)
    if channel is None or not push.token_matches(channel, token):
        return False
    if resource_id and channel.resource_id and resource_id != channel.resource_id:
        return False
    if state != STATE_EXISTS:
        return False  # "sync": the channel is open; nothing changed yet
    mapping = channel.mapping
    if mapping is None or not push.wants_channel(mapping) \
            or mapping.calendar_id != channel.calendar_id:
        return False  # a channel about to be stopped by the next tick
    return request_import(mapping)


def request_import(mapping):
    """Enqueue an import of ``mapping`` unless one is already pending for this burst."""
    from portal.jobs.sync import enqueue_sync
    from portal.sync.core.runs import RUN_QUEUED

    ttl = max(1, int(current_app.config.get("GOOGLE_PUSH_DEBOUNCE_SECONDS") or 2))
    try:
        redis = get_redis()
        if not redis.set(debounce_key(mapping.id), "1", nx=True, ex=ttl):
            return False
        runs = enqueue_sync(mapping.user, mapping, "import")
        run = runs[0] if runs else None
        if run is None or (getattr(run, "already_running", False)
                           and (run.status != RUN_QUEUED or run.direction == "export")):
            # Another run holds the mapping and will not read this change: it is running (and
            # may have read the calendar already) or it only exports. One import follows it.
            redis.set(again_key(mapping.id), "1", ex=3600)
        return True
    except (RedisError, QueueUnavailable) as exc:
        # The polling cron still imports the change; Google is answered all the same.
        log.warning("push import of mapping %s not queued: %s", mapping.id,
                    exc.__class__.__name__)
        return False


def job_starting(mapping_id):
    """A sync job of the mapping starts: notifications from now on need a new import."""
    try:
        get_redis().delete(debounce_key(mapping_id))
    except RedisError:
        pass  # the key expires by itself


def job_finished(mapping_id):
    """A sync job of the mapping ended (its lock released): run the import a notification
    asked for while it ran."""
    from portal.extensions import db
    from portal.google.models import CalendarMapping

    try:
        redis = get_redis()
        if not redis.delete(again_key(mapping_id)):
            return
        # The import is owed whatever the burst window says (that burst came during the run).
        redis.delete(debounce_key(mapping_id))
    except RedisError:
        return
    try:
        mapping = db.session.get(CalendarMapping, mapping_id)
        if mapping is not None and mapping.import_enabled:
            request_import(mapping)
    except Exception:  # noqa: BLE001 - runs in the job's finally: never hide the job's error
        log.exception("follow-up import of mapping %s not queued", mapping_id)
