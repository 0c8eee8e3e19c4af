"""Every user's Google connection and sync health, for the admin's Sync health page.

Read in a fixed number of queries whatever the number of users (users, connections, the
last run of each kind per user, the last 24 hours' failures, mapping counts), so the page
stays fast on an installation with thousands of users.
"""
from dataclasses import dataclass, field
from datetime import timedelta

from sqlalchemy import and_, case, func, or_, select

from portal.accounts.models import User
from portal.core.types import utcnow
from portal.extensions import db
from portal.google.models import (STATUS_CONNECTED, STATUS_NEEDS_REAUTH, CalendarMapping,
                                  GoogleConnection)
from portal.sync.core.runs import (KIND_CALENDAR, KIND_CONTACTS, RUN_FAILED, RUN_NEEDS_REAUTH,
                                   SyncRun)

#: what a user's Google connection is, in the page's words
CONNECTED = "connected"
RECONNECT_NEEDED = "reconnect_needed"
DISCONNECTED = "disconnected"
NEVER_CONNECTED = "never_connected"
NEVER_SYNCED = "never_synced"

STATE_LABELS = {
    CONNECTED: "Connected", RECONNECT_NEEDED: "Reconnect needed",
    DISCONNECTED: "Disconnected", NEVER_CONNECTED: "Never connected",
    NEVER_SYNCED: "Connected, never synced",
}
STATE_STYLES = {
    CONNECTED: "success", RECONNECT_NEEDED: "danger", DISCONNECTED: "secondary",
    NEVER_CONNECTED: "light", NEVER_SYNCED: "warning",
}

#: how far back "errors in the last 24 hours" looks
ERROR_WINDOW = timedelta(hours=24)
_FAILED = (RUN_FAILED, RUN_NEEDS_REAUTH)


@dataclass
class UserHealth:
    """One row of the page."""

    user: User
    state: str
    google_email: str = ""
    last_error: str = ""
    mappings: int = 0
    #: {"calendar": SyncRun | None, "contacts": SyncRun | None}
    last_runs: dict = field(default_factory=dict)
    #: runs that failed (or needed a reconnect) in the last 24 hours
    failed_runs: int = 0
    #: records Google refused in runs of the last 24 hours
    refused: int = 0
    #: the latest of those failing runs, to open
    last_failed_run_id: int | None = None

    @property
    def state_label(self):
        return STATE_LABELS[self.state]

    @property
    def state_style(self):
        return STATE_STYLES[self.state]

    @property
    def needs_attention(self):
        """Reconnect needed, a connected user whose sync never ran, a last run that failed,
        or errors in the last 24 hours. Never-connected and disconnected users chose so."""
        if self.state in (RECONNECT_NEEDED, NEVER_SYNCED):
            return True
        if self.state in (DISCONNECTED, NEVER_CONNECTED):
            return False  # nothing syncs for them, by their choice; old failures are history
        if any(run is not None and run.status in _FAILED for run in self.last_runs.values()):
            return True
        return bool(self.failed_runs or self.refused)


def sync_health(only_attention=False, now=None):
    """A :class:`UserHealth` per user (by name), or only those needing attention."""
    since = (now or utcnow()) - ERROR_WINDOW
    users = db.session.scalars(select(User).order_by(func.lower(User.name), User.id)).all()
    connections = {c.user_id: c for c in db.session.scalars(select(GoogleConnection))}
    mappings = dict(db.session.execute(
        select(CalendarMapping.user_id, func.count()).group_by(CalendarMapping.user_id)).all())
    last_runs = _last_runs()
    failures = _failures_since(since)
    rows = []
    for user in users:
        connection = connections.get(user.id)
        runs = {KIND_CALENDAR: last_runs.get((user.id, KIND_CALENDAR)),
                KIND_CONTACTS: last_runs.get((user.id, KIND_CONTACTS))}
        failed, refused, last_failed = failures.get(user.id, (0, 0, None))
        row = UserHealth(user=user, state=_state(connection, runs),
                         google_email=(connection.google_email or "") if connection else "",
                         last_error=(connection.last_error or "") if connection else "",
                         mappings=mappings.get(user.id, 0), last_runs=runs,
                         failed_runs=failed or 0, refused=refused or 0,
                         last_failed_run_id=last_failed)
        if not only_attention or row.needs_attention:
            rows.append(row)
    return rows


def _state(connection, runs):
    if connection is None:
        return NEVER_CONNECTED
    if connection.status == STATUS_NEEDS_REAUTH:
        return RECONNECT_NEEDED
    if connection.status != STATUS_CONNECTED:
        # A row with no connection time is an authorization that never completed.
        return DISCONNECTED if connection.connected_at else NEVER_CONNECTED
    if all(run is None for run in runs.values()):
        return NEVER_SYNCED
    return CONNECTED


def _last_runs():
    """{(user id, kind): the user's latest SyncRun of that kind}, in one query."""
    latest = (select(func.max(SyncRun.id).label("id"))
              .group_by(SyncRun.user_id, SyncRun.kind).subquery())
    runs = db.session.scalars(select(SyncRun).join(latest, SyncRun.id == latest.c.id))
    return {(run.user_id, run.kind): run for run in runs}


def _failures_since(since):
    """{user id: (failed runs, refused records, latest failing run id)} since ``since``."""
    failing = or_(SyncRun.status.in_(_FAILED), SyncRun.errors > 0)
    query = (select(SyncRun.user_id,
                    func.sum(case((SyncRun.status.in_(_FAILED), 1), else_=0)),
                    func.sum(SyncRun.errors),
                    func.max(case((failing, SyncRun.id), else_=None)))
             .where(and_(SyncRun.created_at >= since, failing))
             .group_by(SyncRun.user_id))
    return {user_id: (failed, refused, last) for user_id, failed, refused, last
            in db.session.execute(query)}
