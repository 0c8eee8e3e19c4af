"""The sync engine: pure planning, no Flask, no database, no HTTP.

Given snapshots of the CRM side (activities), the Google side (events) and the links between
them, the engine returns an explicit plan: a list of :class:`Action` objects that the runner
applies (Google writes through the client, CRM writes through the models). Keeping the rules
here, as plain functions over plain data, lets every rule be tested without an app, a
database or a network, and keeps the runner a thin loop.

Vocabulary
----------
* *origin*: where an activity was made. One made in the CRM (``crm``) is exported as a new
  event; one made in Google (``google``) is only ever written back to its own event, never
  copied into another calendar.
* *owner* of a link: who made the event (``crm``: our export, ``google``: someone in Google).
* *role* of a link: ``organizer`` when the link's calendar holds the organizer's copy of the
  meeting (Google lets this user change it), ``guest`` for a copy of someone else's meeting,
  which carries only this user's own answer (and their own reminders, which stay theirs).
* *field groups*: the units the sync compares and writes (``subject``, ``timing``,
  ``attendees``, ``reminders``, the user's ``answer``...). Both sides are described in the
  CRM's own terms (:func:`crm_state`, :func:`google_state`), so a value the CRM shows coarser
  than Google (a confidential event shown as private, an empty title) compares equal and is
  never written back.
* *base*: the field groups both sides agreed on at the last sync, remembered on the link.
  A group differing from the base changed on that side; a patch sends only the groups the
  CRM changed, so whatever else Google holds (colours, conference data, attachments, other
  reminders, a tentative status) survives.
* *authority*: a meeting's shared fields come from the organizer's copy when the organizer
  syncs it in the CRM; otherwise from the guests' copies. A guest's copy contributes its
  guest's answer; reminders are personal and only the CRM organizer's copy carries the
  activity's reminders.
"""
from portal.sync.calendar.export_planner import *  # noqa: F401,F403
from portal.sync.calendar.fields import *  # noqa: F401,F403
from portal.sync.calendar.import_planner import *  # noqa: F401,F403
from portal.sync.calendar.plan import *  # noqa: F401,F403
from portal.sync.calendar.snapshots import *  # noqa: F401,F403
from portal.sync.core.merge import (  # noqa: F401  (the conflict rules the plans speak of)
    BASE_VERSION, CONFLICT_CRM_WINS, CONFLICT_GOOGLE_WINS, CONFLICT_MOST_RECENT, CONFLICT_RULES,
    Rights,
)
