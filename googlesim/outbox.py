"""The emails Google would send to guests when a write asks for ``sendUpdates``.

Google mails invitations, updates and cancellations to attendees when a client passes
``sendUpdates=all`` (every guest) or ``externalOnly`` (guests outside Google; here: emails
that are not sandbox accounts). googlesim sends nothing; it records what would have gone out
so tests can tell a notifying write from a silent one (``GET /_sim/outbox``). The default,
and ``none``, records nothing. The outbox lives in memory only and a reset empties it.
"""
from flask import request

from .store import now_rfc3339


def _is_guest_copy(st, calendar_id, event_id):
    events = st.events.get(calendar_id, {})
    rec = events.get(event_id) or events.get(str(event_id).split("_", 1)[0])
    return bool(rec and rec.get("copy_of"))


def record(st, kind, calendar_id, event, actor):
    """Note the mails a write with the request's ``sendUpdates`` would send. A guest
    writing to their copy of a meeting (answering, declining by deleting) mails only the
    organizer, a ``reply``."""
    mode = request.args.get("sendUpdates") or "none"
    if mode not in ("all", "externalOnly"):
        return
    if _is_guest_copy(st, calendar_id, event.get("id")):
        organizer = ((event.get("organizer") or {}).get("email") or "").lower()
        if organizer and (mode == "all" or organizer not in st.accounts):
            st.outbox.append({"to": organizer, "kind": "reply", "calendarId": calendar_id,
                              "eventId": event.get("id"), "summary": event.get("summary", ""),
                              "sentBy": actor, "at": now_rfc3339()})
        return
    for guest in event.get("attendees") or []:
        email = (guest.get("email") or "").lower()
        if not email or email == actor or guest.get("organizer") or guest.get("self"):
            continue
        if mode == "externalOnly" and email in st.accounts:
            continue
        st.outbox.append({"to": email, "kind": kind, "calendarId": calendar_id,
                       "eventId": event.get("id"), "summary": event.get("summary", ""),
                       "sentBy": actor, "at": now_rfc3339()})
