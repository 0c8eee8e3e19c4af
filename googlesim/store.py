"""All of googlesim's state, behind one lock, optionally persisted to SQLite.

State is plain dicts (JSON-serialisable) so persistence is a key/value table: every mutation
runs inside ``store.tx()``, marks the objects it touched with ``dirty()``, and the transaction
writes just those rows when it ends. Reads also take the lock (``with store.lock``).

Change tracking: every calendar (and every account's contacts) has a monotonically increasing
``seq``; each write stamps the record with the next seq and appends ``(seq, id)`` to an
in-memory change log, so an incremental list is a bisect into that log: O(changes), not
O(calendar size). The log is rebuilt from the records' stamps on load.
"""
import base64
import bisect
import json
import os
import secrets
import sqlite3
import threading
import time
from contextlib import contextmanager
from datetime import datetime, timezone

# Kinds stored as one row per key. "event" and "contact" keys are "<container>\n<id>".
_KINDS = ("client", "account", "calendar", "event", "refresh", "access", "grant", "code",
          "book", "contact", "channel", "meta")


def now_rfc3339(ts=None):
    dt = datetime.fromtimestamp(ts if ts is not None else time.time(), timezone.utc)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def encode_token(data):
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_token(token):
    """Decode an opaque token made by encode_token; None when it is not one of ours."""
    try:
        pad = "=" * (-len(token) % 4)
        data = json.loads(base64.urlsafe_b64decode(token + pad))
        return data if isinstance(data, dict) else None
    except (ValueError, TypeError):
        return None


class ChangeLog:
    """(seq, id) pairs in seq order; an id may appear several times, the last one counts."""

    def __init__(self):
        self.seqs, self.ids = [], []

    def append(self, seq, item_id):
        self.seqs.append(seq)
        self.ids.append(item_id)

    def since(self, seq):
        """Ids changed after ``seq``, each once, oldest change first."""
        start = bisect.bisect_right(self.seqs, seq)
        seen, out = set(), []
        for item_id in reversed(self.ids[start:]):
            if item_id not in seen:
                seen.add(item_id)
                out.append(item_id)
        out.reverse()
        return out


class Store:
    def __init__(self, path=None, auto_consent=False):
        self.lock = threading.RLock()
        self.path = path
        self.default_auto_consent = auto_consent
        self._dirty = {}
        self._etag_last = 0
        self._db = None
        if path:
            self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=OFF")
            self._db.execute("CREATE TABLE IF NOT EXISTS objects (kind TEXT, key TEXT, "
                             "data TEXT, PRIMARY KEY (kind, key))")
        self._clear_memory()
        if self._db:
            self._load()
        if "settings" not in self.meta:
            self.meta["settings"] = {"auto_consent": auto_consent}
            self.dirty("meta", "settings")
        if "epoch" not in self.meta:
            # Tokens carry the epoch so that ones from before a reset are recognised as stale.
            self.meta["epoch"] = {"value": secrets.token_hex(4)}
            self.dirty("meta", "epoch")
        self._flush()

    # -- state ---------------------------------------------------------------------------
    def _clear_memory(self):
        self.clients = {}      # client_id -> {client_id, client_secret, redirect_uris}
        self.accounts = {}     # email -> {email, name, sub, created}
        self.calendars = {}    # calendar id -> calendar record (with seq, gen)
        self.events = {}       # calendar id -> {event id -> {"seq", "res", "s", "e"}}
        self.refresh = {}      # refresh token -> {email, client_id, scopes, revoked}
        self.access = {}       # access token -> {email, client_id, scopes, expires_at, refresh}
        self.grants = {}       # "email client_id" -> {email, client_id, scopes}
        self.codes = {}        # authorization code -> pending grant
        self.books = {}        # email -> {seq, gen, next_id, groups: {...}}
        self.contacts = {}     # email -> {contact id -> {"seq", "deleted", "res"}}
        self.channels = {}     # channel id -> channel record
        self.meta = {}         # "settings", "epoch", "signing_key"
        self.changes = {}      # calendar id / "people:"+email -> ChangeLog (not persisted)
        self.exceptions = {}   # calendar id -> {series id -> set(instance ids)}
        # Copies of shared meetings (derived from the records' "copy_of", not persisted):
        # "<organizer calendar id>\n<event id>" -> set(guest calendar ids holding a copy).
        self.copies = {}
        self.outbox = []       # mails Google would have sent on sendUpdates (not persisted)

    @property
    def epoch(self):
        return self.meta["epoch"]["value"]

    @property
    def auto_consent(self):
        return bool(self.meta["settings"].get("auto_consent"))

    def reset(self):
        with self.lock:
            key = self.meta.get("signing_key")
            self._clear_memory()
            self._dirty.clear()
            if self._db:
                self._db.execute("DELETE FROM objects")
            self.meta["settings"] = {"auto_consent": self.default_auto_consent}
            self.meta["epoch"] = {"value": secrets.token_hex(4)}
            self.dirty("meta", "settings")
            self.dirty("meta", "epoch")
            if key:  # keep the signing key: JWKS caches in clients stay valid
                self.meta["signing_key"] = key
                self.dirty("meta", "signing_key")
            self._flush()

    # -- transactions & persistence -------------------------------------------------------
    @contextmanager
    def tx(self):
        with self.lock:
            try:
                yield self
            finally:
                self._flush()

    def dirty(self, kind, key):
        self._dirty[(kind, key)] = True

    def _lookup(self, kind, key):
        if kind in ("event", "contact"):
            container, item = key.split("\n", 1)
            table = self.events if kind == "event" else self.contacts
            return table.get(container, {}).get(item)
        table = {"client": self.clients, "account": self.accounts, "calendar": self.calendars,
                 "refresh": self.refresh, "access": self.access, "grant": self.grants,
                 "code": self.codes, "book": self.books, "channel": self.channels,
                 "meta": self.meta}[kind]
        return table.get(key)

    def _flush(self):
        if not self._dirty:
            return
        if not self._db:
            self._dirty.clear()
            return
        rows, gone = [], []
        for kind, key in self._dirty:
            obj = self._lookup(kind, key)
            if obj is None:
                gone.append((kind, key))
            else:
                rows.append((kind, key, json.dumps(obj, separators=(",", ":"))))
        self._dirty.clear()
        cur = self._db.cursor()
        cur.execute("BEGIN")
        if gone:
            cur.executemany("DELETE FROM objects WHERE kind=? AND key=?", gone)
        if rows:
            cur.executemany("INSERT OR REPLACE INTO objects VALUES (?,?,?)", rows)
        cur.execute("COMMIT")

    def _load(self):
        for kind, key, data in self._db.execute("SELECT kind, key, data FROM objects"):
            obj = json.loads(data)
            if kind in ("event", "contact"):
                container, item = key.split("\n", 1)
                table = self.events if kind == "event" else self.contacts
                table.setdefault(container, {})[item] = obj
                continue
            self._table(kind)[key] = obj
        for cal_id, events in self.events.items():
            log = self.changes.setdefault(cal_id, ChangeLog())
            for eid, rec in sorted(events.items(), key=lambda kv: kv[1]["seq"]):
                log.append(rec["seq"], eid)
                series = rec["res"].get("recurringEventId")
                if series:
                    self.exceptions.setdefault(cal_id, {}).setdefault(series, set()).add(eid)
                if rec.get("copy_of"):
                    self.copies.setdefault(f"{rec['copy_of']}\n{eid}", set()).add(cal_id)
        for email, contacts in self.contacts.items():
            log = self.changes.setdefault("people:" + email, ChangeLog())
            for cid, rec in sorted(contacts.items(), key=lambda kv: kv[1]["seq"]):
                log.append(rec["seq"], cid)

    def _table(self, kind):
        return {"client": self.clients, "account": self.accounts, "calendar": self.calendars,
                "refresh": self.refresh, "access": self.access, "grant": self.grants,
                "code": self.codes, "book": self.books, "channel": self.channels,
                "meta": self.meta}[kind]

    def delete(self, kind, key):
        self._table(kind).pop(key, None)
        self.dirty(kind, key)

    # -- helpers used by the feature modules ----------------------------------------------
    def new_etag(self):
        """A quoted, strictly increasing etag, unique across restarts (time-based)."""
        value = max(self._etag_last + 1, int(time.time() * 1_000_000))
        self._etag_last = value
        return f'"{value}"'

    def log(self, container):
        return self.changes.setdefault(container, ChangeLog())

    def signing_key_pem(self):
        """The RSA key for id_tokens, created on first use and kept across restarts."""
        with self.lock:
            entry = self.meta.get("signing_key")
            if entry is None:
                from cryptography.hazmat.primitives import serialization
                from cryptography.hazmat.primitives.asymmetric import rsa
                key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
                pem = key.private_bytes(serialization.Encoding.PEM,
                                        serialization.PrivateFormat.PKCS8,
                                        serialization.NoEncryption()).decode()
                entry = {"pem": pem, "kid": secrets.token_hex(20)}
                self.meta["signing_key"] = entry
                self.dirty("meta", "signing_key")
                self._flush()
            return entry


def random_id(nbytes=16):
    """A base32hex id ([a-v0-9]), as Google uses for events."""
    alphabet = "0123456789abcdefghijklmnopqrstuv"
    return "".join(alphabet[b % 32] for b in os.urandom(nbytes * 8 // 5))
