"""Calendar v3 routes (www.googleapis.com/calendar/v3/...)."""
import hashlib
import time

from flask import Blueprint, current_app, request

from .api import (CALENDARS_READ, CALENDARS_WRITE, EVENTS_READ, EVENTS_WRITE, FREEBUSY,
                  bool_arg, caller, int_arg, json_body, json_response, store, time_arg)
from .errors import ApiError, bad_request, not_found
from .events import (calendar_for, calendar_list_entry, calendar_resource, delete_calendar,
                     insert_calendar, new_channel_resource_id, owned_calendars,
                     patch_calendar, page_token, read_page_token, read_sync_token,
                     sync_token)
from . import freebusy, outbox
from .store import now_rfc3339

bp = Blueprint("calendar", __name__, url_prefix="/calendar/v3")

# Parameters Google refuses together with syncToken.
SYNC_FORBIDDEN = ("iCalUID", "orderBy", "privateExtendedProperty", "q",
                  "sharedExtendedProperty", "timeMin", "timeMax", "updatedMin")
ALL_SCOPES = CALENDARS_READ | EVENTS_READ


def events_ops():
    return current_app.config["EVENTS"]


# -- calendarList & calendars -----------------------------------------------------------------
@bp.get("/users/me/calendarList")
def calendar_list():
    email = caller(CALENDARS_READ)
    max_results = int_arg("maxResults", 100, 1, 250, clamp_hi=True)
    st = store()
    with st.lock:
        entries = [calendar_list_entry(c) for c in owned_calendars(st, email)]
    start = 0
    token = request.args.get("pageToken")
    if token:
        start = read_page_token(token, {"l": "calendarList"}, {"o": int})["o"]
    page = entries[start:start + max_results]
    out = {"kind": "calendar#calendarList", "etag": f'"{len(entries)}"', "items": page}
    if start + max_results < len(entries):
        out["nextPageToken"] = page_token({"l": "calendarList", "o": start + max_results})
    else:
        out["nextSyncToken"] = "CLgs" + str(int(time.time()))
    return json_response(out)


# -- colors -----------------------------------------------------------------------------------
#: Google's fixed palettes (colors.get): event colours by colorId, and the first calendar ones
EVENT_COLORS = {
    "1": "#a4bdfc", "2": "#7ae7bf", "3": "#dbadff", "4": "#ff887c", "5": "#fbd75b",
    "6": "#ffb878", "7": "#46d6db", "8": "#e1e1e1", "9": "#5484ed", "10": "#51b749",
    "11": "#dc2127",
}
CALENDAR_COLORS = {"14": "#9fe1e7"}


@bp.get("/colors")
def colors_get():
    caller(CALENDARS_READ)

    def palette(colors):
        return {cid: {"background": bg, "foreground": "#1d1d1d"} for cid, bg in colors.items()}
    return json_response({"kind": "calendar#colors", "updated": "2012-02-14T00:00:00.000Z",
                          "calendar": palette(CALENDAR_COLORS),
                          "event": palette(EVENT_COLORS)})


@bp.get("/users/me/calendarList/<calendarId>")
def calendar_list_get(calendarId):
    email = caller(CALENDARS_READ)
    st = store()
    with st.lock:
        return json_response(calendar_list_entry(calendar_for(st, email, calendarId)))


@bp.post("/calendars")
def calendars_insert():
    email = caller(CALENDARS_WRITE)
    body = json_body()
    st = store()
    with st.tx():
        return json_response(calendar_resource(insert_calendar(st, email, body)))


@bp.get("/calendars/<calendarId>")
def calendars_get(calendarId):
    email = caller(CALENDARS_READ)
    st = store()
    with st.lock:
        return json_response(calendar_resource(calendar_for(st, email, calendarId)))


@bp.route("/calendars/<calendarId>", methods=["PATCH", "PUT"])
def calendars_patch(calendarId):
    email = caller(CALENDARS_WRITE)
    body = json_body()
    st = store()
    with st.tx():
        cal = calendar_for(st, email, calendarId)
        return json_response(calendar_resource(
            patch_calendar(st, cal, body, replace=request.method == "PUT")))


@bp.delete("/calendars/<calendarId>")
def calendars_delete(calendarId):
    email = caller(CALENDARS_WRITE)
    st = store()
    with st.tx():
        cal = calendar_for(st, email, calendarId)
        if not cal.get("primary"):
            events_ops().calendar_deleted(cal)
        delete_calendar(st, cal)
    return "", 204


# -- events --------------------------------------------------------------------------------------
def _matches(res, terms, private, shared):
    if terms:
        hay = " ".join(str(res.get(k) or "") for k in ("summary", "description", "location"))
        for a in res.get("attendees") or []:
            hay += " " + str(a.get("email", "")) + " " + str(a.get("displayName", ""))
        org = res.get("organizer") or {}
        hay += " " + str(org.get("email", "")) + " " + str(org.get("displayName", ""))
        hay = hay.lower()
        if not all(t in hay for t in terms):
            return False
    props = res.get("extendedProperties") or {}
    for wanted, have in ((private, props.get("private") or {}),
                         (shared, props.get("shared") or {})):
        for k, v in wanted:
            if have.get(k) != v:
                return False
    return True


def _prop_filters(name):
    out = []
    for raw in request.args.getlist(name):
        if "=" not in raw:
            raise bad_request(f"Invalid value for: {name}", "invalid", location=name)
        k, v = raw.split("=", 1)
        out.append((k, v))
    return out


def _filter_hash():
    parts = sorted((k, v) for k, v in request.args.items(multi=True)
                   if k not in ("pageToken", "maxResults", "alt", "prettyPrint", "fields"))
    return hashlib.sha1(repr(parts).encode()).hexdigest()[:10]


def list_events(st, ops, cal):
    """events.list: full or incremental, with cursor-based page tokens.

    Page tokens carry the sort key of the last item served, so writes between pages can't
    make a page skip an unchanged event; the sync token handed out on the last page is the
    calendar's change sequence as of the first page."""
    args = request.args
    max_results = int_arg("maxResults", 250, 1, 2500, clamp_hi=True)
    single = bool_arg("singleEvents", False)
    show_deleted = bool_arg("showDeleted", None)
    order_by = args.get("orderBy")
    sync = args.get("syncToken")
    token = args.get("pageToken")
    if order_by not in (None, "", "startTime", "updated"):
        raise bad_request("Invalid value for: orderBy", "invalidParameter", location="orderBy")
    if sync:
        bad = [p for p in SYNC_FORBIDDEN if args.get(p)]
        if bad or show_deleted is False:
            name = bad[0] if bad else "showDeleted"
            raise bad_request(f"The parameter '{name}' is not allowed with syncToken.",
                              "invalid", location=name)
    if order_by == "startTime" and not single:
        raise bad_request("The requested ordering is not available for the particular query.",
                          "invalid", location="orderBy")
    tmin, tmax = time_arg("timeMin"), time_arg("timeMax")
    if tmin and tmax and tmax <= tmin:
        raise bad_request("The specified time range is empty.", "timeRangeEmpty",
                          location="timeMax")
    updated_min = time_arg("updatedMin")
    terms = [t for t in (args.get("q") or "").lower().split() if t]
    private, shared = _prop_filters("privateExtendedProperty"), _prop_filters(
        "sharedExtendedProperty")
    uid = args.get("iCalUID")

    fhash = _filter_hash()
    since = read_sync_token(st, cal, sync) if sync else None
    snapshot, after = cal["seq"], None
    if token:
        data = read_page_token(token, {"c": cal["id"], "e": st.epoch, "h": fhash},
                               {"s": int, "k": list})
        snapshot, after = data["s"], data["k"]
    events = st.events.get(cal["id"], {})
    keyed = []

    def key_for(res, rec, start):
        if since is not None:
            return [rec["seq"], start]
        if order_by == "startTime":
            return [start, rec["n"], res["id"]]
        if order_by == "updated":
            return [res.get("updated", ""), rec["n"], res["id"]]
        return [rec["n"], start]

    if since is not None:
        # Incremental: only what changed since the token, deletions included.
        for eid in st.log(cal["id"]).since(since):
            rec = events.get(eid)
            if rec is None:
                continue
            res = rec["res"]
            if single and res.get("recurringEventId") and res["recurringEventId"] in events:
                master = events[res["recurringEventId"]]["res"]
                if master.get("recurrence") and master.get("status") != "cancelled":
                    keyed.append((key_for(res, rec, rec["s"]), res))
                    continue
            if single and res.get("recurrence") and res.get("status") != "cancelled":
                for inst in ops.expand(cal, res, show_deleted=True):
                    keyed.append((key_for(inst, rec, inst.get("_start", rec["s"])), inst))
                continue
            keyed.append((key_for(res, rec, rec["s"]), res))
    else:
        tmin_ts = tmin.timestamp() if tmin else None
        tmax_ts = tmax.timestamp() if tmax else None
        upd_ts = updated_min.timestamp() if updated_min else None
        # With updatedMin, deletions since then are included whatever showDeleted says.
        include_deleted = bool(show_deleted) or upd_ts is not None
        for rec in events.values():
            res = rec["res"]
            if uid is not None and res.get("iCalUID") != uid:
                continue
            if upd_ts is not None and rec["u"] < upd_ts:
                continue
            cancelled = res.get("status") == "cancelled"
            if cancelled and not include_deleted:
                continue
            if single and res.get("recurringEventId") and res["recurringEventId"] in events \
                    and events[res["recurringEventId"]]["res"].get("recurrence"):
                continue  # overlaid on its series' expansion below
            if (tmin_ts is not None and rec["e"] <= tmin_ts) or \
                    (tmax_ts is not None and rec["s"] >= tmax_ts):
                continue
            if single and res.get("recurrence") and not cancelled:
                for inst in ops.expand(cal, res, tmin, tmax, include_deleted):
                    if _matches(inst, terms, private, shared):
                        keyed.append((key_for(inst, rec, inst.get("_start", rec["s"])), inst))
                continue
            if _matches(res, terms, private, shared):
                keyed.append((key_for(res, rec, rec["s"]), res))
    keyed.sort(key=lambda kv: kv[0])
    if after is not None:
        try:
            keyed = [kv for kv in keyed if kv[0] > after]
        except TypeError:  # a forged cursor of the wrong shape
            raise bad_request("Invalid page token.", "invalid", location="pageToken")
    page = keyed[:max_results]
    items = []
    for _, res in page:
        if "_start" in res:
            res = {k: v for k, v in res.items() if k != "_start"}
        items.append(res)
    out = {"kind": "calendar#events", "etag": f'"{cal["seq"]}"', "summary": cal["summary"],
           "description": cal.get("description", ""), "updated": now_rfc3339(),
           "timeZone": cal["timeZone"], "accessRole": "owner",
           "defaultReminders": [{"method": "popup", "minutes": 10}] if cal.get("primary")
           else [], "items": items}
    if len(keyed) > max_results:
        out["nextPageToken"] = page_token({"c": cal["id"], "e": st.epoch, "h": fhash,
                                           "s": snapshot, "k": page[-1][0]})
    else:
        out["nextSyncToken"] = sync_token(st, cal, snapshot)
    return out


def _conference_version():
    """conferenceDataVersion: 0 (default) ignores conferenceData in the body, 1 honours it."""
    return int_arg("conferenceDataVersion", 0, 0, 1)


@bp.get("/calendars/<calendarId>/events")
def events_list(calendarId):
    email = caller(EVENTS_READ)
    st = store()
    with st.lock:
        cal = calendar_for(st, email, calendarId)
        return json_response(list_events(st, events_ops(), cal))


@bp.post("/calendars/<calendarId>/events")
def events_insert(calendarId):
    email = caller(EVENTS_WRITE)
    body = json_body()
    st = store()
    with st.tx():
        cal = calendar_for(st, email, calendarId)
        created = events_ops().insert(cal, body, email, _conference_version())
        outbox.record(st, "invitation", cal["id"], created, email)
        return json_response(created)


@bp.post("/calendars/<calendarId>/events/import")
def events_import(calendarId):
    email = caller(EVENTS_WRITE)
    body = json_body()
    st = store()
    with st.tx():
        cal = calendar_for(st, email, calendarId)
        return json_response(events_ops().import_(cal, body, email, _conference_version()))


@bp.get("/calendars/<calendarId>/events/<eventId>")
def events_get(calendarId, eventId):
    email = caller(EVENTS_READ)
    st = store()
    with st.lock:
        cal = calendar_for(st, email, calendarId)
        res = events_ops().get(cal, eventId)
    if request.headers.get("If-None-Match") == res.get("etag"):
        return "", 304
    return json_response(res)


@bp.route("/calendars/<calendarId>/events/<eventId>", methods=["PUT", "PATCH"])
def events_write(calendarId, eventId):
    email = caller(EVENTS_WRITE)
    body = json_body()
    st = store()
    with st.tx():
        cal = calendar_for(st, email, calendarId)
        ops = events_ops()
        if_match = request.headers.get("If-Match")
        version = _conference_version()
        if request.method == "PUT":
            written = ops.update(cal, eventId, body, email, if_match,
                                 conference_version=version)
        else:
            written = ops.patch(cal, eventId, body, email, if_match, conference_version=version)
        outbox.record(st, "update", cal["id"], written, email)
        return json_response(written)


@bp.delete("/calendars/<calendarId>/events/<eventId>")
def events_delete(calendarId, eventId):
    email = caller(EVENTS_WRITE)
    st = store()
    with st.tx():
        cal = calendar_for(st, email, calendarId)
        ops = events_ops()
        before = ops.get(cal, eventId)
        ops.delete(cal, eventId, request.headers.get("If-Match"))
        outbox.record(st, "cancellation", cal["id"], before, email)
    return "", 204


@bp.post("/calendars/<calendarId>/events/<eventId>/move")
def events_move(calendarId, eventId):
    email = caller(EVENTS_WRITE)
    dest_id = request.args.get("destination")
    if not dest_id:
        raise bad_request("Required parameter: destination", "required", location="destination")
    st = store()
    with st.tx():
        cal = calendar_for(st, email, calendarId)
        dest = calendar_for(st, email, dest_id)
        return json_response(events_ops().move(cal, eventId, dest, email))


@bp.get("/calendars/<calendarId>/events/<eventId>/instances")
def events_instances(calendarId, eventId):
    email = caller(EVENTS_READ)
    max_results = int_arg("maxResults", 250, 1, 2500, clamp_hi=True)
    show_deleted = bool_arg("showDeleted", False)
    tmin, tmax = time_arg("timeMin"), time_arg("timeMax")
    original = request.args.get("originalStart")
    st = store()
    with st.lock:
        cal = calendar_for(st, email, calendarId)
        rec = st.events.get(cal["id"], {}).get(eventId)
        if rec is None:
            raise not_found("Not Found")
        master = rec["res"]
        if not master.get("recurrence"):
            items = [master]
        elif master.get("status") == "cancelled" and not show_deleted:
            raise ApiError(410, "deleted", "Resource has been deleted")
        else:
            items = events_ops().expand(cal, master, tmin, tmax, show_deleted)
        if original:
            items = [i for i in items if (i.get("originalStartTime") or {}).get("dateTime",
                     (i.get("originalStartTime") or {}).get("date")) == original]
        items = [{k: v for k, v in i.items() if k != "_start"} for i in items]
        start = 0
        fhash = _filter_hash()
        token = request.args.get("pageToken")
        if token:
            start = read_page_token(token, {"c": cal["id"], "h": fhash, "i": eventId},
                                    {"o": int})["o"]
        page = items[start:start + max_results]
        out = {"kind": "calendar#events", "etag": master["etag"], "summary": cal["summary"],
               "updated": now_rfc3339(), "timeZone": cal["timeZone"], "accessRole": "owner",
               "defaultReminders": [], "items": page}
        if start + max_results < len(items):
            out["nextPageToken"] = page_token({"c": cal["id"], "h": fhash, "i": eventId,
                                               "o": start + max_results})
        return json_response(out)


# -- free/busy -----------------------------------------------------------------------------------
@bp.post("/freeBusy")
def freebusy_query():
    email = caller(FREEBUSY)
    body = json_body()
    st = store()
    with st.lock:
        return json_response(freebusy.query(st, events_ops(), email, body))


# -- push channels -------------------------------------------------------------------------------
@bp.post("/calendars/<calendarId>/events/watch")
def events_watch(calendarId):
    email = caller(EVENTS_READ)
    body = json_body()
    for key in ("id", "address"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise bad_request(f"Required: {key}", "required")
    if body.get("type", "web_hook") not in ("web_hook", "webhook"):
        raise bad_request("Invalid value for: type", "invalid")
    if not body["address"].startswith(("https://", "http://")):
        raise bad_request("WebHook callback must be HTTPS: " + body["address"],
                          "push.webhookUrlNotHttps")
    st = store()
    with st.tx():
        cal = calendar_for(st, email, calendarId)
        if body["id"] in st.channels:
            raise bad_request(f"Channel id {body['id']} not unique", "channelIdNotUnique")
        expiration = body.get("expiration") or int((time.time() + 7 * 86400) * 1000)
        if isinstance(expiration, bool) or not str(expiration).isdigit():
            raise bad_request("Invalid value for: expiration", "invalid",
                              location="expiration")
        ch = {"id": body["id"], "calendarId": cal["id"], "owner": email,
              "address": body["address"], "token": body.get("token"),
              "resourceId": new_channel_resource_id(),
              "resourceUri": request.host_url + "calendar/v3/calendars/" + cal["id"] +
              "/events?alt=json",
              "expiration": str(expiration), "messageNumber": 0}
        st.channels[ch["id"]] = ch
        st.dirty("channel", ch["id"])
    current_app.config["NOTIFIER"].channel_created(ch["id"])
    out = {"kind": "api#channel", "id": ch["id"], "resourceId": ch["resourceId"],
           "resourceUri": ch["resourceUri"], "expiration": ch["expiration"]}
    if ch["token"]:
        out["token"] = ch["token"]
    return json_response(out)


@bp.post("/channels/stop")
def channels_stop():
    email = caller(ALL_SCOPES)
    body = json_body()
    st = store()
    with st.tx():
        ch = st.channels.get(body.get("id") or "")
        if ch is None or ch["owner"] != email or \
                (body.get("resourceId") and body["resourceId"] != ch["resourceId"]):
            raise not_found(f"Channel '{body.get('id')}' not found for project")
        st.delete("channel", ch["id"])
    return "", 204
