"""Plans an import: what a listing of Google events does to the CRM's activities."""
from __future__ import annotations

from dataclasses import replace
from datetime import date
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from portal.crm.reminders import Reminders
from portal.sync.core import merge as m
from portal.sync.core.merge import BASE_VERSION
from portal.sync.calendar.plan import (
    ADD_EXCEPTION, Action, CONFLICT, CREATE_ACTIVITY, DELETE_ACTIVITY, DELETE_EVENT, FIELD_GROUPS,
    LINK_ACTIVE, LINK_ACTIVITY, LINK_DETACHED, MERGED, MOVE_LINK, ORIGIN_GOOGLE, OWNER_CRM, OWNER_GOOGLE,
    PATCH_EVENT, REBASE, ROLE_GUEST, ROLE_ORGANIZER, SHARED_GROUPS, SKIP, STATUS_NOT_HELD, UNLINK,
    UPDATE_ACTIVITY,
)
from portal.sync.calendar.times import zone_or_utc
from portal.sync.calendar.snapshots import Context, EventSnapshot, LinkSnapshot
from portal.sync.calendar.fields import (
    _answer_user, answers_of, _google_edit_time, _state_of_fields, activity_fields,
    crm_state, event_time, first_base, patch_for, recurrence_lines, rights, role_of,
    type_colour_as_agreed, usable_base,
    with_fields,
)


# -- import ---------------------------------------------------------------------------------------

def _exdate_line(event, default_time_zone):
    """The EXDATE line that removes an exception's original slot from its series: a date
    for an all-day series, local time with TZID for a zoned one, UTC with Z otherwise."""
    original = event.resource.get("originalStartTime") or {}
    if original.get("date"):
        return "EXDATE;VALUE=DATE:" + original["date"].replace("-", "")
    tz_name = original.get("timeZone") or default_time_zone or "UTC"
    when = event_time(original, tz_name)
    if when is None:
        return None
    try:
        tz = ZoneInfo(tz_name)
    except (ZoneInfoNotFoundError, ValueError):
        tz_name, tz = "UTC", ZoneInfo("UTC")
    if tz_name in ("UTC", "Etc/UTC", "GMT", "Etc/GMT"):
        return "EXDATE:" + when.strftime("%Y%m%dT%H%M%SZ")
    return f"EXDATE;TZID={tz_name}:" + when.astimezone(tz).strftime("%Y%m%dT%H%M%S")


def _with_exdates(fields, lines):
    """``fields`` with EXDATE ``lines`` appended to its recurrence (each once)."""
    current = list(recurrence_lines(fields.get("recurrence") or ""))
    current += [line for line in lines if line not in current]
    fields["recurrence"] = "\n".join(current)
    return fields


def _event_starts_before(event, sync_from, default_time_zone):
    if sync_from is None or event.resource.get("recurrence"):
        return False  # a series overlapping the window is wanted even if it began earlier
    start = event.resource.get("start") or {}
    if start.get("date"):
        return date.fromisoformat(start["date"]) < sync_from
    zone_name = start.get("timeZone") or default_time_zone
    when = event_time(start, zone_name)
    if when is None:
        return False
    return when.astimezone(zone_or_utc(zone_name)).date() < sync_from


#: why an event cannot become an activity: the CRM needs a timed activity not to end
#: before it starts (one such event must not stop the whole import)
NO_DURATION = "the event ends before it starts"


def _representable(fields):
    return fields["all_day"] or (fields["start_at"] is not None
                                 and fields["end_at"] is not None
                                 and fields["end_at"] >= fields["start_at"])


DELETED_IN_CRM = "made by the CRM for an activity deleted since"


def plan_import(mapping, events, links, activities, full_sync=False, other_links=(),
                ctx=None):
    """Plan Google -> CRM for one mapping.

    ``events``: what events.list returned (all pages); ``links``: this mapping's links;
    ``activities``: snapshots of the linked activities and of those the events may be
    (back-references, event ids, iCalUIDs); ``other_links``: links of other mappings with an
    event id or iCalUID among the events (the same meeting in someone else's calendar, or
    an event the user moved from another of their calendars).

    ``full_sync`` says the listing was complete (a successful full list after a 410 or the
    first sync): then active links whose event is missing are treated as deleted in Google.
    A partial or failed answer must never be passed as full.
    """
    ctx = ctx or Context()
    planner = ImportPlanner(mapping, links, activities, other_links, ctx)
    actions = []
    seen_ids = set()
    series_in_listing = {ev.id: ev for ev in events if not ev.recurring_event_id}
    exceptions = _exceptions_by_series(events, series_in_listing, planner.link_by_event,
                                       planner.activity_by_id, mapping.zone_for_events)
    for event in events:
        seen_ids.add(event.id)
        actions.extend(planner.plan_event(event, series_in_listing))
    if full_sync:
        for link in links:
            if link.event_id in seen_ids or link.state == LINK_DETACHED:
                continue
            activity = planner.activity_by_id.get(link.activity_id)
            if activity is not None and mapping.sync_from is not None:
                last = activity.ends_on()
                if last is not None and last < mapping.sync_from:
                    continue  # outside the listed window: absence means nothing
            gone = EventSnapshot(id=link.event_id, status="cancelled")
            actions.extend(planner.plan_cancelled(gone, link, "missing from a full listing"))
    actions.extend(_plan_exceptions(exceptions, actions, series_in_listing,
                                    planner.link_by_event, planner.activity_by_id))
    return actions


class ImportPlanner:
    """The per-listing indexes and rules of :func:`plan_import`."""

    def __init__(self, mapping, links, activities, other_links, ctx):
        self.mapping = mapping
        self.ctx = ctx
        self.link_by_event = {link.event_id: link for link in links}
        self.activity_by_id = {a.id: a for a in activities if a.id is not None}
        self.activity_by_uid = {a.uid: a for a in activities}
        self.activity_by_event_id = {}
        self.activity_by_ical = {}
        for activity in activities:
            if activity.google_event_id:
                self.activity_by_event_id.setdefault(activity.google_event_id, activity)
            if activity.ical_uid:
                self.activity_by_ical.setdefault(activity.ical_uid, activity)
        self.moved_from = {}   # event id -> the user's own link in another mapping
        self.link_by_ical = {}
        for link in other_links:
            if link.activity_id is None:
                continue
            if mapping.user_id is not None and link.user_id == mapping.user_id:
                self.moved_from.setdefault(link.event_id, link)
            elif link.ical_uid:
                self.link_by_ical.setdefault(link.ical_uid, link)
        self.claimed = set()  # activities already linked by an earlier event of this listing

    # -- one event ------------------------------------------------------------------------
    def plan_event(self, event, series_ids):
        link = self.link_by_event.get(event.id)
        if link is not None and link.etag and event.etag == link.etag:
            return []  # our own write echoed back, or unchanged
        if event.cancelled:
            if link is None:
                series = event.recurring_event_id
                if series and (series in self.link_by_event or series in series_ids):
                    return []  # a cancelled instance: an EXDATE on its series
                return [Action(SKIP, event_id=event.id, reason="deleted event never synced")]
            return self.plan_cancelled(event, link)
        if link is None:
            return self.plan_new(event)
        activity = self.activity_by_id.get(link.activity_id)
        if activity is None:
            return self.plan_edit_of_deleted(event, link)
        if link.state == LINK_DETACHED:
            return []  # a revived event only happens through our own insert
        return self.plan_changed(event, link, activity)

    def fields(self, event):
        user = self.mapping.user_id
        return activity_fields(event, self.mapping.zone_for_events, self.ctx.people,
                               self.mapping.emails, f"user:{user}" if user is not None else None)

    # -- new events -----------------------------------------------------------------------
    def _match(self, event):
        """The activity this unlinked event already is, and how it was recognised."""
        if event.recurring_event_id:
            # An instance: only its own id (a moved occurrence's activity) identifies it.
            found = self.activity_by_event_id.get(event.id)
            return (found, "same occurrence already in CRM") if found else (None, "")
        own_uid = event.activity_uid
        if own_uid is not None and own_uid in self.activity_by_uid:
            return self.activity_by_uid[own_uid], "relinked own event"
        for table, key, why in ((self.activity_by_event_id, event.id, "same event"),
                                (self.activity_by_ical, event.ical_uid,
                                 "same meeting (iCalUID) already in CRM")):
            if key and key in table:
                return table[key], why
        shared = self.link_by_ical.get(event.ical_uid) if event.ical_uid else None
        if shared is not None and shared.activity_id in self.activity_by_id:
            return self.activity_by_id[shared.activity_id], "same meeting (iCalUID) already in CRM"
        return None, ""

    def plan_new(self, event):
        mapping = self.mapping
        moved = self.moved_from.get(event.id)
        if moved is not None and moved.activity_id in self.activity_by_id:
            # The user moved it here from another of their calendars: the link follows.
            activity = self.activity_by_id[moved.activity_id]
            target = {"mapping_id": mapping.id, "calendar_id": mapping.calendar_id,
                      "activity_type_id": mapping.activity_type_id}
            head = Action(MOVE_LINK, activity_id=activity.id, link_id=moved.id,
                          event_id=event.id, event=event, target=target,
                          reason="moved in Google from another calendar")
            moved_here = replace(moved, mapping_id=mapping.id, calendar_id=mapping.calendar_id)
            activity = replace(activity, activity_type_id=mapping.activity_type_id)
            return [head] + self.plan_changed(event, moved_here, activity, force=True)
        activity, why = self._match(event)
        role = role_of(event, mapping)
        if activity is None and event.activity_uid is not None \
                and not event.recurring_event_id and self.ctx.known_uids is not None \
                and event.activity_uid not in self.ctx.known_uids:
            # The portal made it, for an activity deleted in the CRM since (a run was cut
            # off before it recorded the link, or the tombstone was forgotten): importing it
            # would bring the deleted activity back. Deleting in the CRM deletes in Google,
            # so the organizer's copy goes when this calendar exports; a guest's copy goes
            # with the organizer's cancellation.
            if role == ROLE_ORGANIZER and mapping.export_enabled:
                return [Action(DELETE_EVENT, event_id=event.id, event=event,
                               if_match=event.etag, reason=DELETED_IN_CRM)]
            return [Action(SKIP, event_id=event.id, event=event, reason=DELETED_IN_CRM)]
        if activity is not None and activity.id not in self.claimed:
            self.claimed.add(activity.id)
            return self.plan_link(event, activity, role, why)
        if _event_starts_before(event, mapping.sync_from, mapping.zone_for_events):
            return [Action(SKIP, event_id=event.id, reason="before Synchronize from")]
        fields = self.fields(event)
        if not _representable(fields):
            return [Action(SKIP, event_id=event.id, event=event, reason=NO_DURATION)]
        organizer_id = self.crm_organizer(event, role)
        if organizer_id != mapping.user_id:
            # The meeting's organizer keeps their own reminders; ours are not theirs.
            fields["reminders"] = Reminders()
        base = _state_of_fields(fields, f"user:{organizer_id}" if organizer_id else "",
                                mapping.user_id if role == ROLE_GUEST else None)
        base["v"] = BASE_VERSION
        return [Action(CREATE_ACTIVITY, event_id=event.id, event=event, owner=OWNER_GOOGLE,
                       role=role, organizer_id=organizer_id, fields=fields, base=base,
                       answers=answers_of(fields),
                       reason="moved or edited instance" if event.recurring_event_id
                       else "new in Google")]

    def crm_organizer(self, event, role):
        """Whose meeting this is in the CRM: the user's own; else the CRM user who imports
        the organizer's calendar, whoever syncs first; else (the organizer does not sync)
        the user who syncs it (Creatio's rule)."""
        if role == ROLE_ORGANIZER:
            return self.mapping.user_id
        owner = self.ctx.syncing_calendars.get(event.organizer_email)
        return owner if owner is not None else self.mapping.user_id

    def plan_link(self, event, activity, role, why):
        """An existing activity is this event: tie them, then reconcile as a relink."""
        mapping = self.mapping
        owner = OWNER_CRM if event.activity_uid == activity.uid else (
            OWNER_GOOGLE if activity.origin == ORIGIN_GOOGLE else OWNER_CRM)
        organizer_id = None
        if role == ROLE_ORGANIZER and activity.organizer_id != mapping.user_id \
                and activity.origin == ORIGIN_GOOGLE:
            # The organizer's own copy arrives: the meeting is theirs in the CRM too.
            organizer_id = mapping.user_id
        link = LinkSnapshot(id=None, mapping_id=mapping.id, activity_id=activity.id,
                            event_id=event.id, calendar_id=mapping.calendar_id,
                            ical_uid=event.ical_uid, owner=owner, role=role,
                            guests_can_modify=event.guests_can_modify)
        if organizer_id is not None:
            activity = replace(activity, organizer_id=organizer_id)
        head = Action(LINK_ACTIVITY, activity_id=activity.id, activity_uid=activity.uid,
                      event_id=event.id, event=event, owner=owner, role=role,
                      organizer_id=organizer_id, reason=why)
        return [head] + self.plan_changed(event, link, activity, force=True)

    # -- changed events -------------------------------------------------------------------
    def plan_changed(self, event, link, activity, force=False):
        """A linked event changed in Google (or was just linked: ``force``)."""
        mapping = self.mapping
        fields = self.fields(event)
        if activity.held:
            return [Action(SKIP, activity_id=activity.id, event_id=event.id, event=event,
                           reason="held activities are no longer updated")]
        if not _representable(fields):
            return [Action(SKIP, activity_id=activity.id, event_id=event.id, event=event,
                           reason=NO_DURATION)]
        role = role_of(event, mapping)
        link = replace(link, role=role, guests_can_modify=event.guests_can_modify)
        allowed = rights(link, activity, mapping, self.ctx)
        user = _answer_user(link, mapping)
        crm_now = crm_state(activity, user, link.google_exdates)
        google_now = _state_of_fields(fields, activity.organizer_key, user)
        if link.google_exdates and event.resource.get("recurrence"):
            # Written back with the EXDATEs mirroring Google's exceptions (compared without).
            _with_exdates(fields, link.google_exdates)
        base = usable_base(link, crm_now)
        if base is None:
            base = first_base(link, activity, crm_now, google_now)
        crm_now = type_colour_as_agreed(crm_now, base, activity, link)
        winner = m.winner(mapping.conflict_rule, activity.modified_at,
                          _google_edit_time(event, link))
        result = m.merge(FIELD_GROUPS, base, crm_now, google_now, allowed, winner)
        from_crm, from_google, both = result.from_crm, result.from_google, result.both
        new_base = result.base
        answers = answers_of(fields) if "attendees" in allowed.read else None
        common = dict(activity_id=activity.id, link_id=link.id, event_id=event.id, event=event,
                      role=role)
        actions = []
        record = m.record(mapping.conflict_rule, crm_now, google_now, result, winner)
        summary = m.summary(result)
        if both:
            actions.append(Action(CONFLICT, conflict=record, **common,
                                  reason=f"changed on both sides ({', '.join(both)}): "
                                         f"{winner} wins; " + summary))
        elif from_crm and from_google:
            actions.append(Action(MERGED, conflict=record, **common,
                                  reason="different fields changed on each side, both kept; "
                                         + summary))
        if from_google:
            actions.append(Action(
                UPDATE_ACTIVITY, fields=fields, groups=tuple(from_google), answers=answers,
                # with a patch to follow, the link records this sync only once Google
                # acknowledged it (a failed patch then merges again from the same base)
                synced_version=link.synced_version if from_crm else None,
                base=None if from_crm else new_base,
                reason="changed in Google: " + ", ".join(from_google), **common))
        if from_crm:
            merged = with_fields(activity, fields, from_google) if from_google else activity
            actions.append(Action(
                PATCH_EVENT, activity_uid=activity.uid,
                body=patch_for(merged, from_crm, link, mapping, base, event.resource,
                               self.ctx.people),
                base=new_base, if_match=event.etag or None,
                reason=("conflict: CRM wins: " if set(both) & set(from_crm) else
                        "changed in CRM: ") + ", ".join(from_crm), **common))
        if not from_google and not from_crm:
            actions.append(Action(REBASE, synced_version=activity.version, base=new_base,
                                  answers=answers,
                                  reason="linked" if force else "nothing to carry over",
                                  **common))
        return actions

    # -- deletes --------------------------------------------------------------------------
    def plan_cancelled(self, event, link, reason="deleted in Google"):
        mapping = self.mapping
        if link.state == LINK_DETACHED:
            return []
        activity = self.activity_by_id.get(link.activity_id)
        if activity is None:
            return [Action(UNLINK, link_id=link.id, event_id=event.id,
                           reason="deleted in both")]
        moved = self.ctx.moved.get(event.id)
        if moved is not None:
            target_mapping, type_id, calendar_id = moved
            return [Action(MOVE_LINK, activity_id=activity.id, link_id=link.id,
                           event_id=event.id,
                           target={"mapping_id": target_mapping, "calendar_id": calendar_id,
                                   "activity_type_id": type_id},
                           reason="moved in Google to another calendar")]
        allowed = rights(link, activity, mapping, self.ctx)
        common = dict(activity_id=activity.id, link_id=link.id, event_id=event.id, event=event)
        if link.role == ROLE_GUEST and not set(SHARED_GROUPS) <= allowed.read:
            # A guest's copy went (the organizer removed them, or the user took it out of
            # their calendar): the organizer's copy says what became of the meeting.
            return [Action(UNLINK, reason=reason + "; your copy of someone else's meeting",
                           **common)]
        if activity.held:
            return [Action(UNLINK, synced_version=activity.version,
                           reason=reason + "; held, kept in CRM", **common)]
        actions = []
        crm_now = crm_state(activity, _answer_user(link, mapping), link.google_exdates)
        base = usable_base(link, crm_now)
        crm_changed = link.synced_version is not None and activity.version != link.synced_version
        if crm_changed and base is not None:
            crm_changed = any(crm_now[g] != base.get(g) for g in allowed.write)
        if crm_changed and activity.status != STATUS_NOT_HELD and allowed.write:
            # Deleted in Google, edited in the CRM since the last sync: a conflict like any
            # other; the rule decides whether the delete or the edit survives.
            winner = m.winner(mapping.conflict_rule, activity.modified_at,
                                      event.updated)
            actions.append(Action(
                CONFLICT, conflict={"rule": mapping.conflict_rule, "winner": winner,
                                    "crm": m.jsonable(crm_state(activity)),
                                    "google": {"status": "cancelled"}},
                reason=f"edited in CRM, {reason} since the last sync; {winner} wins",
                **common))
            if winner == OWNER_CRM and link.role == ROLE_ORGANIZER:
                return actions + [Action(UNLINK, synced_version=link.synced_version,
                                         reason=reason + "; kept in CRM, edit re-exported",
                                         **common)]
        if mapping.delete_in_crm_on_google_delete:
            return actions + [Action(DELETE_ACTIVITY, reason=reason, **common)]
        if activity.status == STATUS_NOT_HELD and link.owner == OWNER_CRM:
            return actions  # our own "Not Held" is a cancelled event: nothing was lost
        return actions + [Action(UNLINK, synced_version=activity.version,
                                 reason=reason + "; kept in CRM", **common)]

    def plan_edit_of_deleted(self, event, link):
        """The activity was deleted in the CRM and the event edited in Google since: a
        conflict; the rule decides whether the delete or the edit survives."""
        mapping = self.mapping
        if link.role == ROLE_GUEST or link.state == LINK_DETACHED:
            return []
        winner = m.winner(mapping.conflict_rule, link.crm_deleted_at, event.updated)
        record = Action(CONFLICT, link_id=link.id, event_id=event.id, event=event,
                        conflict={"rule": mapping.conflict_rule, "winner": winner,
                                  "crm": {"status": "deleted"},
                                  "google": m.jsonable(self.fields(event))},
                        reason=f"deleted in CRM, edited in Google since; {winner} wins")
        fields = self.fields(event)
        if winner == OWNER_GOOGLE and mapping.import_enabled and _representable(fields):
            base = _state_of_fields(fields, f"user:{mapping.user_id}", None)
            base["v"] = BASE_VERSION
            return [record, Action(CREATE_ACTIVITY, link_id=link.id, event_id=event.id,
                                   event=event, owner=link.owner, role=link.role,
                                   organizer_id=mapping.user_id, fields=fields, base=base,
                                   answers=answers_of(fields),
                                   reason="conflict: Google's edit wins over the CRM delete")]
        # The CRM's delete wins: remember Google's copy so the export's delete matches it.
        return [record, Action(REBASE, link_id=link.id, event_id=event.id, event=event,
                               reason="conflict: the CRM delete wins")]


def _exceptions_by_series(events, series_in_listing, link_by_event, activity_by_id, tz_name):
    """{series event id: [EXDATE lines]} for every exception (moved, edited or cancelled
    instance) in the listing, each in its series' zone."""
    out = {}
    for event in events:
        series_id = event.recurring_event_id
        if not series_id:
            continue
        zone = None
        series = series_in_listing.get(series_id)
        if series is not None:
            zone = (series.resource.get("start") or {}).get("timeZone")
        if zone is None:
            link = link_by_event.get(series_id)
            activity = activity_by_id.get(link.activity_id) if link is not None else None
            zone = activity.time_zone if activity is not None else None
        line = _exdate_line(event, zone or tz_name)
        if line and line not in out.get(series_id, ()):
            out.setdefault(series_id, []).append(line)
    return out


def _plan_exceptions(exceptions, actions, series_in_listing, link_by_event, activity_by_id):
    """Give each series an EXDATE for its exceptions' original slots, so a moved or edited
    instance (its own activity) is not shown a second time in the series, and a cancelled
    one is not shown at all. A series created or updated by this plan gets them in its
    fields; an already linked one gets ADD_EXCEPTION actions."""
    out = []
    writing = {a.event_id: a for a in actions
               if a.kind in (CREATE_ACTIVITY, UPDATE_ACTIVITY) and a.fields is not None
               and a.event is not None and not a.event.recurring_event_id
               and (a.groups is None or "recurrence" in a.groups)}
    for series_id, lines in exceptions.items():
        series = series_in_listing.get(series_id)
        if series is not None and series.cancelled:
            continue  # the whole series is gone
        action = writing.get(series_id)
        if action is not None:
            _with_exdates(action.fields, lines)
            action.exdates = tuple(dict.fromkeys(tuple(action.exdates) + tuple(lines)))
            continue
        link = link_by_event.get(series_id)
        if link is None or link.state != LINK_ACTIVE or link.activity_id is None:
            continue
        activity = activity_by_id.get(link.activity_id)
        if activity is None or activity.held:
            continue
        for line in lines:
            if line not in link.google_exdates:
                out.append(Action(ADD_EXCEPTION, activity_id=activity.id, link_id=link.id,
                                  event_id=series_id, exdate=line,
                                  reason="instance moved, edited or cancelled in Google"))
    return out
