"""The /_sim/ control API (loopback only) plus the fault and statistics bookkeeping that
applies to every Google API request."""
import socket
import threading
import time

from flask import Blueprint, current_app, g, jsonify, request

from .accounts import ensure_account, valid_email
from .errors import ApiError, bad_request, not_found
from .events import calendar_for, calendar_resource, insert_calendar, owned_calendars
from .oauth import issue_tokens, revoke_grant

bp = Blueprint("control", __name__, url_prefix="/_sim")


class Runtime:
    """Faults and request statistics; separate from Store because they are never persisted
    and are touched on every request."""

    def __init__(self):
        self.lock = threading.Lock()
        self.faults = []
        self.buckets = {}  # email -> (tokens, monotonic time of the last refill)
        self.reset_stats()

    def reset_stats(self):
        with self.lock:
            self.stats = {"total": 0, "requests": {}, "batch_parts": 0, "batch_requests": {},
                          "rate_limited": 0}

    def take_token(self, email, spec):
        """One request of ``email`` against the per-account token bucket ``spec``
        ({per_user_per_second, burst}); False (and counted) when it is over the rate."""
        rate, burst = spec["per_user_per_second"], spec["burst"]
        with self.lock:
            now = time.monotonic()
            tokens, last = self.buckets.get(email, (burst, now))
            tokens = min(burst, tokens + (now - last) * rate)
            if tokens < 1:
                self.buckets[email] = (tokens, now)
                self.stats["rate_limited"] += 1
                return False
            self.buckets[email] = (tokens - 1, now)
            return True

    def count(self, key, in_batch):
        with self.lock:
            if in_batch:
                self.stats["batch_parts"] += 1
                table = self.stats["batch_requests"]
            else:
                self.stats["total"] += 1
                table = self.stats["requests"]
            table[key] = table.get(key, 0) + 1

    def snapshot(self):
        with self.lock:
            return {"total": self.stats["total"], "requests": dict(self.stats["requests"]),
                    "batch_parts": self.stats["batch_parts"],
                    "batch_requests": dict(self.stats["batch_requests"]),
                    "rate_limited": self.stats["rate_limited"]}

    def add_fault(self, spec):
        with self.lock:
            self.faults.append(spec)

    def take_fault(self, method, path, in_batch):
        """The first armed fault matching this request, with one use consumed."""
        with self.lock:
            for fault in self.faults:
                if fault["method"] and fault["method"].upper() != method:
                    continue
                if fault["path"] and not path.startswith(fault["path"]):
                    continue
                if in_batch and fault["drop"]:
                    continue  # a part can't drop the connection; the batch request can
                fault["remaining"] -= 1
                if fault["remaining"] <= 0:
                    self.faults.remove(fault)
                return dict(fault)
        return None


def runtime():
    return current_app.config["RUNTIME"]


def is_loopback(addr):
    return bool(addr) and (addr.startswith("127.") or addr in ("::1", "::ffff:127.0.0.1"))


def apply_faults():
    """before_request hook for Google API paths: delay, drop or fail as armed."""
    in_batch = bool(request.environ.get("googlesim.batch_part"))
    fault = runtime().take_fault(request.method, request.path, in_batch)
    if fault is None:
        return
    if fault.get("delay_ms"):
        time.sleep(fault["delay_ms"] / 1000.0)
    if fault.get("drop"):
        sock = request.environ.get("werkzeug.socket")
        if sock is not None:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
        # Werkzeug's write then fails with a ConnectionError and it drops the request.
        raise ConnectionAbortedError("googlesim fault: dropped connection")
    if fault.get("status"):
        raise ApiError(int(fault["status"]), fault.get("reason"), fault.get("message"))


def check_rate_limit(email):
    """Per-account rate limiting, when switched on with POST /_sim/settings
    {"rate_limit": {...}}: Calendar answers 403 userRateLimitExceeded (domain usageLimits),
    People 429 RESOURCE_EXHAUSTED, as Google does. Every batch part counts."""
    spec = current_app.config["STORE"].meta["settings"].get("rate_limit")
    if not spec or runtime().take_token(email, spec):
        return
    if request.path.startswith("/v1/"):
        raise ApiError(429, "rateLimitExceeded", "Quota exceeded for quota metric 'Requests' "
                       "and limit 'Requests per minute per user' of service "
                       "'people.googleapis.com'.", status="RESOURCE_EXHAUSTED")
    raise ApiError(403, "userRateLimitExceeded", "User Rate Limit Exceeded",
                   domain="usageLimits")


def _rate_limit_spec(value):
    """None (off) or {"per_user_per_second": >0, "burst": >=1 (default: the rate, at
    least 1)}; 400 for anything else."""
    if value is None or value is False:
        return None
    rate = value.get("per_user_per_second") if isinstance(value, dict) else None
    if not isinstance(rate, (int, float)) or isinstance(rate, bool) or rate <= 0:
        raise bad_request("rate_limit needs per_user_per_second, a positive number "
                          "(or null to switch it off).")
    burst = value.get("burst")
    if burst is None:
        burst = max(1, int(rate))
    if not isinstance(burst, int) or isinstance(burst, bool) or burst < 1:
        raise bad_request("rate_limit.burst must be a positive integer.")
    return {"per_user_per_second": rate, "burst": burst}


def stats_key():
    if getattr(g, "stats_key", None):
        return g.stats_key
    rule = request.url_rule
    if rule is None:
        return f"{request.method} {request.path}"
    return f"{request.method} " + rule.rule.replace("<path:", "{").replace("<", "{") \
        .replace(">", "}")


# -- routes -------------------------------------------------------------------------------------
def st():
    return current_app.config["STORE"]


def body():
    data = request.get_json(silent=True)
    if data is None:
        if request.get_data().strip():
            raise ApiError(400, "parseError", "Parse Error")
        return {}
    if not isinstance(data, dict):
        raise ApiError(400, "parseError", "Parse Error")
    return data


@bp.before_request
def loopback_only():
    if not is_loopback(request.remote_addr):
        raise ApiError(403, "forbidden", "The control API is loopback only.")


@bp.post("/reset")
def reset():
    st().reset()
    with runtime().lock:
        runtime().faults.clear()
        runtime().buckets.clear()
    runtime().reset_stats()
    return jsonify({"ok": True})


@bp.route("/clients", methods=["GET", "POST"])
def clients():
    if request.method == "GET":
        with st().lock:
            return jsonify(list(st().clients.values()))
    data = body()
    cid, secret, uris = data.get("client_id"), data.get("client_secret"), \
        data.get("redirect_uris", [])
    if not isinstance(cid, str) or not cid or not isinstance(secret, str) or not secret or \
            not isinstance(uris, list) or not all(isinstance(u, str) for u in uris):
        raise bad_request("client_id, client_secret (strings) and redirect_uris (list of "
                          "strings) are required.")
    with st().tx():
        st().clients[cid] = {"client_id": cid, "client_secret": secret, "redirect_uris": uris}
        st().dirty("client", cid)
    return jsonify(st().clients[cid]), 201


@bp.route("/faults", methods=["GET", "POST", "DELETE"])
def faults():
    rt = runtime()
    if request.method == "GET":
        with rt.lock:
            return jsonify([dict(f) for f in rt.faults])
    if request.method == "DELETE":
        with rt.lock:
            rt.faults.clear()
        return jsonify({"ok": True})
    data = body()
    status, drop, delay = data.get("status"), bool(data.get("drop")), data.get("delay_ms")
    if status is None and not drop and delay is None:
        raise bad_request("A fault needs status, drop or delay_ms.")
    if status is not None and (not isinstance(status, int) or not 400 <= status <= 599):
        raise bad_request("status must be an HTTP error code.")
    count = data.get("count", 1)
    if count is None:
        count = 1
    if not isinstance(count, int) or isinstance(count, bool) or count < 1:
        raise bad_request("count must be a positive integer.")
    for key in ("method", "path", "reason", "message"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise bad_request(f"{key} must be a string or null.")
    if delay is not None and (not isinstance(delay, (int, float)) or isinstance(delay, bool)
                              or delay < 0):
        raise bad_request("delay_ms must be a non-negative number.")
    if status is not None and isinstance(status, bool):
        raise bad_request("status must be an HTTP error code.")
    spec = {"method": (data.get("method") or "").upper() or None,
            "path": data.get("path") or None, "status": status,
            "reason": data.get("reason"), "message": data.get("message"), "drop": drop,
            "delay_ms": delay, "count": count, "remaining": count}
    rt.add_fault(spec)
    return jsonify(spec), 201


@bp.post("/expire")
def expire():
    data = body()
    s = st()
    with s.tx():
        # Bumping the generation invalidates every token issued so far. "sync_tokens"
        # covers Calendar and People; the other two flags only one of them.
        if data.get("sync_tokens") or data.get("calendar_sync_tokens"):
            for cal in s.calendars.values():
                cal["gen"] = cal.get("gen", 0) + 1
                s.dirty("calendar", cal["id"])
        if data.get("sync_tokens") or data.get("people_sync_tokens"):
            for email, book in s.books.items():
                book["gen"] = book.get("gen", 0) + 1
                s.dirty("book", email)
        if data.get("access_tokens"):
            for token, rec in s.access.items():
                rec["expires_at"] = 0
                s.dirty("access", token)
    return jsonify({"ok": True})


@bp.get("/stats")
def stats():
    return jsonify(runtime().snapshot())


@bp.post("/stats/reset")
def stats_reset():
    runtime().reset_stats()
    return jsonify({"ok": True})


@bp.get("/outbox")
def outbox():
    """The guest emails Google would have sent (see googlesim/outbox.py), oldest first."""
    with st().lock:
        return jsonify(list(st().outbox))


@bp.route("/settings", methods=["GET", "POST"])
def settings():
    s = st()
    if request.method == "POST":
        data = body()
        limit = _rate_limit_spec(data.get("rate_limit")) if "rate_limit" in data else None
        with s.tx():
            if "auto_consent" in data:
                s.meta["settings"]["auto_consent"] = bool(data["auto_consent"])
                s.dirty("meta", "settings")
            if "rate_limit" in data:
                if limit is None:
                    s.meta["settings"].pop("rate_limit", None)
                else:
                    s.meta["settings"]["rate_limit"] = limit
                s.dirty("meta", "settings")
                with runtime().lock:
                    runtime().buckets.clear()
    with s.lock:
        return jsonify(dict(s.meta["settings"]))


def _account(email):
    acct = st().accounts.get(email.lower())
    if acct is None:
        raise not_found(f"No account {email}")
    return acct


@bp.route("/accounts", methods=["GET", "POST"])
def accounts():
    s = st()
    if request.method == "GET":
        with s.lock:
            return jsonify(list(s.accounts.values()))
    data = body()
    email = data.get("email")
    if not isinstance(email, str) or not valid_email(email):
        raise bad_request("A valid email is required.")
    with s.tx():
        acct = ensure_account(s, email, data.get("name"), data.get("time_zone") or "UTC")
        return jsonify(dict(acct)), 201


@bp.get("/accounts/<email>")
def account(email):
    with st().lock:
        return jsonify(dict(_account(email)))


@bp.route("/accounts/<email>/calendars", methods=["GET", "POST"])
def calendars(email):
    s = st()
    with s.tx():
        acct = _account(email)
        if request.method == "POST":
            cal = insert_calendar(s, acct["email"], body())
            return jsonify(calendar_resource(cal)), 201
        return jsonify([dict(calendar_resource(c), primary=bool(c.get("primary")))
                        for c in owned_calendars(s, acct["email"])])


@bp.route("/accounts/<email>/calendars/<calendar_id>/events", methods=["GET", "POST"])
def events(email, calendar_id):
    s = st()
    ops = current_app.config["EVENTS"]
    with s.tx():
        acct = _account(email)
        cal = calendar_for(s, acct["email"], calendar_id)
        if request.method == "POST":
            return jsonify(ops.insert(cal, body(), acct["email"], conference_version=1)), 201
        include_deleted = request.args.get("include_deleted", "true").lower() != "false"
        return jsonify([r["res"] for r in s.events.get(cal["id"], {}).values()
                        if include_deleted or r["res"].get("status") != "cancelled"])


def _as_in_the_ui(changes):
    """A person editing the time in Google's own UI replaces it whole (switching all-day
    on or off leaves nothing of the other kind), unlike an API patch, which merges."""
    if isinstance(changes, dict):
        for key in ("start", "end"):
            if isinstance(changes.get(key), dict):
                changes[key] = {"date": None, "dateTime": None, "timeZone": None,
                                **changes[key]}
    return changes


@bp.route("/accounts/<email>/calendars/<calendar_id>/events/<event_id>",
          methods=["GET", "PATCH", "PUT", "DELETE"])
def event(email, calendar_id, event_id):
    s = st()
    ops = current_app.config["EVENTS"]
    with s.tx():
        acct = _account(email)
        cal = calendar_for(s, acct["email"], calendar_id)
        if request.method == "GET":
            return jsonify(ops.get(cal, event_id))
        if request.method == "PATCH":
            return jsonify(ops.patch(cal, event_id, _as_in_the_ui(body()), acct["email"], None,
                                     conference_version=1))
        if request.method == "PUT":
            return jsonify(ops.update(cal, event_id, body(), acct["email"], None,
                                      conference_version=1))
        ops.delete(cal, event_id, None)
        return "", 204


@bp.route("/accounts/<email>/contacts", methods=["GET", "POST"])
def contacts(email):
    s = st()
    c = current_app.config["CONTACTS"]
    with s.tx():
        acct = _account(email)
        if request.method == "POST":
            cid, rec = c.create(acct["email"], body())
            return jsonify(c.render(cid, rec)), 201
        include_deleted = request.args.get("include_deleted", "false").lower() == "true"
        return jsonify([c.render(cid, rec) for cid, rec in s.contacts.get(acct["email"],
                                                                           {}).items()
                        if include_deleted or not rec["deleted"]])


@bp.route("/accounts/<email>/contacts/<contact_id>", methods=["GET", "PATCH", "DELETE"])
def contact(email, contact_id):
    s = st()
    c = current_app.config["CONTACTS"]
    name = contact_id if contact_id.startswith("people/") else "people/" + contact_id
    with s.tx():
        acct = _account(email)
        if request.method == "GET":
            return jsonify(c.render(*c.record(acct["email"], name)))
        if request.method == "PATCH":
            return jsonify(c.render(*c.owner_patch(acct["email"], name, body())))
        c.delete(acct["email"], name)
        return "", 204


@bp.post("/accounts/<email>/revoke")
def revoke(email):
    data = body()
    s = st()
    with s.tx():
        acct = _account(email)
        count = revoke_grant(s, acct["email"], data.get("client_id"))
    return jsonify({"revoked_refresh_tokens": count})


@bp.get("/accounts/<email>/grants")
def grants(email):
    s = st()
    with s.lock:
        acct = _account(email)
        return jsonify([g for g in s.grants.values() if g["email"] == acct["email"]])


@bp.post("/tokens")
def tokens():
    data = body()
    email, client_id, scopes = data.get("email"), data.get("client_id"), data.get("scopes")
    if isinstance(scopes, str):
        scopes = scopes.split()
    if not isinstance(email, str) or not valid_email(email) or \
            not isinstance(scopes, list) or not scopes:
        raise bad_request("email, client_id and scopes are required.")
    s = st()
    with s.tx():
        if client_id not in s.clients:
            raise bad_request(f"Unknown client {client_id}; register it first.")
        out = issue_tokens(s, email.lower(), client_id, scopes, offline=True)
    return jsonify(out)


@bp.get("/channels")
def channels():
    with st().lock:
        return jsonify(list(st().channels.values()))
