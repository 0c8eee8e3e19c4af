"""Request helpers shared by the Calendar and People blueprints."""
import json
from datetime import datetime

from flask import Response, current_app, request

from .control import check_rate_limit
from .errors import ApiError, bad_request
from .oauth import bearer_record

CAL = "https://www.googleapis.com/auth/calendar"
CAL_RO = CAL + ".readonly"
CAL_EVENTS = CAL + ".events"
CAL_EVENTS_RO = CAL + ".events.readonly"
CAL_FREEBUSY = CAL + ".freebusy"
CAL_EVENTS_FREEBUSY = CAL + ".events.freebusy"
CONTACTS = "https://www.googleapis.com/auth/contacts"
CONTACTS_RO = CONTACTS + ".readonly"

# Which scopes open which endpoints (any one suffices), as in the discovery documents.
CALENDARS_READ = {CAL, CAL_RO}
CALENDARS_WRITE = {CAL}
EVENTS_READ = {CAL, CAL_RO, CAL_EVENTS, CAL_EVENTS_RO}
EVENTS_WRITE = {CAL, CAL_EVENTS}
FREEBUSY = {CAL, CAL_RO, CAL_FREEBUSY, CAL_EVENTS_FREEBUSY}
PEOPLE_READ = {CONTACTS, CONTACTS_RO}
PEOPLE_WRITE = {CONTACTS}


def store():
    return current_app.config["STORE"]


def caller(scopes):
    """The email of the account whose valid token made this request (401/403 otherwise;
    403/429 when the sim's per-account rate limit is on and exceeded)."""
    email = bearer_record(scopes)["email"]
    check_rate_limit(email)
    return email


def json_body(required=True):
    raw = request.get_data(cache=True)
    if not raw.strip():
        if required:
            raise bad_request("Required", "required")
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError):
        raise ApiError(400, "parseError", "Parse Error")
    if not isinstance(body, dict):
        raise ApiError(400, "parseError", "Parse Error")
    return body


def json_response(data, status=200):
    return Response(json.dumps(data, separators=(",", ":")), status=status,
                    mimetype="application/json")


def int_arg(name, default, lo=None, hi=None, clamp_hi=False):
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    try:
        value = int(raw)
    except ValueError:
        raise bad_request(f"Invalid value '{raw}'. Values must match the following regular "
                          f"expression: '-?\\d+'", "invalidParameter", location=name)
    if lo is not None and value < lo:
        raise bad_request(f"Invalid value '{raw}'. Values must be within the range: "
                          f"[{lo}, {hi}]", "invalidParameter", location=name)
    if hi is not None and value > hi:
        if clamp_hi:
            return hi
        raise bad_request(f"Invalid value '{raw}'. Values must be within the range: "
                          f"[{lo}, {hi}]", "invalidParameter", location=name)
    return value


def bool_arg(name, default=None):
    raw = request.args.get(name)
    if raw is None or raw == "":
        return default
    if raw.lower() in ("true", "1"):
        return True
    if raw.lower() in ("false", "0"):
        return False
    raise bad_request(f"Invalid boolean value: '{raw}'.", "invalidBoolean", location=name)


def time_arg(name):
    raw = request.args.get(name)
    if raw is None or raw == "":
        return None
    try:
        dt = datetime.fromisoformat(raw.replace("z", "Z"))
    except ValueError:
        dt = None
    if dt is None or dt.tzinfo is None:
        raise bad_request("Bad Request", "badRequest", location=name)
    return dt
