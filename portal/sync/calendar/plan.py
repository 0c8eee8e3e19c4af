"""The calendar engine's vocabulary: who owns a link, its role, the field groups the
sync compares, and the :class:`Action` steps a plan is made of."""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the snapshots module imports this one
    from portal.sync.calendar.snapshots import EventSnapshot

# -- constants ------------------------------------------------------------------------------------

OWNER_CRM = "crm"
OWNER_GOOGLE = "google"
ORIGIN_CRM = "crm"
ORIGIN_GOOGLE = "google"

LINK_ACTIVE = "active"
#: the event was deleted in Google and the activity kept: the link stays as a memory of the
#: synced version, so the activity is not re-exported unless it is edited again
LINK_DETACHED = "detached"

ROLE_ORGANIZER = "organizer"
ROLE_GUEST = "guest"


STATUS_PLANNED = "Planned"
STATUS_HELD = "Held"
STATUS_NOT_HELD = "Not Held"

NEEDS_ACTION = "needsAction"
ANSWERS = ("needsAction", "accepted", "tentative", "declined")

#: what the CRM shows for an event without a title (the CRM needs a subject)
NO_TITLE = "(no title)"

#: keys in the event's ``extendedProperties.private`` pointing back at the CRM
PROP_ACTIVITY_UID = "crmActivityUid"
PROP_MARKER = "crmPortal"
MARKER_VALUE = "portal-crm"

# Action kinds. Google-side actions carry an event body; CRM-side ones carry activity fields.
INSERT_EVENT = "insert_event"
PATCH_EVENT = "patch_event"
DELETE_EVENT = "delete_event"
#: move the event to another calendar of the same user (events.move: same id, guests kept)
MOVE_EVENT = "move_event"
CREATE_ACTIVITY = "create_activity"
UPDATE_ACTIVITY = "update_activity"
DELETE_ACTIVITY = "delete_activity"
#: tie an existing activity to an event (our own event, the same meeting, a reconnect)
LINK_ACTIVITY = "link_activity"
#: the link follows an event the user moved to another of their mapped calendars
MOVE_LINK = "move_link"
#: nothing to write on either side: remember Google's copy and the new base on the link
REBASE = "rebase"
#: forget a link, or keep it detached (the event is gone in Google, the activity kept)
UNLINK = "unlink"
#: a cancelled instance of a recurring series becomes an EXDATE on the series' activity
ADD_EXCEPTION = "add_exception"
#: both sides changed a group: a log record with both versions; the winning action follows
CONFLICT = "conflict"
#: each side changed different groups: a log record of what came from where
MERGED = "merged"
SKIP = "skip"

GOOGLE_ACTIONS = (INSERT_EVENT, PATCH_EVENT, DELETE_EVENT, MOVE_EVENT)

#: the groups of a meeting every copy shares (only the organizer, or guests allowed to
#: modify it, may change them in Google)
SHARED_GROUPS = ("subject", "description", "location", "status", "timing", "recurrence",
                 "attendees", "visibility", "conference")
#: personal to each copy: the CRM keeps its organizer's (Google keeps colours per attendee's
#: copy, like reminders)
PERSONAL_GROUPS = ("reminders", "color")
#: the link's user's own answer to the invitation (guest copies only)
ANSWER = "answer"
FIELD_GROUPS = SHARED_GROUPS + PERSONAL_GROUPS + (ANSWER,)

#: the activity fields each group covers (what an import writes)
GROUP_FIELDS = {
    "subject": ("subject",), "description": ("description",), "location": ("location",),
    "status": ("status",),
    "timing": ("all_day", "start_at", "end_at", "start_date", "end_date", "time_zone"),
    "recurrence": ("recurrence",), "attendees": ("attendees",),
    "visibility": ("visibility",), "reminders": ("reminders",), "color": ("color_id",),
    ANSWER: ("answer",),
    # compared as the link to join it (see conference.state); the name comes along
    "conference": ("conference", "conference_url", "conference_name"),
}


_B32_STANDARD = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567"
_B32_HEX = "0123456789abcdefghijklmnopqrstuv"
_TO_B32HEX = str.maketrans(_B32_STANDARD, _B32_HEX)



@dataclass
class Action:
    """One step of a plan. Only the fields relevant to ``kind`` are set."""

    kind: str
    activity_id: int | None = None
    activity_uid: uuid.UUID | None = None
    link_id: int | None = None
    event_id: str | None = None
    #: the event body to insert or patch
    body: dict | None = None
    #: the activity fields to create or update (from :func:`activity_fields`)
    fields: dict | None = None
    #: for UPDATE_ACTIVITY: the field groups to write (None: all of them)
    groups: tuple | None = None
    #: the Google event behind an import action (for the link's etag/updated/iCalUID)
    event: EventSnapshot | None = None
    #: an etag for If-Match on patch/delete (None: unconditional)
    if_match: str | None = None
    #: for LINK_ACTIVITY/CREATE_ACTIVITY: who owns the new link
    owner: str | None = None
    #: the link's role after this action
    role: str | None = None
    #: for CREATE_ACTIVITY/LINK_ACTIVITY: the CRM organizer the meeting belongs to
    organizer_id: int | None = None
    #: for ADD_EXCEPTION: the EXDATE line to add
    exdate: str | None = None
    #: for CREATE_ACTIVITY/UPDATE_ACTIVITY of a series: the EXDATE lines derived from
    #: Google's exceptions (the runner remembers them on the link)
    exdates: tuple = ()
    #: for CONFLICT/MERGED: {"crm": {...}, "google": {...}, "rule", "winner", "from_crm",
    #: "from_google", "both_changed"}
    conflict: dict | None = None
    #: for UNLINK of an activity kept in the CRM: the version the detached link records
    #: (the activity's own version: not re-exported unless edited again; an older one:
    #: the CRM's edit won over Google's delete and the export brings the event back)
    synced_version: int | None = None
    #: the field groups both sides agree on once the action is applied/acknowledged (the
    #: link's next base); None: leave the remembered one
    base: dict | None = None
    #: for MOVE_EVENT/MOVE_LINK: where the link goes ({"mapping_id", "calendar_id",
    #: "activity_type_id"})
    target: dict | None = None
    #: for UPDATE/REBASE from a copy the activity's shared fields come from: Google's
    #: answers of everyone on the meeting, {identity: responseStatus}
    answers: dict | None = None
    reason: str = ""

    @property
    def is_google_write(self):
        return self.kind in GOOGLE_ACTIONS
