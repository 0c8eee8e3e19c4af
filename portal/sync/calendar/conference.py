"""Video conferences on events (Google's ``conferenceData``), in the CRM's terms: pure.

The CRM keeps one yes/no (the activity has a conference) plus the link to join it and the
solution's name, read from Google. Only a Meet is ever *asked for* from the CRM: Google
creates it from a ``createRequest`` (sent with ``conferenceDataVersion=1``, see
google/calendar_events.py); conferences of any other solution (Zoom, Teams add-ons...) are
Google's, imported and shown, never created or changed by the CRM."""
from __future__ import annotations

#: the conference solution the CRM asks Google for
MEET = "hangoutsMeet"
MEET_NAME = "Google Meet"


def request_id(activity):
    """A ``createRequest.requestId`` unique per activity and edit: Google treats a known
    id as "the same request again" (a retried insert keeps the Meet it made), a new one as a
    new conference (ticked again after unticking)."""
    return f"crm-{activity.uid.hex}-{activity.version}"


def create_request(activity):
    """The ``conferenceData`` asking Google for a new Meet for ``activity``."""
    return {"createRequest": {"requestId": request_id(activity),
                              "conferenceSolutionKey": {"type": MEET}}}


def state(on, url):
    """The conference as the merge compares it: the link to join it when one is known, else
    whether there is one. So a conference Google replaced (a Meet by a Zoom) or filled in
    late (a pending createRequest) is Google's change and reaches the CRM, while a CRM that
    asked for a Meet and has no link yet agrees with Google's pending one."""
    return (url or True) if on else False


def has_conference(resource):
    """Whether Google's event carries a conference (of any solution)."""
    data = (resource or {}).get("conferenceData")
    return bool(resource and (resource.get("hangoutLink") or (
        isinstance(data, dict) and (data.get("entryPoints") or data.get("conferenceId")
                                    or data.get("createRequest")))))


def join_link(resource):
    """(url, solution name) to join the event's conference; ("", "") without one.

    The video entry point first (any solution), else ``hangoutLink`` (Meet). The url is
    Google's data: pages show it as a link only through the ``google_href`` filter."""
    resource = resource or {}
    data = resource.get("conferenceData")
    data = data if isinstance(data, dict) else {}
    solution = data.get("conferenceSolution") if isinstance(
        data.get("conferenceSolution"), dict) else {}
    name = solution.get("name") if isinstance(solution.get("name"), str) else ""
    url = ""
    for entry in data.get("entryPoints") or ():
        if isinstance(entry, dict) and entry.get("entryPointType") == "video" \
                and isinstance(entry.get("uri"), str):
            url = entry["uri"]
            break
    if not url and isinstance(resource.get("hangoutLink"), str):
        url = resource["hangoutLink"]
        name = name or MEET_NAME
    if url and not name:
        key = (solution.get("key") or {}).get("type") if isinstance(
            solution.get("key"), dict) else None
        name = MEET_NAME if key == MEET else "Video call"
    return url[:2048], (name or "")[:200]
