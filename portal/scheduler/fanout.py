"""The Google sync crons' fan-out: one sync job per (user, mapping) that is due.

Due means: the mapping has a calendar and the direction switched on (or a previous
calendar still to clean up), its user is active,
has *Synchronize calendar automatically* on, and the user's period has elapsed since that
mapping's last run in this direction. Users whose connection needs reauthorization are
skipped and counted, never retried in a loop.

Cost is the point here (bench/dispatcher_bench.py measures it): one SQL read for every
candidate, one bulk INSERT of the SyncRun rows, and Redis in two pipelines (the per-mapping
locks, then every job; a third reads who holds the locks not taken, when there are any)
rather than round trips per job.
"""
import uuid
from dataclasses import dataclass, field
from datetime import timedelta

from rq import Retry
from rq.job import Dependency, Job
from sqlalchemy import and_, func, insert, or_, select

from portal.accounts.models import User
from portal.core.types import utcnow
from portal.extensions import db
from portal.google.models import (STATUS_CONNECTED, STATUS_NEEDS_REAUTH, CalendarMapping,
                                  GoogleConnection, GoogleSyncSettings)
from portal.jobs.connection import get_queue, get_redis
from portal.jobs.locks import DEFAULT_TTL, mapping_lock_key
from portal.jobs.sync import JOB_TIMEOUT, RETRY_INTERVALS, sync_mapping
from portal.sync.core.runs import (
    DIRECTION_BOTH, DIRECTION_EXPORT, DIRECTION_IMPORT, RUN_QUEUED, SyncRun,
)

#: chunk size for the Redis pipelines and the bulk insert
BATCH = 500


@dataclass
class FanOutResult:
    job_ids: list = field(default_factory=list)
    skipped_reauth: int = 0
    skipped_busy: int = 0


def due_mappings(direction, now):
    """[(mapping_id, user_id)] due for ``direction`` now, and how many users need reauth."""
    enabled = (CalendarMapping.export_enabled if direction == "export"
               else CalendarMapping.import_enabled)
    last_run = (select(SyncRun.mapping_id, func.max(SyncRun.created_at).label("last_at"))
                .where(SyncRun.direction.in_((direction, DIRECTION_BOTH)))
                .group_by(SyncRun.mapping_id).subquery())
    rows = db.session.execute(
        select(CalendarMapping.id, CalendarMapping.user_id, GoogleSyncSettings.period_minutes,
               last_run.c.last_at, GoogleConnection.status,
               GoogleConnection.refresh_token_encrypted.is_not(None))
        .join(User, User.id == CalendarMapping.user_id)
        .join(GoogleSyncSettings, GoogleSyncSettings.user_id == CalendarMapping.user_id)
        .outerjoin(GoogleConnection, GoogleConnection.user_id == CalendarMapping.user_id)
        .outerjoin(last_run, last_run.c.mapping_id == CalendarMapping.id)
        .where(or_(and_(CalendarMapping.calendar_id.is_not(None), enabled.is_(True)),
                   CalendarMapping.retired_calendar_id.is_not(None)),
               User.active.is_(True), GoogleSyncSettings.auto_sync.is_(True))
        .order_by(CalendarMapping.id)).all()
    due, reauth_users = [], set()
    for mapping_id, user_id, period, last_at, status, has_token in rows:
        if status == STATUS_NEEDS_REAUTH:
            reauth_users.add(user_id)
            continue
        if status != STATUS_CONNECTED or not has_token:
            continue  # never connected, or disconnected: nothing to sync, nothing to report
        if last_at is not None and last_at.replace(tzinfo=now.tzinfo) > now - timedelta(
                minutes=period):
            continue
        due.append((mapping_id, user_id))
    return due, len(reauth_users)


def enqueue_due_syncs(direction, now=None):
    """Enqueue one ``sync_mapping`` job per due mapping; returns a FanOutResult.

    A mapping locked by a queued or running job of the *other* direction gets its job
    chained behind that one (an RQ dependency), so imports are never starved by exports; one
    locked by a job of the same direction is busy and skipped.
    """
    now = now or utcnow()
    due, skipped_reauth = due_mappings(direction, now)
    return _enqueue([(m, u, direction) for m, u in due], now,
                    FanOutResult(skipped_reauth=skipped_reauth))


def enqueue_due_syncs_both(now=None):
    """The export and import crons fell due on the same tick: one job per mapping does what
    is due of both (import first, then export), instead of two jobs where the second would
    have to wait behind the first. Returns {direction: FanOutResult}."""
    now = now or utcnow()
    due_export, reauth_export = due_mappings(DIRECTION_EXPORT, now)
    due_import, reauth_import = due_mappings(DIRECTION_IMPORT, now)
    exporting = dict(due_export)
    importing = dict(due_import)
    entries = []
    for mapping_id in sorted(set(exporting) | set(importing)):
        user_id = exporting.get(mapping_id, importing.get(mapping_id))
        direction = DIRECTION_BOTH if mapping_id in exporting and mapping_id in importing \
            else (DIRECTION_EXPORT if mapping_id in exporting else DIRECTION_IMPORT)
        entries.append((mapping_id, user_id, direction))
    combined = _enqueue(entries, now, FanOutResult())
    results = {}
    for direction, due, reauth in ((DIRECTION_EXPORT, exporting, reauth_export),
                                   (DIRECTION_IMPORT, importing, reauth_import)):
        result = FanOutResult(skipped_reauth=reauth, skipped_busy=combined.skipped_busy)
        result.job_ids = [job_id for job_id in combined.job_ids
                          if _mapping_of(job_id) in due]
        results[direction] = result
    return results


def _mapping_of(job_id):
    """The mapping id inside a job id ``sync-<mapping>-<random>``."""
    try:
        return int(job_id.split("-")[1])
    except (IndexError, ValueError):
        return None


def _enqueue(entries, now, result):
    """Enqueue ``sync_mapping`` for ``[(mapping id, user id, direction)]`` in pipelines."""
    redis, queue = get_redis(), get_queue()
    for start in range(0, len(entries), BATCH):
        directions = {m: d for m, _, d in entries[start:start + BATCH]}
        chunk = [(m, u, f"sync-{m}-{uuid.uuid4().hex[:12]}")
                 for m, u, _ in entries[start:start + BATCH]]
        locked, held = _take_locks(redis, chunk)
        chained = [pair for pair in _chainable(redis, held, None, directions)]
        # Not ours and not chained: busy (a lock freed between our two reads included).
        result.skipped_busy += len(chunk) - len(locked) - len(chained)
        jobs = [(entry, None) for entry in locked] + chained
        if not jobs:
            continue
        db.session.execute(insert(SyncRun), [
            dict(job_id=job_id, mapping_id=m, user_id=u, direction=directions[m],
                 status=RUN_QUEUED, created_at=now, progress="", message="")
            for (m, u, job_id), _ in jobs])
        # The rows must be visible before a worker can pick the jobs up.
        db.session.commit()
        with redis.pipeline() as pipe:
            queue.enqueue_many([
                queue.prepare_data(sync_mapping, args=(m, directions[m]), job_id=job_id,
                                   timeout=JOB_TIMEOUT, result_ttl=24 * 3600,
                                   failure_ttl=7 * 24 * 3600,
                                   depends_on=after and Dependency(after, allow_failure=True),
                                   retry=Retry(max=len(RETRY_INTERVALS), interval=RETRY_INTERVALS),
                                   description=f"sync mapping {m} ({directions[m]}, "
                                               "scheduled)")
                for (m, _, job_id), after in jobs], pipeline=pipe)
            pipe.execute()
        result.job_ids.extend(job_id for (_, _, job_id), _ in jobs)
    return result


def _take_locks(redis, chunk):
    """SET NX each mapping's lock in one round trip, then read the holders of the locks we
    did not get in a second one (only when there are any: on most ticks every lock is free,
    and a GET per mapping was a fifth of the tick's commands).

    Returns (entries we locked, [(entry, job id holding the lock)] for the others)."""
    with redis.pipeline(transaction=False) as pipe:
        for mapping_id, _, job_id in chunk:
            pipe.set(mapping_lock_key(mapping_id), job_id, nx=True, ex=DEFAULT_TTL)
        acquired = pipe.execute()
    locked = [entry for entry, got in zip(chunk, acquired) if got]
    refused = [entry for entry, got in zip(chunk, acquired) if not got]
    if not refused:
        return locked, []
    with redis.pipeline(transaction=False) as pipe:
        for mapping_id, _, _ in refused:
            pipe.get(mapping_lock_key(mapping_id))
        holders = pipe.execute()
    # A lock released between the two round trips has no holder: skipped this tick, and
    # counted, as a busy one is (the next tick takes it).
    held = [(entry, holder.decode() if isinstance(holder, bytes) else holder)
            for entry, holder in zip(refused, holders) if holder]
    return locked, held


def _chainable(redis, held, direction, directions=None):
    """The held entries whose lock holder is a live job of the other direction (a job that
    does both is never chained: whatever holds the lock does what it would)."""
    if not held:
        return []
    holders = [holder for _, holder in held]
    holder_direction = dict(db.session.execute(
        select(SyncRun.job_id, SyncRun.direction).where(SyncRun.job_id.in_(holders))).all())

    def wanted(entry):
        return (directions or {}).get(entry[0], direction)

    other = {holder for entry, holder in held
             if holder in holder_direction and wanted(entry) != DIRECTION_BOTH
             and holder_direction[holder] not in (wanted(entry), DIRECTION_BOTH)}
    with redis.pipeline(transaction=False) as pipe:
        for holder in holders:
            pipe.exists(Job.key_for(holder))
        alive = pipe.execute()
    return [(entry, holder) for (entry, holder), exists in zip(held, alive)
            if exists and holder in other]
