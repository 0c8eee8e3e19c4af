"""The export's queue of changed activities, so an incremental export reads what changed
rather than every activity and link of the calendar.

Filled in the transaction that makes the change, from the session's flush: an activity
written through the ORM (inserted, edited, its attendees changed) is queued for every export
mapping that may have to act on it: the mappings it is linked in, and the export mappings of
its type belonging to its organizer and its participants. A link whose sync state changes
outside the export (made by an import without a synced version, detached, re-pointed) queues
its own pair. An UPDATE of activities issued as one statement queues the rows it matches.

Each entry carries ``seq``, bumped by every enqueue of the pair; an export deletes only the
entries it read, with the ``seq`` it read. A change committed while the export ran re-queues
its pair with a higher ``seq`` and is still there for the next run: there is no watermark a
late commit could slip under.

What the queue cannot pin to activities marks mappings for a full scan instead
(``CalendarMapping.export_scanned_at`` NULL): a mapping's calendar, type or Export switch
changing (an organizer's Export decides which participants' calendars show a meeting, so
every mapping of that type), *Synchronize from* moving, links forgotten on disconnect,
rows inserted in bulk or links changed by statements the ORM does not see row by row. Every
mapping also gets a full scan at least every ``EXPORT_FULL_SCAN_HOURS``: a backstop for
writes made behind the ORM's back (raw SQL in a console).

Statements the sync issues itself and accounts for pass ``execution_options(
export_queue=HANDLED)``.
"""
from sqlalchemy import and_, event, select, union_all, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from portal.sync.core.bulk import chunks

#: execution option value: this bulk statement's effect on the export is accounted for
HANDLED = "handled"
OPTION = "export_queue"

#: link columns whose change can leave something for the export to do
_LINK_SYNC_COLUMNS = ("synced_version", "state", "activity_id", "role", "mapping_id")
#: mapping columns that decide what a mapping (or another of its type) exports
_MAPPING_SCOPE_COLUMNS = ("calendar_id", "export_enabled", "activity_type_id", "user_id")
#: tables whose rows, changed in bulk, can change what an export must send
_ACTIVITY_TABLES = ("activities", "activity_participants", "activity_invitees")


# -- writing the queue -----------------------------------------------------------------------

def pairs_for(connection, activity_ids):
    """{(mapping id, activity id)} of the export mappings that may act on ``activity_ids``."""
    from portal.crm.models import Activity, activity_participants
    from portal.google.models import CalendarMapping
    from portal.sync.calendar.models import EventLink

    mappings = CalendarMapping.__table__
    activities = Activity.__table__
    exporting = and_(mappings.c.export_enabled.is_(True), mappings.c.calendar_id.is_not(None))
    pairs = set()
    for chunk in chunks(sorted(set(activity_ids))):
        linked = select(EventLink.mapping_id, EventLink.activity_id).join(
            mappings, mappings.c.id == EventLink.mapping_id).where(
            EventLink.activity_id.in_(chunk), exporting)
        people = union_all(
            select(activities.c.id.label("activity_id"), activities.c.organizer_id.label("user_id"),
                   activities.c.activity_type_id.label("type_id"))
            .where(activities.c.id.in_(chunk)),
            select(activity_participants.c.activity_id, activity_participants.c.user_id,
                   activities.c.activity_type_id)
            .join(activities, activities.c.id == activity_participants.c.activity_id)
            .where(activity_participants.c.activity_id.in_(chunk))).subquery()
        theirs = select(mappings.c.id, people.c.activity_id).join(people, and_(
            mappings.c.user_id == people.c.user_id,
            mappings.c.activity_type_id == people.c.type_id)).where(exporting)
        pairs.update((m, a) for m, a in connection.execute(linked))
        pairs.update((m, a) for m, a in connection.execute(theirs))
    return pairs


def put(connection, pairs):
    """Queue ``pairs`` (re-queue: ``seq`` + 1). Sorted, so two transactions queueing
    overlapping pairs lock them in the same order."""
    from portal.sync.calendar.models import ExportQueueEntry

    rows = [{"mapping_id": m, "activity_id": a, "seq": 1} for m, a in sorted(pairs)
            if m is not None and a is not None]
    if not rows:
        return
    table = ExportQueueEntry.__table__
    dialect = connection.dialect.name
    if dialect not in ("postgresql", "sqlite"):  # pragma: no cover - the two we run on
        for row in rows:
            done = connection.execute(update(table).where(
                table.c.mapping_id == row["mapping_id"],
                table.c.activity_id == row["activity_id"]).values(seq=table.c.seq + 1))
            if not done.rowcount:
                connection.execute(table.insert(), [row])
        return
    stmt = (postgresql if dialect == "postgresql" else sqlite).insert(table)
    stmt = stmt.on_conflict_do_update(index_elements=["mapping_id", "activity_id"],
                                      set_={"seq": table.c.seq + 1})
    connection.execute(stmt, rows)


def enqueue(connection, activity_ids):
    """Queue ``activity_ids`` for every export mapping that may act on them."""
    if activity_ids:
        put(connection, pairs_for(connection, activity_ids))


def rescan(connection, *, type_ids=None, user_id=None, everything=False):
    """Ask the mappings (of ``type_ids``, of ``user_id``, or all) for a full scan: their
    ``export_scanned_at`` goes NULL and ``export_rescans`` up, so an export already under
    way does not answer the request with a scan it began before it. The rows are locked in
    id order first (PostgreSQL), so two of these never wait on each other."""
    from portal.google.models import CalendarMapping

    table = CalendarMapping.__table__
    which = select(table.c.id).order_by(table.c.id).with_for_update()
    if everything:
        pass
    elif type_ids:
        which = which.where(table.c.activity_type_id.in_(sorted(type_ids)))
    elif user_id is not None:
        which = which.where(table.c.user_id == user_id)
    else:
        return
    ids = [row[0] for row in connection.execute(which)]
    for chunk in chunks(ids):
        connection.execute(update(table).where(table.c.id.in_(chunk)).values(
            export_scanned_at=None, export_rescans=table.c.export_rescans + 1))


# -- the session hooks -----------------------------------------------------------------------

def _changed(obj, names):
    from sqlalchemy import inspect

    state = inspect(obj)
    return any(state.attrs[name].history.has_changes() for name in names)


def _old_and_new(obj, name):
    from sqlalchemy import inspect

    history = inspect(obj).attrs[name].history
    return {v for v in list(history.deleted or ()) + list(history.added or ())
            + list(history.unchanged or ()) if v is not None}


@event.listens_for(Session, "before_flush")
def _rescan_for_changed_settings(session, flush_context, instances):
    """A mapping's calendar, type or Export switch, or a user's Synchronize from, about to
    change: the mappings concerned read everything at their next export. Done before the
    flush writes the mapping rows, so the rows are locked in one order (see :func:`rescan`)."""
    from portal.google.models import CalendarMapping, GoogleSyncSettings

    type_ids, users = set(), set()
    for obj in session.new:
        if isinstance(obj, CalendarMapping):
            type_ids.add(obj.activity_type_id)
        elif isinstance(obj, GoogleSyncSettings) and obj.sync_from is not None:
            users.add(obj.user_id)  # (no settings row read as no Synchronize from)
    for obj in session.dirty:
        if isinstance(obj, CalendarMapping) and _changed(obj, _MAPPING_SCOPE_COLUMNS):
            type_ids.update(_old_and_new(obj, "activity_type_id"))
        elif isinstance(obj, GoogleSyncSettings) and _changed(obj, ("sync_from",)):
            users.add(obj.user_id)
    for obj in session.deleted:
        if isinstance(obj, CalendarMapping):
            type_ids.add(obj.activity_type_id)
    type_ids.discard(None)
    users.discard(None)
    if not (type_ids or users):
        return
    connection = session.connection()
    if type_ids:
        rescan(connection, type_ids=type_ids)
    for user_id in sorted(users):
        rescan(connection, user_id=user_id)


@event.listens_for(Session, "after_flush")
def _queue_flushed_changes(session, flush_context):
    """Note what this flush changed (the session still shows the pre-flush state here), for
    :func:`_write_pending` to queue when the transaction commits."""
    from portal.crm.models import Activity
    from portal.sync.calendar.models import EventLink

    activity_ids, pairs = set(), set()
    quiet = session.info.get("export_queue_quiet")
    for obj in session.new:
        if isinstance(obj, Activity):
            activity_ids.add(obj.id)
        elif isinstance(obj, EventLink):
            if obj.synced_version is None and obj.activity_id is not None:
                pairs.add((obj.mapping_id, obj.activity_id))
    for obj in session.dirty:
        if isinstance(obj, Activity):
            if session.is_modified(obj):
                activity_ids.add(obj.id)
        elif isinstance(obj, EventLink):
            if _changed(obj, ("mapping_id",)):
                # moved to another mapping's calendar: that mapping looks at it
                pairs.update((m, obj.activity_id) for m in _old_and_new(obj, "mapping_id"))
            elif quiet != obj.mapping_id and _changed(obj, _LINK_SYNC_COLUMNS):
                pairs.update((obj.mapping_id, a) for a in _old_and_new(obj, "activity_id"))
    for obj in session.deleted:
        if isinstance(obj, EventLink) and obj.activity_id is not None \
                and quiet != obj.mapping_id:
            pairs.add((obj.mapping_id, obj.activity_id))
    if not (activity_ids or pairs):
        return
    # Written at commit, once for all of the transaction's flushes (an import flushes once
    # per event it applies).
    pending = session.info.setdefault(_PENDING, ([], []))
    pending[0].extend(activity_ids)
    pending[1].extend(pairs)


_PENDING = "export_queue_pending"


@event.listens_for(Session, "before_commit")
def _write_pending(session):
    session.flush()  # the last changes first (the commit would flush them after this hook)
    pending = session.info.pop(_PENDING, None)
    if pending is None:
        return
    activity_ids, pairs = (set(bucket) for bucket in pending)
    connection = session.connection()
    activity_ids.discard(None)
    if activity_ids:
        pairs |= pairs_for(connection, activity_ids)
    put(connection, pairs)


@event.listens_for(Session, "after_transaction_end")
def _forget_pending(session, transaction):
    """The transaction is over (committed: written already; rolled back: nothing to queue).
    A savepoint's end keeps it: its flushes are undone, but queueing too much costs an
    export a look at an unchanged activity, and too little would lose an edit."""
    if transaction.parent is None:
        session.info.pop(_PENDING, None)


@event.listens_for(Session, "do_orm_execute")
def _queue_bulk_statements(orm_execute_state):
    """A bulk INSERT, UPDATE or DELETE the flush hook never sees."""
    state = orm_execute_state
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    if state.execution_options.get(OPTION) == HANDLED:
        return
    table = getattr(state.statement, "table", None)
    name = getattr(table, "name", None)
    connection = state.session.connection()
    parameters = state.parameters
    one_row_of_parameters = parameters is None or isinstance(parameters, dict)
    if name == "activities" and state.is_update and one_row_of_parameters:
        # The rows it is about to change, read first in the same transaction; queued once
        # it ran, so a new type or organizer brings its own mappings in.
        matching = select(table.c.id)
        if state.statement.whereclause is not None:
            matching = matching.where(state.statement.whereclause)
        ids = [row[0] for row in connection.execute(matching, parameters or {})]
        result = state.invoke_statement()
        enqueue(connection, ids)
        return result
    if name == "activities" and state.is_delete:
        return None  # their links become tombstones, which every export reads
    if name in _ACTIVITY_TABLES or (name == "event_links" and not state.is_insert):
        # (an UPDATE run once per row of parameters lands here too: which rows it changes
        # is known only to the database)
        rescan(connection, everything=True)
    return None
