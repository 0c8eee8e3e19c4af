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
from dataclasses import replace
from datetime import datetime, time, timedelta, timezone

from sqlalchemy import and_, bindparam, delete, exists, insert, or_, select, update
from sqlalchemy.dialects import postgresql, sqlite

from flask import current_app

from portal.accounts.models import User
from portal.core.types import utcnow
from portal.crm import activities as crm_activities
from portal.crm.models import Activity, activity_participants
from portal.extensions import db
from portal.google import calendar_events as ce
from portal.google import services as google_services
from portal.google.client import PermanentError
from portal.google.models import CalendarMapping
from portal.jobs.connection import get_redis
from portal.sync.calendar import conference, crm_writes, export_queue
from portal.sync.calendar import engine as e
from portal.sync.calendar.directory import (
    Directory, Snapshots, emails_of_user, event_state, link_snapshot, load_activities,
    organizer_linked, self_answering, syncing_calendars,
)
from portal.sync.calendar.models import (
    LINK_ACTIVE, LINK_DETACHED, OWNER_CRM, ROLE_ORGANIZER, EventLink, ExportQueueEntry,
    GuestNotification,
)
from portal.sync.core import outcome
from portal.sync.core.bulk import chunks, in_query
from portal.sync.core.pacing import pacer_for
from portal.sync.core.recorder import KEPT_IN_CRM, Recorder
from portal.sync.core.runs import (
    DIRECTION_BOTH, DIRECTION_EXPORT, DIRECTION_IMPORT, RUN_FAILED, SyncRun,
)

log = logging.getLogger(__name__)

#: writes per committed chunk: one Google batch
CHUNK = ce.BATCH_SIZE


class SyncStopped(Exception):
    """The run cannot go on for this user (reconnect needed, mapping gone)."""


#: :meth:`Runner.remember_event`: leave the link's remembered merge base as it is
KEEP = object()


def _state_json(resource, exdates=(), fields=None):
    state = e.remembered_state(resource, exdates)
    if isinstance(fields, dict):
        # the field groups both sides agreed on at this sync: the merge base
        state["fields"] = fields
    return json.dumps(state, ensure_ascii=False)


def mapping_snapshot(mapping, user, sync_from, emails=(), others=(), calendar_zone=""):
    return e.MappingSnapshot(
        id=mapping.id, activity_type_id=mapping.activity_type_id,
        calendar_id=mapping.calendar_id or "", user_email=user.email, user_id=user.id,
        user_emails=tuple(sorted(emails)), time_zone=user.time_zone or "UTC",
        calendar_time_zone=calendar_zone, sync_from=sync_from,
        conflict_rule=mapping.conflict_rule or e.CONFLICT_CRM_WINS,
        delete_in_crm_on_google_delete=bool(mapping.delete_in_crm_when_deleted_in_google),
        export_enabled=bool(mapping.export_enabled),
        import_enabled=bool(mapping.import_enabled), other_calendars=tuple(others))


def _upsert(rows):
    """Insert the links of acknowledged inserts in one statement.

    If another run wrote a link for the same event meanwhile (a worker killed while its
    commit was still landing, or an overlapping run after a lock lapsed), that link is
    brought up to date instead of the unique key failing this whole run."""
    dialect = db.session.get_bind().dialect.name
    if dialect not in ("postgresql", "sqlite"):
        db.session.execute(insert(EventLink), rows)
        return
    db.session.execute(_upsert_statement(dialect, tuple(rows[0])), rows)


_UPSERTS = {}


def _upsert_statement(dialect, columns):
    """The upsert for rows of ``columns``, built once (SQLAlchemy then compiles it once
    too: a fresh statement per chunk was compiled again each time)."""
    stmt = _UPSERTS.get((dialect, columns))
    if stmt is None:
        stmt = (postgresql if dialect == "postgresql" else sqlite).insert(EventLink)
        keys = ("mapping_id", "event_id")
        stmt = stmt.on_conflict_do_update(
            index_elements=list(keys),
            set_={name: stmt.excluded[name] for name in columns
                  if name not in keys and name != "created_at"})
        _UPSERTS[(dialect, columns)] = stmt
    return stmt


class Runner:
    """One run of one mapping. Use :func:`run_mapping`."""

    def __init__(self, mapping, run, backoff=None, progress=None):
        self.mapping = mapping
        self.user = db.session.get(User, mapping.user_id)
        self.run = run
        self.backoff = backoff or ce.Backoff()
        self.recorder = Recorder(run)
        settings = google_services.get_sync_settings(self.user)
        self.sync_from = settings.sync_from if settings is not None else None
        self.emails = emails_of_user(self.user)
        others = [(m.activity_type_id, m.id, m.calendar_id, bool(m.export_enabled))
                  for m in google_services.user_mappings(self.user) if m.id != mapping.id]
        self.snap = mapping_snapshot(mapping, self.user, self.sync_from, self.emails, others)
        self.client = google_services.client_for(self.user)
        self.service = self.client.calendar
        self.batch_uri = self.client.endpoints.calendar_batch
        #: every worker writing to this Google account draws from one shared bucket
        self.pacer = pacer_for(get_redis(), current_app.config,
                               google_services.google_account_of(self.user))
        self._progress = progress
        #: snapshots by activity id: what was sent (after a chunk commit the rows are
        #: expired, and reading them again would cost one query per activity)
        self.snaps = {}
        #: links of acknowledged inserts, written in bulk with the chunk's commit
        self.new_links = []
        #: activities whose Google identity an acknowledged insert gave them
        self.identities = []
        #: activities whose conference an acknowledged write created or removed: the link
        #: to join it, as Google answered
        self.conferences = []
        #: links made during this run, by event id (for actions planned before they existed)
        self.made_links = {}
        #: activities whose guests Google was asked to email in the current chunk
        self.notified = []
        #: activities Google refused a write of, or answered with a newer copy (412): they
        #: stay in the export queue, so the next export looks at them again
        self.failed_ids = set()
        self.directory = Directory(owner_id=self.user.id)
        self.ctx = e.Context()

    # bookkeeping ----------------------------------------------------------------------------
    @property
    def counts(self):
        return self.recorder.counts

    def log(self, action, detail="", activity_id=None, event_id=None, subject="", versions=None):
        self.recorder.log(action, detail, activity_id, event_id, subject, versions)

    def flush_counts(self, progress=None):
        # One executemany each, not one INSERT per row (SQLite's ORM inserts row by row).
        if self.new_links:
            _upsert(self.new_links)
            self.new_links = []
        if self.identities:
            # A core UPDATE: the ORM would bump (and check) the version of each activity.
            table = Activity.__table__
            db.session.execute(update(table).where(table.c.id == bindparam("row")).values(
                ical_uid=bindparam("ical"), google_event_id=bindparam("event"))
                .execution_options(export_queue=export_queue.HANDLED), self.identities)
            self.identities = []
        if self.conferences:
            # Google's answer, not a CRM edit: no version bump (as for identities above).
            table = Activity.__table__
            db.session.execute(update(table).where(table.c.id == bindparam("row")).values(
                conference=bindparam("on"), conference_url=bindparam("url"),
                conference_name=bindparam("name"))
                .execution_options(export_queue=export_queue.HANDLED), self.conferences)
            self.conferences = []
        self.recorder.flush(progress)

    def commit(self, progress=None):
        self.flush_counts(progress)
        db.session.commit()

    # retired calendar -----------------------------------------------------------------------
    def handle_retired(self):
        """Links left in a calendar this type no longer syncs with. Events the CRM made
        there are deleted (the user chose "delete", and Export is on) or left; events made in
        Google are always left, and never copied into the new calendar (their activities are
        of Google origin). Every such link goes: the old calendar is no longer synced."""
        mapping = self.mapping
        if not mapping.retired_calendar_id and mapping.calendar_id:
            # Links change calendar only with their mapping (events.move takes them to the
            # target mapping's), and a mapping leaving a calendar retires it: none to look
            # for, and looking would read every link of the mapping on every run.
            return
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
            if action == "delete" and mapping.export_enabled:
                writes = [ce.Write(key=l.id, op=ce.OP_DELETE, event_id=l.event_id)
                          for l in links if l.owner == OWNER_CRM and l.state == LINK_ACTIVE
                          and (l.role or ROLE_ORGANIZER) == ROLE_ORGANIZER]
                for chunk in chunks(writes, CHUNK):
                    results = ce.apply_writes(self.service, self.batch_uri, calendar_id, chunk,
                                              backoff=self.backoff, pacer=self.pacer)
                    for result in results:
                        if result.ok:
                            self.counts.deleted += 1
                            self.log(e.DELETE_EVENT, "removed from the previous calendar",
                                     event_id=result.write.event_id)
            elif action == "delete":
                self.log(e.SKIP, "Export is off for this calendar: the events in the previous "
                                 "calendar were left in Google")
        if stale:
            db.session.execute(delete(EventLink).where(
                EventLink.id.in_([l.id for l in stale])).execution_options(
                synchronize_session=False, export_queue=export_queue.HANDLED))
        # Its links in the new calendar are yet to be made: the export reads everything.
        mapping.export_scanned_at = None
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

    def candidate_condition(self, window=True):
        """Activities this mapping exports: its type, shown in the calendar, in the user's
        scope (:meth:`scope_condition`), from *Synchronize from* on (a series that began
        earlier is a candidate: the engine checks whether it still recurs); ``window``
        False leaves *Synchronize from* out."""
        mapping = self.mapping
        condition = and_(Activity.activity_type_id == mapping.activity_type_id,
                         Activity.show_in_calendar.is_(True), self.scope_condition())
        if window and self.sync_from is not None:
            # A day of slack either side of UTC; the engine applies the exact local-day rule.
            from_utc = datetime.combine(self.sync_from - timedelta(days=1), time(),
                                        tzinfo=timezone.utc)
            condition = and_(condition, or_(
                and_(Activity.recurrence.is_not(None), Activity.recurrence != ""),
                and_(Activity.all_day.is_(True), Activity.start_date >= self.sync_from),
                and_(Activity.all_day.is_(False), Activity.start_at >= from_utc)))
        return condition

    def export(self):
        """Send what changed since Google last acknowledged it: the activities queued for
        this mapping (:mod:`portal.sync.calendar.export_queue`), or every candidate when a
        full scan is due. Either way the changed set is worked out in SQL, so an unchanged
        calendar costs the same few queries whatever its size."""
        mapping = self.mapping
        queued = dict(db.session.execute(select(
            ExportQueueEntry.activity_id, ExportQueueEntry.seq).where(
            ExportQueueEntry.mapping_id == mapping.id)).all())
        started = utcnow()
        # read now, not from the run's copy of the mapping: a full scan answers the
        # requests made before it began, and only those
        scanned_at, rescans = db.session.execute(select(
            CalendarMapping.export_scanned_at, CalendarMapping.export_rescans).where(
            CalendarMapping.id == mapping.id)).one()
        full = self.full_scan_due(scanned_at, started)
        if full:
            links, outside, new = self.changed_by_scan()
        else:
            links, outside, new = self.changed_in_queue(sorted(queued))
        dirty = new | outside | {l.activity_id for l in links if l.activity_id is not None}
        # Linked activities no longer in this user's scope (moved to another organizer):
        # their event leaves this calendar, or the meeting would be shown twice.
        in_scope = set(in_query(lambda chunk: select(Activity.id).where(
            Activity.id.in_(chunk), self.scope_condition()), outside)) if outside else set()
        rows = load_activities(sorted(dirty))
        existing = {a.id for a in rows}
        built = Snapshots(rows)
        snaps = [built.of(a) for a in rows]
        self.snaps.update((s.id, s) for s in snaps)
        relevant = links
        emails = {a.get("email") for l in relevant for a in (event_state(l) or {}).get(
            "attendees") or () if isinstance(a, dict)}
        self.directory.lookup(emails)
        self.ctx = e.Context(people=self.directory.people(),
                             organizer_linked=organizer_linked(existing))
        plan = e.plan_export(self.snap, snaps, [link_snapshot(l, existing) for l in relevant],
                             out_of_scope=outside - in_scope, ctx=self.ctx)
        # The snapshots say all a write needs: the rows leave the session, so the commit
        # after each batch does not expire (and later reload) thousands of them.
        for row in rows:
            db.session.expunge(row)
        # This mapping's own link bookkeeping is settled below, not queued again.
        db.session.info["export_queue_quiet"] = mapping.id
        try:
            plan = self.find_existing_events(plan)
            self.apply_export_plan(plan, {}, {l.id: l for l in links})
        finally:
            db.session.info.pop("export_queue_quiet", None)
        self.settle_queue(queued, dirty, (started, rescans) if full else None)

    @staticmethod
    def full_scan_due(scanned_at, now):
        hours = current_app.config.get("EXPORT_FULL_SCAN_HOURS", 6)
        return scanned_at is None or scanned_at < now - timedelta(hours=hours)

    def changed_by_scan(self):
        """(links, leaving ids, unlinked candidate ids) read from every link and candidate
        of the mapping."""
        mapping = self.mapping
        linked_here = exists().where(EventLink.mapping_id == mapping.id,
                                     EventLink.activity_id == Activity.id)
        # Activities linked here that left this user's calendar without changing (their
        # organizer's own sync took over, say): their event leaves.
        leaving = and_(Activity.id.is_not(None), EventLink.role == ROLE_ORGANIZER,
                       ~self.candidate_condition(window=False))
        # Links that may lead to an action: tombstones, activities changed since, and those
        # leaving (one pass over the mapping's links for all three).
        found = db.session.execute(select(EventLink, leaving).outerjoin(
            Activity, Activity.id == EventLink.activity_id).where(
            EventLink.mapping_id == mapping.id,
            or_(Activity.id.is_(None), EventLink.synced_version.is_(None),
                EventLink.synced_version != Activity.version, leaving))).all()
        links = [link for link, _ in found]
        outside = {link.activity_id for link, left in found if left}
        known = {l.id for l in links}
        if outside:
            links += [l for l in in_query(lambda chunk: select(EventLink).where(
                EventLink.mapping_id == mapping.id, EventLink.activity_id.in_(chunk)), outside)
                      if l.id not in known]
        new = set(db.session.scalars(select(Activity.id).where(
            self.candidate_condition(), ~linked_here)))
        return links, outside, new

    def changed_in_queue(self, ids):
        """The same as :meth:`changed_by_scan`, for the queued activities ``ids`` only (plus
        every tombstone: an index seek)."""
        mapping = self.mapping
        links = list(db.session.scalars(select(EventLink).where(
            EventLink.mapping_id == mapping.id, EventLink.activity_id.is_(None))))
        if not ids:
            return links, set(), set()
        versions = {}
        for chunk in chunks(ids):
            versions.update(db.session.execute(select(Activity.id, Activity.version).where(
                Activity.id.in_(chunk))).all())
        outside = set(in_query(lambda chunk: select(EventLink.activity_id).join(
            Activity, Activity.id == EventLink.activity_id).where(
            EventLink.mapping_id == mapping.id, EventLink.role == ROLE_ORGANIZER,
            EventLink.activity_id.in_(chunk), ~self.candidate_condition(window=False)), ids))
        theirs = in_query(lambda chunk: select(EventLink).where(
            EventLink.mapping_id == mapping.id, EventLink.activity_id.in_(chunk)), ids)
        links += [l for l in theirs if l.activity_id in outside or l.synced_version is None
                  or l.synced_version != versions.get(l.activity_id)]
        linked_here = exists().where(EventLink.mapping_id == mapping.id,
                                     EventLink.activity_id == Activity.id)
        new = set(in_query(lambda chunk: select(Activity.id).where(
            Activity.id.in_(chunk), self.candidate_condition(), ~linked_here), ids))
        return links, outside, new

    def settle_queue(self, queued, processed, scanned):
        """The export is done: its queue entries go, except for activities it still owes
        Google (a write refused, a link left behind its activity's version), which stay
        queued (or are queued) for the next run. An entry re-queued meanwhile (a higher
        ``seq``) stays too. ``scanned``: (start time, rescan counter read then) of a full
        scan."""
        mapping = self.mapping
        looked_at = set(queued) | set(processed)
        owed = set(self.failed_ids) & looked_at
        for chunk in chunks(sorted(looked_at)):
            owed.update(db.session.scalars(select(EventLink.activity_id).join(
                Activity, Activity.id == EventLink.activity_id).where(
                EventLink.mapping_id == mapping.id, EventLink.activity_id.in_(chunk),
                or_(EventLink.synced_version.is_(None),
                    EventLink.synced_version != Activity.version))))
        export_queue.put(db.session.connection(),
                         {(mapping.id, a) for a in owed if a not in queued})
        done = [{"m": mapping.id, "a": a, "s": seq} for a, seq in sorted(queued.items())
                if a not in owed]
        if done:
            table = ExportQueueEntry.__table__
            db.session.execute(delete(table).where(
                table.c.mapping_id == bindparam("m"), table.c.activity_id == bindparam("a"),
                table.c.seq <= bindparam("s")), done)
        if scanned is not None:
            started, rescans = scanned
            # Unless a full scan was asked for while this one ran (a rescan bumped the
            # counter): then the next export scans again.
            table = CalendarMapping.__table__
            db.session.execute(update(table).where(
                table.c.id == mapping.id, table.c.export_rescans == rescans).values(
                export_scanned_at=started))
        self.commit()

    def find_existing_events(self, plan):
        """Before inserting an activity that already has an event at Google (added into
        the CRM from one, then its link forgotten), look for that event: link it, never
        make a second one."""
        out = []
        for action in plan:
            snap = self.snaps.get(action.activity_id)
            if action.kind != e.INSERT_EVENT or action.link_id is not None or snap is None \
                    or not snap.google_event_id or snap.google_event_id == action.event_id:
                out.append(action)
                continue
            try:
                found = ce.get_event(self.service, self.mapping.calendar_id,
                                     snap.google_event_id, self.backoff)
            except PermanentError:
                found = None
            if not found or found.get("status") == "cancelled":
                out.append(action)
                continue
            event = e.EventSnapshot.from_resource(found)
            self.made_links[event.id] = self.make_link(snap.id, event, OWNER_CRM,
                                                       e.role_of(event, self.snap))
            db.session.flush()
            link = link_snapshot(self.made_links[event.id])
            out.extend(e.ImportPlanner(self.snap, [link], [snap], (), self.ctx)
                       .plan_changed(event, link, snap, force=True))
        return out

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
        for done, chunk in enumerate(chunks(writes, CHUNK)):
            self.apply_google_writes(chunk, rows, links_by_id)
            self.commit(f"exported {min((done + 1) * CHUNK, total)} of {total}")
        if not writes:
            self.commit()

    def apply_google_writes(self, actions, rows, links_by_id):
        """Send a chunk of event writes and record what Google acknowledged."""
        op_of = {e.INSERT_EVENT: ce.OP_INSERT, e.PATCH_EVENT: ce.OP_PATCH,
                 e.DELETE_EVENT: ce.OP_DELETE, e.MOVE_EVENT: ce.OP_MOVE}
        notify = self.guest_notifications(actions)
        writes = [ce.Write(key=i, op=op_of[a.kind], event_id=a.event_id, body=a.body,
                           if_match=a.if_match,
                           destination=(a.target or {}).get("calendar_id"),
                           send_updates="all" if a.activity_id in notify else None)
                  for i, a in enumerate(actions)]
        results = ce.apply_writes(self.service, self.batch_uri, self.snap.calendar_id, writes,
                                  send_updates=self.snap.send_updates, backoff=self.backoff,
                                  pacer=self.pacer)
        conflicts = []
        for action, result in zip(actions, results):
            activity = self.snaps.get(action.activity_id)
            subject = activity.subject if activity is not None else ""
            if result.error is not None:
                self.counts.errors += 1
                if action.activity_id is not None:
                    self.failed_ids.add(action.activity_id)
                message = f"Google rejected the event: {result.error}"
                self.log("error", message, action.activity_id, action.event_id, subject)
                link = self.link_for(action, links_by_id)
                if link is not None:
                    link.last_error = message
                continue
            if result.conflict_event is not None:
                conflicts.append((action, result.conflict_event))
                if action.activity_id is not None:
                    # decided below as an import would; whatever it decides, the next
                    # export looks again (an insert met this way has no link to say so)
                    self.failed_ids.add(action.activity_id)
                continue
            if not result.ok:
                continue
            if result.event and action.activity_id is not None \
                    and "conferenceData" in (action.body or {}):
                url, name = conference.join_link(result.event)
                on = conference.has_conference(result.event)
                self.conferences.append({"row": action.activity_id, "url": url, "name": name,
                                         "on": on})
                if action.base and "conference" in action.base:
                    # The activity is about to hold Google's link: so does the base, or the
                    # next change of the conference in Google would look like a conflict.
                    action = replace(action, base=dict(action.base,
                                                       conference=conference.state(on, url)))
            self.record_write(action, result.event, activity, links_by_id, rows)
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

    def link_for(self, action, links_by_id):
        if action.link_id is not None:
            link = links_by_id.get(action.link_id)
            if link is None:
                link = db.session.get(EventLink, action.link_id)
                if link is not None:
                    links_by_id[link.id] = link
            return link
        return self.made_links.get(action.event_id)

    def record_write(self, action, event, activity, links_by_id, rows):
        """Google acknowledged ``action``: write the link (``activity`` is the snapshot
        the body was built from, so its version is the one Google now has)."""
        link = self.link_for(action, links_by_id)
        subject = activity.subject if activity is not None else ""
        if action.kind == e.DELETE_EVENT:
            if link is not None:
                db.session.delete(link)
                links_by_id.pop(link.id, None)
            self.counts.deleted += 1
            self.log(action.kind, action.reason, action.activity_id, action.event_id, subject)
            return
        if action.kind == e.MOVE_EVENT:
            if link is not None:
                link.mapping_id = action.target["mapping_id"]
                link.calendar_id = action.target["calendar_id"]
                self.remember_event(link, event)
                links_by_id.pop(link.id, None)
            self.counts.updated += 1
            self.log(action.kind, action.reason, action.activity_id, action.event_id, subject)
            return
        if link is None:
            # (the snapshot's ids: the mapping row is expired after every chunk's commit)
            values = dict(mapping_id=self.snap.id, user_id=self.snap.user_id,
                          activity_id=action.activity_id, calendar_id=self.snap.calendar_id,
                          event_id=action.event_id, owner=OWNER_CRM, state=LINK_ACTIVE,
                          role=action.role or ROLE_ORGANIZER,
                          synced_version=activity.version if activity is not None else None,
                          etag="", ical_uid="", html_link="", recurring_event_id="",
                          event_state=None, google_updated_at=None, synced_at=utcnow(),
                          created_at=utcnow(), last_error=None, crm_deleted_at=None)
            if event:
                values.update(etag=event.get("etag") or "",
                              event_state=_state_json(event, fields=action.base),
                              google_updated_at=e.parse_rfc3339(event.get("updated")),
                              ical_uid=event.get("iCalUID") or "",
                              html_link=event.get("htmlLink") or "",
                              recurring_event_id=event.get("recurringEventId") or "")
                if activity is not None and (activity.ical_uid != event.get("iCalUID")
                                             or activity.google_event_id != event.get("id")):
                    self.identities.append({"row": activity.id,
                                            "ical": event.get("iCalUID") or None,
                                            "event": event.get("id")})
            self.new_links.append(values)
            self.counts.created += 1
            self.log(action.kind, action.reason, action.activity_id, action.event_id, subject)
            return
        self.counts.updated += 1
        link.state = LINK_ACTIVE
        link.last_error = None
        link.synced_version = activity.version if activity is not None else None
        self.remember_event(link, event, fields=action.base if action.base else KEEP,
                            activity=activity)
        self.log(action.kind, action.reason, action.activity_id, action.event_id, subject)

    @staticmethod
    def remember_event(link, event, exdates=(), fields=KEEP, activity=None):
        """Store what the link needs of Google's copy of the event: etag, updated, ids and
        the state :func:`link_snapshot` reads back (attendee objects, recurrence, the
        EXDATEs derived from its exceptions: those remembered plus ``exdates``, and the
        merge base: ``fields``; None forgets it, :data:`KEEP` leaves the remembered one).
        ``activity``: the snapshot just written to Google; derived EXDATEs it no longer has
        (the series moved, and sent its EXDATEs along) are forgotten."""
        if not event:
            return
        previous_state = event_state(link) or {}
        previous = previous_state.get("exdates") or []
        keep = list(previous) + list(exdates) if event.get("recurrence") else []
        if activity is not None:
            own = set(activity.recurrence)
            keep = [line for line in keep if line in own]
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
        """A conditional write met Google's newer copy (412): plan again as an import would,
        from that copy."""
        link = self.link_for(action, links_by_id)
        if link is None:
            return
        event = e.EventSnapshot.from_resource(fresh)
        activity = self._row(action.activity_id, rows)
        if activity is None:
            # Deleted in the CRM, changed in Google since: the conflict rule decides.
            if action.kind != e.DELETE_EVENT:
                return
            plan = self.planner([link_snapshot(link)], []).plan_edit_of_deleted(
                event, link_snapshot(link))
            self.apply_import_plan(plan, rows, links_by_id)
            if not any(a.kind == e.CREATE_ACTIVITY for a in plan):
                retry = replace(action, if_match=None)
                self.apply_google_writes([retry], rows, links_by_id)
            return
        built = Snapshots([activity])
        snap = built.of(activity)
        self.snaps[snap.id] = snap
        self.directory.lookup(a.get("email") for a in fresh.get("attendees") or ()
                              if isinstance(a, dict))
        self.ctx = replace(self.ctx, people=self.directory.people())
        plan = self.planner([link_snapshot(link)], [snap]).plan_changed(
            event, link_snapshot(link), snap)
        self.apply_import_plan(plan, rows, links_by_id)

    def planner(self, links, snaps, other_links=()):
        return e.ImportPlanner(self.snap, links, snaps, other_links, self.ctx)

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
        if listing.time_zone:
            self.snap = replace(self.snap, calendar_time_zone=listing.time_zone)
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
            links = in_query(lambda chunk: select(EventLink).where(
                EventLink.mapping_id == mapping.id, EventLink.event_id.in_(chunk)), wanted)
        linked_ids = {l.event_id for l in links}
        unlinked = [ev for ev in events if ev.id not in linked_ids and not ev.cancelled]
        ical_uids = {ev.ical_uid for ev in unlinked if ev.ical_uid}
        unlinked_ids = {ev.id for ev in unlinked}
        other_links = in_query(lambda chunk: select(EventLink).where(
            EventLink.mapping_id != mapping.id, EventLink.ical_uid.in_(chunk),
            EventLink.activity_id.is_not(None)), ical_uids)
        other_links += in_query(lambda chunk: select(EventLink).where(
            EventLink.mapping_id != mapping.id, EventLink.user_id == mapping.user_id,
            EventLink.event_id.in_(chunk), EventLink.state == LINK_ACTIVE,
            EventLink.activity_id.is_not(None)), unlinked_ids)
        own_uids = {ev.activity_uid for ev in unlinked if ev.activity_uid is not None}
        activity_ids = {l.activity_id for l in list(links) + list(other_links)
                        if l.activity_id is not None}
        known_uids = set()
        for chunk in chunks(own_uids):
            for activity_id, uid in db.session.execute(select(Activity.id, Activity.uid).where(
                    Activity.uid.in_(chunk))):
                activity_ids.add(activity_id)
                known_uids.add(uid)
        if ical_uids:
            activity_ids |= set(in_query(lambda chunk: select(Activity.id).where(
                Activity.ical_uid.in_(chunk)), ical_uids))
        if unlinked_ids:
            activity_ids |= set(in_query(lambda chunk: select(Activity.id).where(
                Activity.google_event_id.in_(chunk)), unlinked_ids))
        rows = load_activities(sorted(activity_ids))
        existing = {a.id for a in rows}
        built = Snapshots(rows)
        snaps = [built.of(a) for a in rows]
        self.snaps.update((s.id, s) for s in snaps)
        self.ctx = replace(self.import_context(events, links, existing),
                           known_uids=frozenset(known_uids))
        plan = e.plan_import(self.snap, events, [link_snapshot(l, existing) for l in links],
                             snaps, full_sync=listing.full,
                             other_links=[link_snapshot(l, existing) for l in other_links],
                             ctx=self.ctx)
        self.apply_import_plan(plan, {a.id: a for a in rows}, {l.id: l for l in links})
        mapping.sync_token = listing.next_sync_token
        self.commit("import done")

    def import_context(self, events, links, activity_ids):
        """What the engine needs beyond this mapping: who the addresses are, which meetings
        their organizer syncs, and where events deleted here went."""
        emails = set(self.emails)
        organizers = set()
        for event in events:
            organizer = event.organizer_email
            if organizer:
                emails.add(organizer)
                organizers.add(organizer)
            emails.update((a.get("email") or "") for a in event.resource.get("attendees") or ()
                          if isinstance(a, dict))
        for link in links:
            emails.update(a.get("email") for a in (event_state(link) or {}).get(
                "attendees") or () if isinstance(a, dict))
        self.directory.lookup(emails)
        return e.Context(people=self.directory.people(),
                         organizer_linked=organizer_linked(activity_ids),
                         syncing_calendars=syncing_calendars(organizers - self.snap.emails),
                         moved=self.find_moves(events, links),
                         self_answering=self_answering(activity_ids))

    def find_moves(self, events, links):
        """Events deleted in this calendar that live on in another calendar the user maps
        (moved in Google): ``{event id: (mapping id, type id, calendar id)}``."""
        active = {l.event_id for l in links if l.state == LINK_ACTIVE and l.activity_id}
        gone = [ev.id for ev in events if ev.cancelled and ev.id in active
                and not ev.recurring_event_id]
        others = [(m_id, type_id, cal) for type_id, m_id, cal, _ in self.snap.other_calendars
                  if cal and cal != self.mapping.calendar_id]
        found = {}
        if not gone or not others:
            return found
        for event_id in gone:
            for mapping_id, type_id, calendar_id in others:
                try:
                    resource = ce.get_event(self.service, calendar_id, event_id, self.backoff)
                except PermanentError:
                    continue
                if resource.get("status") != "cancelled":
                    found[event_id] = (mapping_id, type_id, calendar_id)
                    break
        return found

    def apply_import_plan(self, plan, rows, links_by_id):
        google_writes, new = [], []
        for action in plan:
            if action.kind == e.CREATE_ACTIVITY and action.link_id is None:
                new.append(action)
        self.create_in_bulk(new)
        for action in plan:
            if action.kind in e.GOOGLE_ACTIONS:
                google_writes.append(action)
            elif not (action.kind == e.CREATE_ACTIVITY and action.link_id is None):
                self.apply_local(action, rows, links_by_id)
        if google_writes:
            self.apply_google_writes(google_writes, rows, links_by_id)

    def create_in_bulk(self, actions):
        """New activities from new Google events, and their links, a few multi-row INSERTs
        for any number of them (a flush per activity made large imports quadratic)."""
        if not actions:
            return
        created = crm_writes.create_activities(actions, self.directory, user=self.user,
                                               type_id=self.mapping.activity_type_id)
        now = utcnow()
        links = []
        for action, activity_id in created:
            event = action.event
            resource = event.resource
            links.append(dict(
                mapping_id=self.mapping.id, user_id=self.mapping.user_id,
                activity_id=activity_id, calendar_id=self.mapping.calendar_id,
                event_id=event.id, owner=action.owner or e.OWNER_GOOGLE,
                role=action.role or ROLE_ORGANIZER, state=LINK_ACTIVE, synced_version=1,
                etag=event.etag or "", ical_uid=event.ical_uid or "",
                html_link=event.html_link or "",
                recurring_event_id=event.recurring_event_id or "",
                event_state=_state_json(resource, action.exdates if resource.get("recurrence")
                                        else (), action.base),
                google_updated_at=event.updated, synced_at=now, created_at=now,
                last_error=None, crm_deleted_at=None))
            self.counts.created += 1
            self.log(action.kind, action.reason, activity_id, event.id,
                     action.fields.get("subject", ""))
        self.new_links.extend(links)

    # local (CRM-side) actions ---------------------------------------------------------------
    def make_link(self, activity_id, event, owner, role, synced_version=None):
        link = EventLink(mapping_id=self.mapping.id, user_id=self.mapping.user_id,
                         activity_id=activity_id, calendar_id=self.mapping.calendar_id,
                         event_id=event.id, owner=owner, role=role or ROLE_ORGANIZER,
                         state=LINK_ACTIVE, synced_version=synced_version)
        self.remember_event(link, event.resource, fields=None)
        db.session.add(link)
        return link

    def _row(self, activity_id, rows):
        activity = rows.get(activity_id) if activity_id else None
        if activity is None and activity_id:
            found = load_activities([activity_id])
            if found:
                activity = rows[activity_id] = found[0]
        return activity

    def _refresh_snap(self, activity):
        db.session.flush()
        snap = self.snaps.get(activity.id)
        if snap is not None:
            # a patch of this activity later in the run records the version it now has
            self.snaps[activity.id] = replace(snap, version=activity.version,
                                              subject=activity.subject)

    #: local actions that read or write the activity row itself (the others log from the
    #: snapshot: no row is loaded for them)
    ROW_ACTIONS = (e.UNLINK, e.UPDATE_ACTIVITY, e.DELETE_ACTIVITY, e.LINK_ACTIVITY,
                   e.MOVE_LINK, e.ADD_EXCEPTION)

    def apply_local(self, action, rows, links_by_id):
        kind = action.kind
        link = self.link_for(action, links_by_id)
        needs_row = kind in self.ROW_ACTIONS or (kind == e.REBASE and action.answers)
        activity = self._row(action.activity_id, rows) if needs_row else None
        snap = self.snaps.get(action.activity_id)
        subject = activity.subject if activity is not None else (
            snap.subject if snap is not None else (action.fields or {}).get("subject", ""))
        event = action.event
        if kind == e.SKIP:
            if link is not None and action.synced_version is not None:
                link.synced_version = action.synced_version
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
            if activity is not None and action.synced_version is not None:
                # Deleted in Google, kept here: remember the version so it is not re-exported
                # until someone edits it again.
                link.state = LINK_DETACHED
                link.synced_version = action.synced_version
                self.remember_event(link, event.resource if event else None)
                self.counts.kept += 1
                kind = KEPT_IN_CRM
            else:
                db.session.delete(link)
                links_by_id.pop(link.id, None)
            self.log(kind, action.reason, action.activity_id, action.event_id, subject)
        elif kind == e.CREATE_ACTIVITY:
            self.create_activity(action, link, rows, links_by_id)
        elif kind == e.UPDATE_ACTIVITY:
            if activity is None or link is None:
                return
            organizer_id = activity.organizer_id
            try:
                crm_writes.write_fields(activity, action.fields,
                                        action.groups or e.FIELD_GROUPS, self.directory,
                                        organizer_id, self.user)
            except crm_activities.ActivityError as exc:
                # One event the CRM cannot take is logged and skipped; the rest goes on.
                db.session.refresh(activity)
                self.counts.errors += 1
                self.log("error", f"The CRM cannot take this change from Google: {exc}",
                         activity.id, action.event_id, activity.subject)
                return
            if action.answers:
                crm_writes.apply_answers(activity, action.answers, self.skip_answers(activity))
            self._refresh_snap(activity)
            link.role = action.role or link.role
            if action.synced_version is not None:
                # A merge with a patch to follow: the link records this sync only once
                # Google acknowledged the patch (which also writes the merge base).
                link.synced_version = action.synced_version
                self.remember_event(link, event.resource, action.exdates, fields=KEEP)
            else:
                link.synced_version = activity.version
                self.remember_event(link, event.resource, action.exdates, fields=action.base)
            self.counts.updated += 1
            self.log(kind, action.reason, activity.id, action.event_id, activity.subject)
        elif kind == e.REBASE:
            if link is None:
                return
            if event is not None:
                self.remember_event(link, event.resource,
                                    fields=action.base if action.base else KEEP)
            if action.role:
                link.role = action.role
            if activity is not None and action.answers:
                crm_writes.apply_answers(activity, action.answers, self.skip_answers(activity))
            snap = self.snaps.get(action.activity_id)
            if snap is not None:
                link.synced_version = snap.version
            elif action.synced_version is not None:
                link.synced_version = action.synced_version
            link.last_error = None
        elif kind == e.DELETE_ACTIVITY:
            self.delete_activity(action, link, activity, rows, links_by_id, subject)
        elif kind == e.LINK_ACTIVITY:
            self.link_activity(action, activity, rows, links_by_id)
        elif kind == e.MOVE_LINK:
            if link is None or activity is None:
                return
            link.mapping_id = action.target["mapping_id"]
            link.calendar_id = action.target["calendar_id"]
            links_by_id[link.id] = link
            if activity.activity_type_id != action.target["activity_type_id"]:
                crm_activities.save_activity(
                    activity, source=crm_activities.SOURCE_GOOGLE,
                    activity_type_id=action.target["activity_type_id"])
                self._refresh_snap(activity)
            self.counts.updated += 1
            self.log(kind, action.reason, activity.id, action.event_id, activity.subject)
        elif kind == e.ADD_EXCEPTION:
            if activity is None:
                return
            if link is not None:
                # Remembered as Google's own exception: never sent back to Google.
                state = event_state(link) or e.remembered_state({})
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

    def skip_answers(self, activity):
        """Users who answer through their own copy of this meeting (and this user, whose
        answer comes with their own copy's answer group)."""
        skip = set(self.ctx.self_answering.get(activity.id, ()))
        skip.add(self.user.id)
        return skip

    def create_activity(self, action, link, rows, links_by_id):
        event = action.event
        organizer = db.session.get(User, action.organizer_id) if action.organizer_id else None
        organizer = organizer or self.user
        new = crm_writes.create_activity(action.fields, self.directory, organizer=organizer,
                                         user=self.user, type_id=self.mapping.activity_type_id,
                                         event=event)
        if action.answers:
            crm_writes.apply_answers(new, action.answers, self.skip_answers(new))
        rows[new.id] = new
        if link is not None:
            # Google's edit won over the CRM's delete: the tombstone gets its activity back.
            link.activity_id = new.id
            link.crm_deleted_at = None
            link.state = LINK_ACTIVE
            link.synced_version = new.version
            link.role = action.role or link.role
            self.remember_event(link, event.resource, action.exdates, fields=action.base)
        else:
            link = EventLink(mapping_id=self.mapping.id, user_id=self.mapping.user_id,
                             activity_id=new.id, calendar_id=self.mapping.calendar_id,
                             event_id=event.id, owner=action.owner or e.OWNER_GOOGLE,
                             role=action.role or ROLE_ORGANIZER, state=LINK_ACTIVE,
                             synced_version=new.version)
            self.remember_event(link, event.resource, action.exdates, fields=action.base)
            db.session.add(link)
        self.counts.created += 1
        self.log(action.kind, action.reason, new.id, event.id, new.subject)

    def link_activity(self, action, activity, rows, links_by_id):
        if activity is None:
            return
        event = action.event
        if action.organizer_id and action.organizer_id != activity.organizer_id:
            # The organizer's own copy arrived: the meeting is theirs in the CRM too; whoever
            # held it stays on as a participant.
            previous = activity.organizer
            new_organizer = db.session.get(User, action.organizer_id)
            participants = [p for p in activity.participants if p.id != new_organizer.id]
            if previous is not None and all(p.id != previous.id for p in participants):
                participants.append(previous)
            crm_activities.save_activity(activity, source=crm_activities.SOURCE_GOOGLE,
                                         organizer=new_organizer, participants=participants)
            db.session.flush()
        elif action.role == e.ROLE_GUEST and activity.organizer_id != self.user.id \
                and all(p.id != self.user.id for p in activity.participants):
            crm_activities.save_activity(
                activity, source=crm_activities.SOURCE_GOOGLE,
                participants=list(activity.participants) + [self.user])
            db.session.flush()
        if not activity.ical_uid or not activity.google_event_id:
            crm_writes.set_identity(activity.id, event)
        link = self.make_link(activity.id, event, action.owner, action.role)
        db.session.flush()
        links_by_id[link.id] = link
        self.made_links[event.id] = link
        self._refresh_snap(activity)
        self.counts.updated += 1
        self.log(action.kind, action.reason, activity.id, event.id, activity.subject)

    def delete_activity(self, action, link, activity, rows, links_by_id, subject):
        if link is not None:
            db.session.delete(link)
            links_by_id.pop(link.id, None)
        if activity is not None:
            others = db.session.scalar(select(EventLink.id).where(
                EventLink.activity_id == activity.id,
                EventLink.mapping_id != self.mapping.id).limit(1))
            if others is None or (link is not None and link.role == ROLE_ORGANIZER) \
                    or activity.organizer_id == self.user.id:
                crm_activities.delete_activity(activity, source=crm_activities.SOURCE_GOOGLE)
                rows.pop(activity.id, None)
            else:
                # A shared meeting someone else organizes: only this user leaves it.
                crm_activities.save_activity(
                    activity, source=crm_activities.SOURCE_GOOGLE,
                    participants=[p for p in activity.participants if p.id != self.user.id])
        self.counts.deleted += 1
        self.log(action.kind, action.reason, action.activity_id, action.event_id, subject)


def run_mapping(mapping_id, direction=DIRECTION_BOTH, run=None, backoff=None):
    """Sync one mapping now, in this process; returns the SyncRun.

    ``direction``: "import", "export" or "both" (import first, so a change on both sides is
    seen as a conflict and resolved by the mapping's rule before anything is sent).
    A mapping without a calendar only has its previous calendar cleaned up.
    Raises :class:`TransientError` (the job retries) after recording it on the run;
    a reconnect-needed error marks the connection and ends the run as needs_reauth.
    """
    mapping = db.session.get(CalendarMapping, mapping_id)
    if run is None:
        run = SyncRun(job_id=f"inline-{mapping_id}-{utcnow().timestamp()}",
                      mapping_id=mapping_id, user_id=mapping.user_id if mapping else None,
                      direction=direction)
        db.session.add(run)
    outcome.start(run)
    if mapping is None or (not mapping.calendar_id and not mapping.retired_calendar_id):
        return outcome.finish(run, RUN_FAILED, "This calendar mapping no longer exists.")
    user = db.session.get(User, mapping.user_id)

    def work():
        runner = Runner(mapping, run, backoff=backoff)
        runner.handle_retired()
        if mapping.calendar_id:
            if direction in (DIRECTION_IMPORT, DIRECTION_BOTH) and mapping.import_enabled:
                run.progress = "importing from Google"
                runner.import_()
            if direction in (DIRECTION_EXPORT, DIRECTION_BOTH) and mapping.export_enabled:
                run.progress = "exporting to Google"
                runner.export()
        runner.flush_counts()
        mapping.last_synced_at = utcnow()
        if run.errors == 0:
            google_services.record_sync_success(user)
        if not mapping.calendar_id:
            return "The previous calendar was cleaned up; this type is not synchronized."
        return runner.recorder.summary()

    return outcome.settle(run, user, work)
