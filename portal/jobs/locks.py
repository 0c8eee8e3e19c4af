"""Redis locks with expiry: at most one sync per mapping at a time.

The lock is taken when a sync is enqueued (so a second *Synchronize now* reports "already
running"), carried by the job while it runs, and released when the run ends. A worker killed
mid-run is noticed by portal/jobs/reaper.py, which fails its run and frees the lock (the
expiry is the last resort); the next run then finishes the job (see portal/sync/calendar/runner.py).
"""
import uuid

DEFAULT_TTL = 15 * 60

# Delete/extend only when we still hold it (compare-and-act, atomically in Redis).
_RELEASE = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) " \
           "else return 0 end"
_EXTEND = "if redis.call('get', KEYS[1]) == ARGV[1] then " \
          "return redis.call('expire', KEYS[1], ARGV[2]) else return 0 end"


def mapping_lock_key(mapping_id):
    return f"portal:sync-lock:mapping:{mapping_id}"


def contacts_lock_key(settings_id):
    return f"portal:sync-lock:contacts:{settings_id}"


def run_lock_key(run):
    """The lock a SyncRun holds: its mapping's, or its user's contacts sync's."""
    if run.contact_settings_id is not None:
        return contacts_lock_key(run.contact_settings_id)
    return mapping_lock_key(run.mapping_id)


class Lock:
    """A named lock owned by ``token`` (e.g. the RQ job id)."""

    def __init__(self, redis, key, token=None, ttl=DEFAULT_TTL):
        self.redis = redis
        self.key = key
        self.token = token or uuid.uuid4().hex
        self.ttl = ttl

    def acquire(self):
        """True when we got it (or already hold it)."""
        if self.redis.set(self.key, self.token, nx=True, ex=self.ttl):
            return True
        return self.holder() == self.token and self.extend()

    def holder(self):
        value = self.redis.get(self.key)
        return value.decode() if isinstance(value, bytes) else value

    def extend(self, ttl=None):
        return bool(self.redis.eval(_EXTEND, 1, self.key, self.token, int(ttl or self.ttl)))

    def release(self):
        return bool(self.redis.eval(_RELEASE, 1, self.key, self.token))
