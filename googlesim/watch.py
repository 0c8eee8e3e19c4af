"""Push notification channels (events.watch / channels.stop).

Notifications go out from one background thread so a burst of writes never blocks a request
or spawns a thread per change; pending notifications for a channel coalesce into one, as
Google's do. Delivery errors are ignored (Google retries; tests don't need it).
"""
import queue
import threading
import time

import requests

_TIMEOUT = 2.0


class Notifier:
    def __init__(self, store):
        self.store = store
        self.queue = queue.Queue()
        self.pending = set()
        self.pending_lock = threading.Lock()
        self.thread = threading.Thread(target=self._run, name="googlesim-notifier", daemon=True)
        self.thread.start()
        self.session = requests.Session()
        self.session.trust_env = False  # loopback addresses must not go through a proxy

    def channel_created(self, channel_id):
        self._enqueue(channel_id, "sync")

    def calendar_changed(self, calendar_id):
        """Call with the store lock held."""
        for ch in self.store.channels.values():
            if ch["calendarId"] == calendar_id and not expired(ch):
                self._enqueue(ch["id"], "exists")

    def _enqueue(self, channel_id, state):
        with self.pending_lock:
            if (channel_id, state) in self.pending:
                return
            self.pending.add((channel_id, state))
        self.queue.put((channel_id, state))

    def _run(self):
        while True:
            channel_id, state = self.queue.get()
            with self.pending_lock:
                self.pending.discard((channel_id, state))
            with self.store.tx():
                ch = self.store.channels.get(channel_id)
                if ch is None or expired(ch):
                    continue  # stopped, or past its expiration: Google sends nothing more
                number = ch.get("messageNumber", 0) + 1
                ch["messageNumber"] = number
                self.store.dirty("channel", channel_id)
                ch = dict(ch)
            headers = {"X-Goog-Channel-ID": ch["id"], "X-Goog-Resource-State": state,
                       "X-Goog-Resource-ID": ch["resourceId"],
                       "X-Goog-Resource-URI": ch["resourceUri"],
                       "X-Goog-Message-Number": str(number),
                       "Content-Length": "0"}
            if ch.get("token"):
                headers["X-Goog-Channel-Token"] = ch["token"]
            if ch.get("expiration"):
                headers["X-Goog-Channel-Expiration"] = str(ch["expiration"])
            try:
                self.session.post(ch["address"], headers=headers, data=b"", timeout=_TIMEOUT)
            except Exception:  # noqa: BLE001 - delivery failures must never hurt the sim
                pass


def expired(ch, now=None):
    """Whether the channel is past its ``expiration`` (Unix time in milliseconds)."""
    try:
        expiration = int(ch.get("expiration") or 0)
    except (TypeError, ValueError):
        return False
    return bool(expiration) and expiration <= (now if now is not None else time.time()) * 1000
