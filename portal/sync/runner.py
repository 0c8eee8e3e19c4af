"""The sync runner: load one mapping's rows in bulk, ask the engine for a plan, apply it
through the Calendar client, record the run.

Layering: jobs -> runner -> engine (pure) + calendar_events (client). The runner is the only
place that turns snapshots back into rows. Rules it keeps:

* Bulk loading: a constant number of SQL queries however many activities a mapping has
  (light id/version queries first, full rows only for what changed, relations by IN).
* A link is written only after Google acknowledged the write it records.
* Export commits after every acknowledged chunk of writes; import commits once with the new
  sync token. A run killed half-way therefore leaves links that the next run completes:
  inserts are idempotent (our own event ids, 409 -> fetch and patch), and the sync token
  only moves together with the changes it covers.
"""
import json
import logging
from dataclasses import dataclass, field, replace
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import and_, delete, exists, insert, or_, select
from sqlalchemy.orm import selectinload

from portal.accounts.models import User
from portal.core.types import utcnow
from portal.crm import activities as crm_activities
from portal.crm.models import Activity, Contact, ContactEmail, activity_participants
from portal.extensions import db
from portal.google import calendar_events as ce
from portal.google import services as google_services
from portal.google.client import GoogleError, ReauthorizationNeeded, TransientError
from portal.google.models import CalendarMapping
from portal.sync import engine as e
from portal.sync.models import (DIRECTION_BOTH, DIRECTION_EXPORT, DIRECTION_IMPORT,
                                LINK_ACTIVE, LINK_DETACHED, OWNER_CRM, OWNER_GOOGLE,
                                RUN_FAILED, RUN_NEEDS_REAUTH, RUN_RUNNING, RUN_SUCCEEDED,
                                EventLink, ExternalAttendee, GuestNotification, SyncRun,
                                SyncRunEntry)

log = logging.getLogger(__name__)

#: writes per committed chunk: one Google batch
CHUNK = ce.BATCH_SIZE
#: SQL IN lists are split so no database hits its bound-parameter limit
IN_CHUNK = 500


class SyncStopped(Exception):
    """The run cannot go on for this user (reconnect needed, mapping gone)."""


@dataclass
class Counts:
    created: int = 0
    updated: int = 0
    deleted: int = 0
    skipped: int = 0
    conflicts: int = 0
    errors: int = 0
    entries: list = field(default_factory=list)


def _chunks(items, size=IN_CHUNK):
    items = list(items)
    for start in range(0, len(items), size):
        yield items[start:start + size]


def _in_query(stmt_for, ids):
    """Run ``stmt_for(chunk)`` for every IN chunk of ``ids``; concatenate the results."""
    out = []
    for chunk in _chunks(ids):
        out.extend(db.session.scalars(stmt_for(chunk)).unique().all())
    return out


# -- snapshots ------------------------------------------------------------------------------------

def _load_activities(ids):
    """Full activities with everything the engine needs, in a constant number of queries."""
    if not ids:
        return []
    return _in_query(lambda chunk: select(Activity).where(Activity.id.in_(chunk)).options(
        selectinload(Activity.participants), selectinload(Activity.organizer),
        selectinload(Activity.invitees).selectinload(Contact.emails)), ids)


def _external_attendees(activity_ids):
    out = {}
    for chunk in _chunks(activity_ids):
        for row in db.session.scalars(select(ExternalAttendee)
                                      .where(ExternalAttendee.activity_id.in_(chunk))):
            out.setdefault(row.activity_id, []).append(row)
    return out


def snapshot(activity, externals=()):
    """An engine snapshot of an Activity row."""
    attendees = [e.Attendee(u.email, u.name) for u in activity.participants]
    attendees += [e.Attendee(c.primary_email, c.full_name) for c in activity.invitees
                  if c.primary_email]
    return e.ActivitySnapshot(
        id=activity.id, uid=activity.uid, version=activity.version, subject=activity.subject,
        activity_type_id=activity.activity_type_id, description=activity.description or "",
        location=activity.location or "", status=activity.status, all_day=activity.all_day,
        start_at=activity.start_at, end_at=activity.end_at, start_date=activity.start_date,
        end_date=activity.end_date, time_zone=activity.time_zone or "UTC",
        recurrence=e.recurrence_lines(activity.recurrence or ""),
        reminder_minutes=activity.reminder_minutes, visibility=activity.visibility,
        show_in_calendar=activity.show_in_calendar,
        organizer_email=activity.organizer.email if activity.organizer else "",
        organizer_name=activity.organizer.name if activity.organizer else "",
        attendees=tuple(attendees),
        external_attendees=tuple(e.Attendee(x.email, x.display_name, x.response_status)
                                 for x in externals),
        modified_at=activity.modified_at)


def _event_state(link):
    """The link's remembered Google state (attendees, recurrence, derived EXDATEs)."""
    if not link.event_state:
        return None
    try:
        state = json.loads(link.event_state)
    except ValueError:
        return None
    return state if isinstance(state, dict) else None


#: :meth:`Runner.remember_event`: leave the link's remembered merge base as it is
KEEP = object()


def _state_json(resource, exdates=(), fields=None):
    state = e.remembered_state(resource, exdates)
    if isinstance(fields, dict):
        # the mapped field groups both sides agreed on at this sync: the merge base
        state["fields"] = fields
    return json.dumps(state, ensure_ascii=False)


def link_snapshot(link, existing_ids=None):
    activity_id = link.activity_id
    if existing_ids is not None and activity_id is not None and activity_id not in existing_ids:
        activity_id = None  # deleted without the FK's SET NULL (e.g. SQLite): a tombstone
    state = _event_state(link) or {}
    recurrence = state.get("recurrence")
    return e.LinkSnapshot(
        google_attendees=tuple(a for a in state.get("attendees") or () if isinstance(a, dict)),
        google_recurrence=tuple(recurrence) if isinstance(recurrence, list) else None,
        google_exdates=tuple(state.get("exdates") or ()),
        base_fields=state.get("fields") if isinstance(state.get("fields"), dict) else None,
        id=link.id, mapping_id=link.mapping_id, activity_id=activity_id,
        event_id=link.event_id, calendar_id=link.calendar_id, ical_uid=link.ical_uid or "",
        etag=link.etag or "", updated=link.google_updated_at,
        synced_version=link.synced_version, owner=link.owner, state=link.state,
        recurring_event_id=link.recurring_event_id or "")


def mapping_snapshot(mapping, user, sync_from):
    return e.MappingSnapshot(
        id=mapping.id, activity_type_id=mapping.activity_type_id,
        calendar_id=mapping.calendar_id, user_email=user.email,
        time_zone=user.time_zone or "UTC", sync_from=sync_from,
        conflict_rule=mapping.conflict_rule or e.CONFLICT_CRM_WINS,
        delete_in_crm_on_google_delete=bool(mapping.delete_in_crm_when_deleted_in_google))


# -- the run --------------------------------------------------------------------------------------

def _write_links(rows):
    """Insert the links of acknowledged inserts in one statement.

    If another run wrote a link for the same event meanwhile (a worker killed while its
    commit was still landing, or an overlapping run after a lock lapsed), that link is
    brought up to date instead of the unique key failing this whole run."""
    dialect = db.session.get_bind().dialect.name
    if dialect == "postgresql":
        from sqlalchemy.dialects.postgresql import insert as upsert
    elif dialect == "sqlite":
        from sqlalchemy.dialects.sqlite import insert as upsert
    else:
        db.session.execute(insert(EventLink), rows)
        return
    stmt = upsert(EventLink)
    keys = ("mapping_id", "event_id")
    stmt = stmt.on_conflict_do_update(
        index_elements=list(keys),
        set_={name: stmt.excluded[name] for name in rows[0] if name not in keys})
    db.session.execute(stmt, rows)


class Runner:
    """One run of one mapping. Use :func:`run_mapping`."""

    def __init__(self, mapping, run, backoff=None, progress=None):
        self.mapping = mapping
        self.user = db.session.get(User, mapping.user_id)
        self.run = run
        self.backoff = backoff or ce.Backoff()
        self.counts = Counts()
        settings = google_services.get_sync_settings(self.user)
        self.sync_from = settings.sync_from if settings is not None else None
        self.snap = mapping_snapshot(mapping, self.user, self.sync_from)
        self.client = google_services.client_for(self.user)
        self.service = self.client.calendar
        self.batch_uri = self.client.endpoints.calendar_batch
        self._progress = progress
        #: snapshots by activity id: what was sent (after a chunk commit the rows are
        #: expired, and reading them again would cost one query per activity)
        self.snaps = {}
        #: links of acknowledged inserts, written in bulk with the chunk's commit
        self.new_links = []
        #: activities whose guests Google was asked to email in the current chunk
        self.notified = []

    # bookkeeping ----------------------------------------------------------------------------
    def log(self, action, detail="", activity_id=None, event_id=None, subject="", versions=None):
        self.counts.entries.append(dict(
            action=action, activity_id=activity_id, event_id=event_id,
            subject=(subject or "")[:255], detail=detail or "", created_at=utcnow(),
            versions=json.dumps(versions, ensure_ascii=False, default=str) if versions else None))

    def flush_counts(self, progress=None):
        run = self.run
        for name in ("created", "updated", "deleted", "skipped", "conflicts", "errors"):
            setattr(run, name, getattr(self.counts, name))
        if progress is not None:
            run.progress = progress[:255]
        # One executemany each, not one INSERT per row (SQLite's ORM inserts row by row).
        if self.new_links:
            _write_links(self.new_links)
            self.new_links = []
        if self.counts.entries:
            for entry in self.counts.entries:
                entry["run_id"] = run.id
            db.session.execute(insert(SyncRunEntry), self.counts.entries)
            self.counts.entries = []

    def commit(self, progress=None):
        self.flush_counts(progress)
        db.session.commit()

    # retired calendar -----------------------------------------------------------------------
    def handle_retired(self):
        """Events left in a calendar this type no longer syncs with: delete them there
        (the user chose "delete") or just drop the links ("leave")."""
        mapping = self.mapping
        stale = db.session.scalars(select(EventLink).where(
            EventLink.mapping_id == mapping.id,
            EventLink.calendar_id != (mapping.calendar_id or ""))).all()
        if not stale and not mapping.retired_calendar_id:
            return
        action = mapping.retired_action or "leave"
        by_calendar = {}
        for link in stale:
            by_calendar.setdefault(link.calendar_id, []).append(link)
        for calendar_id, links in by_calendar.items():
            if action == "delete":
                writes = [ce.Write(key=l.id, op=ce.OP_DELETE, event_id=l.event_id)
                          for l in links if l.owner == OWNER_CRM and l.state == LINK_ACTIVE]
                for chunk in _chunks(writes, CHUNK):
                    results = ce.apply_writes(self.service, self.batch_uri, calendar_id, chunk,
                                              backoff=self.backoff)
                    for result in results:
                        if result.ok:
                            self.counts.deleted += 1
                            self.log(e.DELETE_EVENT, "removed from the previous calendar",
                                     event_id=result.write.event_id)
            for link in links:
                db.session.delete(link)
        mapping.retired_calendar_id = None
        mapping.retired_action = None
        mapping.retired_at = None
        mapping.sync_token = None
        self.commit("previous calendar cleaned up")

    # export ---------------------------------------------------------------------------------
    def scope_condition(self):
        """Activities that belong in this user's calendar: organized by the user (or, when
        the organizer has no export for the type, with this user as a participant)."""
        mapping = self.mapping
        organizer_exports = exists().where(
            CalendarMapping.user_id == Activity.organizer_id,
            CalendarMapping.activity_type_id == mapping.activity_type_id,
            CalendarMapping.export_enabled.is_(True), CalendarMapping.calendar_id.is_not(None))
        as_participant = and_(
            Activity.id.in_(select(activity_participants.c.activity_id).where(
                activity_participants.c.user_id == mapping.user_id)),
            ~organizer_exports)
        return or_(Activity.organizer_id == mapping.user_id, as_participant)

    def candidate_condition(self):
        """Activities this mapping exports: its type, shown in the calendar, in the user's
        scope (:meth:`scope_condition`), from *Synchronize from* on."""
        mapping = self.mapping
        condition = and_(Activity.activity_type_id == mapping.activity_type_id,
                         Activity.show_in_calendar.is_(True), self.scope_condition())
        if self.sync_from is not None:
            # A day of slack either side of UTC; the engine applies the exact local-day rule.
            from_utc = datetime.combine(self.sync_from - timedelta(days=1), time(),
                                        tzinfo=timezone.utc)
            condition = and_(condition, or_(
                and_(Activity.all_day.is_(True), Activity.start_date >= self.sync_from),
                and_(Activity.all_day.is_(False), Activity.start_at >= from_utc)))
        return condition

    def export(self):
        mapping = self.mapping
        links = db.session.scalars(select(EventLink).where(
            EventLink.mapping_id == mapping.id)).all()
        candidates = dict(db.session.execute(
            select(Activity.id, Activity.version).where(self.candidate_condition())).all())
        linked = {l.activity_id: l for l in links if l.activity_id is not None}
        dirty = {aid for aid, version in candidates.items()
                 if aid not in linked or linked[aid].synced_version != version}
        outside = {aid for aid, l in linked.items()
                   if aid not in candidates and l.owner == OWNER_CRM}
        dirty |= outside
        # Linked activities no longer in this user's scope (moved to another organizer):
        # their event leaves this calendar, or the meeting would be shown twice.
        in_scope = set(_in_query(lambda chunk: select(Activity.id).where(
            Activity.id.in_(chunk), self.scope_condition()), outside)) if outside else set()
        rows = _load_activities(sorted(dirty))
        existing = {a.id for a in rows}
        externals = _external_attendees(existing)
        snaps = [snapshot(a, externals.get(a.id, ())) for a in rows]
        self.snaps.update((s.id, s) for s in snaps)
        # Only links that can lead to an action: dirty ones, tombstones, and detached ones.
        relevant = [link_snapshot(l, existing) for l in links
                    if l.activity_id is None or l.activity_id in dirty]
        plan = e.plan_export(self.snap, snaps, relevant, out_of_scope=outside - in_scope)
        self.apply_export_plan(plan, {a.id: a for a in rows}, {l.id: l for l in links})

    def apply_export_plan(self, plan, rows, links_by_id):
        writes, extra = [], []
        for action in plan:
            if action.kind in e.GOOGLE_ACTIONS:
                writes.append(action)
            else:
                extra.append(action)
        for action in extra:
            self.apply_local(action, rows, links_by_id)
        total = len(writes)
        for done, chunk in enumerate(_chunks(writes, CHUNK)):
            self.apply_google_writes(chunk, rows, links_by_id)
            self.commit(f"exported {min((done + 1) * CHUNK, total)} of {total}")
        if not writes:
            self.commit()

    def apply_google_writes(self, actions, rows, links_by_id):
        """Send a chunk of event writes and record what Google acknowledged."""
        op_of = {e.INSERT_EVENT: ce.OP_INSERT, e.PATCH_EVENT: ce.OP_PATCH,
                 e.DELETE_EVENT: ce.OP_DELETE}
        notify = self.guest_notifications(actions)
        writes = [ce.Write(key=i, op=op_of[a.kind], event_id=a.event_id, body=a.body,
                           if_match=a.if_match,
                           send_updates="all" if a.activity_id in notify else None)
                  for i, a in enumerate(actions)]
        results = ce.apply_writes(self.service, self.batch_uri, self.mapping.calendar_id, writes,
                                  send_updates=self.snap.send_updates, backoff=self.backoff)
        conflicts = []
        for action, result in zip(actions, results):
            activity = self.snaps.get(action.activity_id)
            subject = activity.subject if activity is not None else ""
            if result.error is not None:
                self.counts.errors += 1
                message = f"Google rejected the event: {result.error}"
                self.log("error", message, action.activity_id, action.event_id, subject)
                link = links_by_id.get(action.link_id)
                if link is not None:
                    link.last_error = message
                continue
            if result.conflict_event is not None:
                conflicts.append((action, result.conflict_event))
                continue
            if not result.ok:
                continue
            self.record_write(action, result.event, activity, links_by_id)
            if action.activity_id in notify and action.kind != e.DELETE_EVENT:
                self.notified.append(action.activity_id)
        self.clear_guest_notifications()
        for action, fresh in conflicts:
            # Google changed it since our last look: decide as an import would.
            self.resolve_changed_event(action, fresh, rows, links_by_id)

    def guest_notifications(self, actions):
        """Activities of ``actions`` whose guests a person asked to email (one query)."""
        ids = {a.activity_id for a in actions if a.activity_id is not None}
        if not ids:
            return set()
        return set(db.session.scalars(select(GuestNotification.activity_id)
                                      .where(GuestNotification.activity_id.in_(ids))))

    def clear_guest_notifications(self):
        """Google acknowledged the notifying writes: the requests are done."""
        if self.notified:
            db.session.execute(delete(GuestNotification).where(
                GuestNotification.activity_id.in_(self.notified)))
            self.notified = []

    def record_write(self, action, event, activity, links_by_id):
        """Google acknowledged ``action``: write the link (``activity`` is the snapshot
        the body was built from, so its version is the one Google now has)."""
        link = links_by_id.get(action.link_id) if action.link_id else None
        subject = activity.subject if activity is not None else ""
        if action.kind == e.DELETE_EVENT:
            if link is not None:
                db.session.delete(link)
                links_by_id.pop(action.link_id, None)
            self.counts.deleted += 1
            self.log(action.kind, action.reason, action.activity_id, action.event_id, subject)
            return
        if link is None:
            values = dict(mapping_id=self.mapping.id, user_id=self.mapping.user_id,
                          activity_id=action.activity_id, calendar_id=self.mapping.calendar_id,
                          event_id=action.event_id, owner=OWNER_CRM, state=LINK_ACTIVE,
                          synced_version=activity.version if activity is not None else None,
                          etag="", ical_uid="", html_link="", recurring_event_id="",
                          event_state=None, google_updated_at=None, synced_at=utcnow(),
                          last_error=None)
            if event:
                values.update(etag=event.get("etag") or "",
                              event_state=_state_json(event, fields=action.base),
                              google_updated_at=e.parse_rfc3339(event.get("updated")),
                              ical_uid=event.get("iCalUID") or "",
                              html_link=event.get("htmlLink") or "",
                              recurring_event_id=event.get("recurringEventId") or "")
            self.new_links.append(values)
            self.counts.created += 1
            self.log(action.kind, action.reason, action.activity_id, action.event_id, subject)
            return
        self.counts.updated += 1
        link.state = LINK_ACTIVE
        link.last_error = None
        link.synced_version = activity.version if activity is not None else None
        self.remember_event(link, event, fields=action.base)
        self.log(action.kind, action.reason, action.activity_id, action.event_id, subject)

    @staticmethod
    def remember_event(link, event, exdates=(), fields=KEEP):
        """Store what the link needs of Google's copy of the event: etag, updated, ids and
        the state :func:`link_snapshot` reads back (attendee objects, recurrence, the
        EXDATEs derived from its exceptions: those remembered plus ``exdates``, and the
        merge base: ``fields``, the mapped field groups both sides now agree on; None
        forgets it, :data:`KEEP` leaves the remembered one)."""
        if not event:
            return
        previous_state = _event_state(link) or {}
        previous = previous_state.get("exdates") or []
        keep = list(previous) + list(exdates) if event.get("recurrence") else []
        if fields is KEEP:
            fields = previous_state.get("fields")
        link.event_state = _state_json(event, keep, fields)
        link.etag = event.get("etag") or ""
        link.google_updated_at = e.parse_rfc3339(event.get("updated"))
        link.ical_uid = event.get("iCalUID") or link.ical_uid or ""
        link.html_link = event.get("htmlLink") or link.html_link or ""
        link.recurring_event_id = event.get("recurringEventId") or ""
        link.synced_at = utcnow()

    def resolve_changed_event(self, action, fresh, rows, links_by_id):
        link = links_by_id.get(action.link_id)
        activity = rows.get(action.activity_id)
        if link is None or activity is None:
            return
        event = e.EventSnapshot.from_resource(fresh)
        snap = snapshot(activity, _external_attendees([activity.id]).get(activity.id, ()))
        self.snaps[snap.id] = snap
        plan = e.plan_import(self.snap, [event], [link_snapshot(link)], [snap])
        self.apply_import_plan(plan, rows, links_by_id, {})

    # import ---------------------------------------------------------------------------------
    def list_events(self):
        mapping = self.mapping
        time_min = None
        if self.sync_from is not None:
            time_min = datetime.combine(self.sync_from, time(), tzinfo=timezone.utc) \
                - timedelta(days=1)
        if mapping.sync_token:
            try:
                return ce.list_events(self.service, mapping.calendar_id,
                                      sync_token=mapping.sync_token, backoff=self.backoff)
            except ce.FullSyncRequired:
                self.log("full_sync", "Google asked for a full sync (sync token expired)")
                mapping.sync_token = None
        return ce.list_events(self.service, mapping.calendar_id, time_min=time_min,
                              backoff=self.backoff)

    def import_(self):
        mapping = self.mapping
        listing = self.list_events()
        events = [e.EventSnapshot.from_resource(r) for r in listing.events]
        if not events and not listing.full:
            mapping.sync_token = listing.next_sync_token or mapping.sync_token
            self.commit()
            return
        event_ids = [ev.id for ev in events]
        if listing.full:
            links = db.session.scalars(select(EventLink).where(
                EventLink.mapping_id == mapping.id)).all()
        else:
            wanted = set(event_ids) | {ev.recurring_event_id for ev in events
                                       if ev.recurring_event_id}
            links = _in_query(lambda chunk: select(EventLink).where(
                EventLink.mapping_id == mapping.id, EventLink.event_id.in_(chunk)), wanted)
        ical_uids = {ev.ical_uid for ev in events if ev.ical_uid}
        other_links = _in_query(lambda chunk: select(EventLink).where(
            EventLink.mapping_id != mapping.id, EventLink.ical_uid.in_(chunk),
            EventLink.activity_id.is_not(None)), ical_uids)
        own_uids = {ev.activity_uid for ev in events if ev.activity_uid is not None}
        activity_ids = {l.activity_id for l in list(links) + list(other_links)
                        if l.activity_id is not None}
        if own_uids:
            activity_ids |= set(_in_query(lambda chunk: select(Activity.id).where(
                Activity.uid.in_(chunk)), own_uids))
        rows = _load_activities(sorted(activity_ids))
        existing = {a.id for a in rows}
        externals = _external_attendees(existing)
        snaps = [snapshot(a, externals.get(a.id, ())) for a in rows]
        self.snaps.update((s.id, s) for s in snaps)
        plan = e.plan_import(self.snap, events, [link_snapshot(l, existing) for l in links],
                             snaps, full_sync=listing.full,
                             other_links=[link_snapshot(l, existing) for l in other_links])
        people = self.people_by_email(plan)
        self.apply_import_plan(plan, {a.id: a for a in rows}, {l.id: l for l in links}, people)
        mapping.sync_token = listing.next_sync_token
        self.commit("import done")

    def people_by_email(self, plan):
        """Users and contacts for every attendee email in the plan, in two queries."""
        emails = set()
        for action in plan:
            if action.fields:
                emails.update(a.email for a in action.fields.get("attendees", ()))
        users, contacts = {}, {}
        for chunk in _chunks(emails):
            for user in db.session.scalars(select(User).where(User.email.in_(chunk))):
                users[user.email.lower()] = user
            rows = db.session.execute(select(ContactEmail.email, Contact).join(
                Contact, Contact.id == ContactEmail.contact_id).where(
                ContactEmail.email.in_(chunk))).all()
            # The user's own contact wins over someone else's with the same address.
            for email, contact in sorted(rows, key=lambda r: r[1].owner_id != self.user.id):
                contacts.setdefault(email.lower(), contact)
        return {"users": users, "contacts": contacts}

    def apply_import_plan(self, plan, rows, links_by_id, people):
        google_writes = []
        for action in plan:
            if action.kind in e.GOOGLE_ACTIONS:
                google_writes.append(action)
            else:
                self.apply_local(action, rows, links_by_id, people)
        if google_writes:
            self.apply_google_writes(google_writes, rows, links_by_id)

    # local (CRM-side) actions ---------------------------------------------------------------
    def _crm_values(self, fields, people, activity=None):
        values = {k: fields[k] for k in ("subject", "description", "location", "all_day",
                                         "start_at", "end_at", "start_date", "end_date",
                                         "time_zone", "recurrence", "reminder_minutes",
                                         "visibility")}
        values["subject"] = values["subject"] or "(no title)"
        if fields["status"] == e.STATUS_NOT_HELD or activity is None \
                or activity.status == e.STATUS_NOT_HELD:
            values["status"] = fields["status"]
        participants, invitees, unknown = [], [], []
        organizer_id = activity.organizer_id if activity is not None else self.user.id
        for attendee in fields["attendees"]:
            user = people.get("users", {}).get(attendee.email)
            contact = people.get("contacts", {}).get(attendee.email)
            if user is not None:
                if user.id != organizer_id:
                    participants.append(user)
            elif contact is not None:
                invitees.append(contact)
            else:
                unknown.append(attendee)
        if activity is not None:
            # Contacts without an email never reached Google, so Google cannot drop them.
            invitees += [c for c in activity.invitees if not c.primary_email]
        values["participants"] = participants
        values["invitees"] = invitees
        return values, unknown

    def _set_externals(self, activity, unknown):
        db.session.execute(delete(ExternalAttendee).where(
            ExternalAttendee.activity_id == activity.id))
        seen = set()
        for attendee in unknown:
            if attendee.email in seen:
                continue
            seen.add(attendee.email)
            db.session.add(ExternalAttendee(activity_id=activity.id, email=attendee.email,
                                            display_name=attendee.display_name,
                                            response_status=attendee.response_status))

    def apply_local(self, action, rows, links_by_id, people=None):
        people = people or {}
        kind = action.kind
        link = links_by_id.get(action.link_id) if action.link_id else None
        activity = rows.get(action.activity_id) if action.activity_id else None
        subject = activity.subject if activity is not None else (
            action.fields or {}).get("subject", "")
        event = action.event
        if kind == e.SKIP:
            self.counts.skipped += 1
            self.log(kind, action.reason, action.activity_id, action.event_id, subject)
        elif kind == e.CONFLICT:
            self.counts.conflicts += 1
            self.log(kind, action.reason, action.activity_id, action.event_id, subject,
                     versions=action.conflict)
        elif kind == e.MERGED:
            # Different fields changed on each side: both kept, not a conflict (the update
            # and/or patch that follow are counted as updates).
            self.log(kind, action.reason, action.activity_id, action.event_id, subject,
                     versions=action.conflict)
        elif kind == e.UNLINK:
            if link is None:
                return
            if link.activity_id is not None and activity is not None and link.owner == OWNER_CRM \
                    and "kept" in action.reason:
                # Deleted in Google, kept here: remember the version so it is not re-exported
                # until someone edits it again.
                link.state = LINK_DETACHED
                link.synced_version = action.synced_version \
                    if action.synced_version is not None else activity.version
                self.remember_event(link, event.resource if event else None)
                self.counts.deleted += 1
            else:
                db.session.delete(link)
                links_by_id.pop(link.id, None)
            self.log(kind, action.reason, action.activity_id, action.event_id, subject)
        elif kind == e.CREATE_ACTIVITY:
            values, unknown = self._crm_values(action.fields, people)
            new = crm_activities.save_activity(
                Activity(), actor=self.user, source=crm_activities.SOURCE_GOOGLE,
                activity_type_id=self.mapping.activity_type_id, organizer=self.user,
                status=values.pop("status", e.STATUS_PLANNED), **values)
            new.created_by = self.user
            self._set_externals(new, unknown)
            db.session.flush()
            rows[new.id] = new
            link = EventLink(mapping_id=self.mapping.id, user_id=self.mapping.user_id,
                             activity_id=new.id, calendar_id=self.mapping.calendar_id,
                             event_id=event.id, owner=OWNER_GOOGLE, synced_version=new.version)
            self.remember_event(link, event.resource, action.exdates, fields=action.base)
            db.session.add(link)
            self.counts.created += 1
            self.log(kind, action.reason, new.id, event.id, new.subject)
        elif kind == e.UPDATE_ACTIVITY:
            if activity is None or link is None:
                return
            values, unknown = self._crm_values(action.fields, people, activity)
            crm_activities.save_activity(activity, actor=None,
                                         source=crm_activities.SOURCE_GOOGLE, **values)
            self._set_externals(activity, unknown)
            db.session.flush()
            if action.synced_version is not None:
                # A merge with a patch to follow: the link records this sync only once
                # Google acknowledged the patch (which also writes the merge base).
                link.synced_version = action.synced_version
                self.remember_event(link, event.resource, action.exdates, fields=KEEP)
            else:
                link.synced_version = activity.version
                self.remember_event(link, event.resource, action.exdates, fields=action.base)
            snap = self.snaps.get(activity.id)
            if snap is not None:
                # a patch of this activity later in the run records the version it now has
                self.snaps[activity.id] = replace(snap, version=activity.version,
                                                  subject=activity.subject)
            self.counts.updated += 1
            self.log(kind, action.reason, activity.id, action.event_id, activity.subject)
        elif kind == e.DELETE_ACTIVITY:
            if link is not None:
                db.session.delete(link)
                links_by_id.pop(link.id, None)
            if activity is not None:
                others = db.session.scalar(select(EventLink.id).where(
                    EventLink.activity_id == activity.id,
                    EventLink.mapping_id != self.mapping.id).limit(1))
                if others is None:
                    crm_activities.delete_activity(activity, source=crm_activities.SOURCE_GOOGLE)
                    rows.pop(activity.id, None)
                elif activity.organizer_id != self.user.id:
                    # A shared meeting: only this user leaves it.
                    crm_activities.save_activity(
                        activity, source=crm_activities.SOURCE_GOOGLE,
                        participants=[p for p in activity.participants if p.id != self.user.id])
            self.counts.deleted += 1
            self.log(kind, action.reason, action.activity_id, action.event_id, subject)
        elif kind == e.LINK_ACTIVITY:
            if activity is None:
                return
            if action.owner == OWNER_GOOGLE and activity.organizer_id != self.user.id \
                    and all(p.id != self.user.id for p in activity.participants):
                crm_activities.save_activity(
                    activity, source=crm_activities.SOURCE_GOOGLE,
                    participants=list(activity.participants) + [self.user])
                db.session.flush()
            link = EventLink(mapping_id=self.mapping.id, user_id=self.mapping.user_id,
                             activity_id=activity.id, calendar_id=self.mapping.calendar_id,
                             event_id=event.id, owner=action.owner,
                             # our own event relinked: content unknown, so export patches it
                             synced_version=activity.version if action.owner == OWNER_GOOGLE
                             else None)
            self.remember_event(link, event.resource)
            db.session.add(link)
            db.session.flush()
            links_by_id[link.id] = link
            self.counts.updated += 1
            self.log(kind, action.reason, activity.id, event.id, activity.subject)
        elif kind == e.ADD_EXCEPTION:
            if activity is None:
                return
            if link is not None:
                # Remembered as Google's own exception: never sent back to Google.
                state = _event_state(link) or e.remembered_state({})
                if action.exdate not in state.get("exdates", []):
                    state.setdefault("exdates", []).append(action.exdate)
                    link.event_state = json.dumps(state, ensure_ascii=False)
            lines = list(e.recurrence_lines(activity.recurrence or ""))
            if action.exdate in lines:
                return
            lines.append(action.exdate)
            was_synced = link is not None and link.synced_version == activity.version
            crm_activities.save_activity(activity, source=crm_activities.SOURCE_GOOGLE,
                                         recurrence="\n".join(lines))
            db.session.flush()
            if was_synced:
                link.synced_version = activity.version
            self.counts.updated += 1
            self.log(kind, action.reason, activity.id, action.event_id, activity.subject)


def run_mapping(mapping_id, direction=DIRECTION_BOTH, run=None, backoff=None):
    """Sync one mapping now, in this process; returns the SyncRun.

    ``direction``: "import", "export" or "both" (import first, so a change on both sides is
    seen as a conflict and resolved by the mapping's rule before anything is sent).
    Raises :class:`TransientError` (the job retries) after recording it on the run;
    a reconnect-needed error marks the connection and ends the run as needs_reauth.
    """
    mapping = db.session.get(CalendarMapping, mapping_id)
    if run is None:
        run = SyncRun(job_id=f"inline-{mapping_id}-{utcnow().timestamp()}",
                      mapping_id=mapping_id, user_id=mapping.user_id if mapping else None,
                      direction=direction)
        db.session.add(run)
    run.status = RUN_RUNNING
    run.started_at = run.started_at or utcnow()
    run.progress = "starting"
    db.session.commit()
    if mapping is None or not mapping.calendar_id:
        return _finish(run, RUN_FAILED, "This calendar mapping no longer exists.")
    user = db.session.get(User, mapping.user_id)
    if not google_services.connection_usable(user):
        return _finish(run, RUN_NEEDS_REAUTH,
                       "Your Google account needs to be connected again before syncing.")
    try:
        runner = Runner(mapping, run, backoff=backoff)
        runner.handle_retired()
        if direction in (DIRECTION_IMPORT, DIRECTION_BOTH) and mapping.import_enabled:
            run.progress = "importing from Google"
            runner.import_()
        if direction in (DIRECTION_EXPORT, DIRECTION_BOTH) and mapping.export_enabled:
            run.progress = "exporting to Google"
            runner.export()
        runner.flush_counts()
        mapping.last_synced_at = utcnow()
    except google_services.NotConnected as exc:
        db.session.rollback()
        if isinstance(exc, google_services.TokensUnreadable):
            # The rollback undid the mark; without it the banner never shows and the
            # scheduler keeps trying this user.
            google_services.mark_needs_reauth(user, str(exc))
        return _finish(run, RUN_NEEDS_REAUTH, str(exc))
    except ReauthorizationNeeded as exc:
        db.session.rollback()
        google_services.mark_needs_reauth(user, f"Google refused access ({exc.reason or exc.status}); "
                                                "please reconnect.")
        return _finish(run, RUN_NEEDS_REAUTH,
                       "Google no longer accepts the portal's access; reconnect your account.")
    except TransientError:
        db.session.rollback()
        raise
    except GoogleError as exc:
        db.session.rollback()
        return _finish(run, RUN_FAILED, f"Google answered an error: {exc}")
    status = RUN_SUCCEEDED
    message = (f"{run.created} created, {run.updated} updated, {run.deleted} deleted, "
               f"{run.skipped} skipped, {run.conflicts} conflicts, {run.errors} errors")
    if run.errors == 0:
        google_services.record_sync_success(user)
    return _finish(run, status, message)


def _finish(run, status, message):
    run = db.session.get(SyncRun, run.id) or run
    run.status = status
    run.message = message
    run.progress = ""
    run.finished_at = utcnow()
    db.session.commit()
    return run
