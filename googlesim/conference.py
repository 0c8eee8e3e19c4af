"""Google Meet conferences on events (conferenceData, hangoutLink).

As at Google: a write's ``conferenceData`` counts only with ``conferenceDataVersion=1``
(version 0, the default, ignores it and keeps what the event has); a ``createRequest``
with ``conferenceSolutionKey.type: hangoutsMeet`` and a new ``requestId`` creates a
conference; the same ``requestId`` again keeps the existing one. ``hangoutLink`` is
read-only, derived from the conference's video entry point.
"""
import secrets
import string

from .errors import bad_request

SOLUTION = {"key": {"type": "hangoutsMeet"}, "name": "Google Meet",
            "iconUri": "https://fonts.gstatic.com/s/i/productlogos/meet_2020q4/v6/"
                       "web-512dp/logo_meet_2020q4_color_2x_web_512dp.png"}


def _letters(n):
    return "".join(secrets.choice(string.ascii_lowercase) for _ in range(n))


def new_conference(request_id):
    code = f"{_letters(3)}-{_letters(4)}-{_letters(3)}"
    pin = "".join(secrets.choice(string.digits) for _ in range(9))
    phone = "+1 555-01" + "".join(secrets.choice(string.digits) for _ in range(2))
    return {
        "createRequest": {"requestId": request_id,
                          "conferenceSolutionKey": {"type": "hangoutsMeet"},
                          "status": {"statusCode": "success"}},
        "entryPoints": [
            {"entryPointType": "video", "uri": f"https://meet.google.com/{code}",
             "label": f"meet.google.com/{code}"},
            {"entryPointType": "more", "uri": f"https://tel.meet/{code}?pin={pin}",
             "pin": pin},
            {"entryPointType": "phone", "uri": "tel:" + phone.replace(" ", "-"),
             "label": phone, "pin": pin, "regionCode": "US"}],
        "conferenceSolution": {"key": dict(SOLUTION["key"]), "name": SOLUTION["name"],
                               "iconUri": SOLUTION["iconUri"]},
        "conferenceId": code}


def _create_request(data):
    if not isinstance(data, dict):
        raise bad_request("Invalid value for: conferenceData")
    req = data.get("createRequest")
    if req is None:
        return None
    if not isinstance(req, dict) or not isinstance(req.get("requestId"), str) or \
            not req["requestId"]:
        raise bad_request("Invalid conference create request.", "invalid")
    kind = (req.get("conferenceSolutionKey") or {}).get("type") \
        if isinstance(req.get("conferenceSolutionKey"), dict) else None
    if kind != "hangoutsMeet":
        raise bad_request("Invalid conference type value.", "invalid")
    return req


def apply(ev, current, sent, version, replace):
    """Settle ``ev``'s conferenceData for a write: ``current`` is the stored event (None
    when new), ``sent`` the body as the client sent it, ``replace`` true for insert/update
    (the body is the whole event), false for patch (``ev`` is current merged with it)."""
    current = current or {}
    if version != 1 or (not replace and "conferenceData" not in sent):
        if "conferenceData" in current:
            ev["conferenceData"] = current["conferenceData"]
        else:
            ev.pop("conferenceData", None)
    elif sent.get("conferenceData") is not None:
        req = _create_request(sent["conferenceData"])
        old = current.get("conferenceData") or {}
        if req is not None:
            same = (old.get("createRequest") or {}).get("requestId") == req["requestId"]
            ev["conferenceData"] = old if same and old else new_conference(req["requestId"])
    derive_hangout_link(ev)


def derive_hangout_link(ev):
    data = ev.get("conferenceData")
    link = None
    if isinstance(data, dict) and \
            ((data.get("conferenceSolution") or {}).get("key") or {}).get("type") == \
            "hangoutsMeet":
        link = next((e.get("uri") for e in data.get("entryPoints") or []
                     if isinstance(e, dict) and e.get("entryPointType") == "video"), None)
    if link:
        ev["hangoutLink"] = link
    else:
        ev.pop("hangoutLink", None)
