"""Plans an export: which activities of a mapping become, change or leave Google events."""
from __future__ import annotations

from portal.sync.core import merge as m
from portal.sync.core.merge import BASE_VERSION
from portal.sync.calendar.plan import (
    ANSWER, Action, DELETE_EVENT, FIELD_GROUPS, INSERT_EVENT, LINK_DETACHED, MOVE_EVENT,
    ORIGIN_GOOGLE, PATCH_EVENT, PERSONAL_GROUPS, REBASE, ROLE_GUEST, ROLE_ORGANIZER,
    SHARED_GROUPS, SKIP, STATUS_NOT_HELD, UNLINK,
)
from portal.sync.calendar.snapshots import Context
from portal.sync.calendar.fields import (
    crm_state, event_body, google_event_id, patch_for, rights, usable_base,
)


# -- export ---------------------------------------------------------------------------------------

def exportable(activity, mapping):
    """Why an activity is not exported to this mapping's calendar, or None when it is."""
    if not activity.show_in_calendar:
        return "not shown in calendar"
    if mapping.activity_type_id is not None and activity.activity_type_id != mapping.activity_type_id:
        return "type not mapped to this calendar"
    if activity.all_day and activity.start_date is None:
        return "no date"
    if not activity.all_day and activity.start_at is None:
        return "no start time"
    return None


def before_sync_from(activity, mapping):
    """True when the activity (for a series: its last occurrence) is before *Synchronize
    from*: such activities are left alone both ways."""
    if mapping.sync_from is None:
        return False
    if activity.recurring:
        last = activity.ends_on()
        return last is not None and last < mapping.sync_from
    starts = activity.starts_on()
    return starts is not None and starts < mapping.sync_from


#: why a linked activity left this calendar although its type and flags still match
OUT_OF_SCOPE = "no longer organized by this calendar's user"


def plan_export(mapping, activities, links, out_of_scope=frozenset(), ctx=None):
    """Plan CRM -> Google for one mapping.

    ``activities``: snapshots of the mapping's candidates (its type, organized by its user)
    plus every linked activity that changed (so a type change or an unticked *Show in
    calendar* is seen). ``links``: this mapping's links, including tombstones whose activity
    was deleted (``activity_id`` None).

    Rules: new eligible activities made in the CRM are inserted with our own event id
    (activities made in Google never are: they are only written to their own event);
    changed ones send the groups the CRM changed since the last sync and this link may write
    (see :func:`rights`), unless held; deleted, hidden or re-typed ones leave this calendar
    (re-typed ones move to the calendar of their new type when the user maps it); a guest's
    copy is never deleted or moved, only unlinked; activities before *Synchronize from* are
    left alone. ``out_of_scope``: ids of activities no longer this user's (handed to another
    organizer): their events leave this calendar like hidden ones.
    """
    ctx = ctx or Context()
    actions = []
    by_id = {a.id: a for a in activities if a.id is not None}
    linked_ids = set()
    for link in links:
        if link.activity_id is not None:
            linked_ids.add(link.activity_id)
        activity = by_id.get(link.activity_id) if link.activity_id is not None else None
        if activity is None:
            if link.activity_id is None:
                actions.extend(_plan_tombstone(mapping, link))
            continue  # linked activity not loaded (unchanged): nothing to do
        if link.role == ROLE_GUEST:
            actions.extend(_plan_guest_export(mapping, link, activity, ctx))
            continue
        why_not = exportable(activity, mapping)
        if why_not is None and activity.id in out_of_scope:
            why_not = OUT_OF_SCOPE
        if why_not is not None:
            actions.extend(_plan_leaving(mapping, link, activity, why_not))
            continue
        if activity.version == link.synced_version:
            continue  # unchanged since Google acknowledged it: nothing to send
        # A skip is said once per CRM edit, not on every later run: the link records the
        # version it was about (the merge base stays, so nothing is lost if it returns).
        if before_sync_from(activity, mapping):
            actions.append(Action(SKIP, activity_id=activity.id, event_id=link.event_id,
                                  link_id=link.id, synced_version=activity.version,
                                  reason="before Synchronize from"))
            continue
        if activity.held:
            actions.append(Action(SKIP, activity_id=activity.id, event_id=link.event_id,
                                  link_id=link.id, synced_version=activity.version,
                                  reason="held activities are no longer updated"))
            continue
        if link.state == LINK_DETACHED:
            # Deleted in Google, edited again in the CRM: bring it back under the same id
            # (the client turns the 409 into a fetch and an undeleting patch).
            actions.append(Action(INSERT_EVENT, activity_id=activity.id,
                                  activity_uid=activity.uid, link_id=link.id,
                                  event_id=link.event_id,
                                  body=event_body(activity, link.event_id,
                                                  derived_exdates=link.google_exdates),
                                  base=_sent_base(activity, link, None),
                                  reason="edited again after deletion in Google"))
            continue
        actions.extend(_plan_changed_activity(mapping, link, activity, ctx))
    for activity in activities:
        if activity.id in linked_ids or activity.origin == ORIGIN_GOOGLE:
            continue
        if exportable(activity, mapping) is not None or activity.id in out_of_scope:
            continue
        if before_sync_from(activity, mapping):
            continue
        if activity.status == STATUS_NOT_HELD:
            # Not Held maps to a cancelled event: creating one would only make a tombstone.
            # Nothing to say on every run either (the activity's page says why).
            continue
        event_id = google_event_id(activity.uid)
        actions.append(Action(INSERT_EVENT, activity_id=activity.id, activity_uid=activity.uid,
                              event_id=event_id, body=event_body(activity, event_id),
                              base=_sent_base(activity, None, None), role=ROLE_ORGANIZER,
                              reason="new in CRM"))
    return actions


def _sent_base(activity, link, user_id):
    state = crm_state(activity, user_id, link.google_exdates if link is not None else ())
    state["v"] = BASE_VERSION
    return state


def _plan_tombstone(mapping, link):
    """The activity was deleted in the CRM."""
    if link.state == LINK_DETACHED:
        return [Action(UNLINK, link_id=link.id, event_id=link.event_id,
                       reason="deleted in both")]
    if link.role == ROLE_GUEST:
        # Someone else's meeting: the CRM copy is gone, their event stays theirs.
        return [Action(UNLINK, link_id=link.id, event_id=link.event_id,
                       reason="deleted in CRM; the organizer's event stays in Google")]
    return [Action(DELETE_EVENT, link_id=link.id, event_id=link.event_id,
                   if_match=link.etag or None, reason="deleted in CRM")]


def _plan_leaving(mapping, link, activity, why_not):
    """A linked activity no longer belongs in this calendar."""
    if link.state == LINK_DETACHED:
        return [Action(UNLINK, link_id=link.id, activity_id=activity.id,
                       event_id=link.event_id, reason=why_not)]
    if activity.activity_type_id != mapping.activity_type_id and activity.show_in_calendar:
        target = mapping.calendar_for_type(activity.activity_type_id)
        if target is not None and target[1] != mapping.calendar_id:
            return [Action(MOVE_EVENT, link_id=link.id, activity_id=activity.id,
                           event_id=link.event_id,
                           target={"mapping_id": target[0], "calendar_id": target[1],
                                   "activity_type_id": activity.activity_type_id},
                           reason="type changed: moved to the calendar of its new type")]
    if activity.origin == ORIGIN_GOOGLE:
        # Made in Google: the event is the user's own; leaving the sync does not delete it.
        return [Action(UNLINK, link_id=link.id, activity_id=activity.id,
                       event_id=link.event_id, reason=why_not + "; left in Google")]
    return [Action(DELETE_EVENT, link_id=link.id, activity_id=activity.id,
                   event_id=link.event_id, reason=why_not)]


def _plan_changed_activity(mapping, link, activity, ctx):
    """An organizer's copy whose activity changed in the CRM: send what changed."""
    allowed = rights(link, activity, mapping, ctx)
    crm_now = crm_state(activity, None, link.google_exdates)
    base = usable_base(link, crm_now)
    if base is None:
        # No base: send every group this link may write (the CRM is master here).
        groups = [g for g in SHARED_GROUPS + PERSONAL_GROUPS if g in allowed.write]
        base = {}
    else:
        groups = [g for g in FIELD_GROUPS if g in allowed.write and crm_now[g] != base.get(g)]
    return [_patch_or_rebase(mapping, link, activity, groups, base, crm_now, ctx,
                             "changed in CRM")]


def _plan_guest_export(mapping, link, activity, ctx):
    if link.state == LINK_DETACHED or activity.version == link.synced_version:
        return []
    if activity.held:
        return [Action(SKIP, activity_id=activity.id, event_id=link.event_id, link_id=link.id,
                       synced_version=activity.version,
                       reason="held activities are no longer updated")]
    allowed = rights(link, activity, mapping, ctx)
    crm_now = crm_state(activity, mapping.user_id, link.google_exdates)
    base = usable_base(link, crm_now)
    if base is None:
        # Nothing agreed yet: the next import of this copy sets the base; never push a
        # guessed answer at Google.
        return [Action(REBASE, activity_id=activity.id, link_id=link.id,
                       event_id=link.event_id, synced_version=activity.version,
                       reason="waiting for Google's copy")]
    groups = m.changed_groups(FIELD_GROUPS, base, crm_now, allowed)
    return [_patch_or_rebase(mapping, link, activity, groups, base, crm_now, ctx,
                             "your answer changed in CRM" if groups == [ANSWER]
                             else "changed in CRM")]


def _patch_or_rebase(mapping, link, activity, groups, base, crm_now, ctx, reason):
    if not groups:
        return Action(REBASE, activity_id=activity.id, link_id=link.id,
                      event_id=link.event_id, synced_version=activity.version,
                      reason="nothing this calendar carries changed")
    new_base = dict(base)
    for group in groups:
        new_base[group] = crm_now[group]
    new_base["v"] = BASE_VERSION
    return Action(PATCH_EVENT, activity_id=activity.id, activity_uid=activity.uid,
                  link_id=link.id, event_id=link.event_id,
                  body=patch_for(activity, groups, link, mapping, base, people=ctx.people),
                  if_match=link.etag or None, base=new_base,
                  reason=reason + ": " + ", ".join(groups))
