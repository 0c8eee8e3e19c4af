"""How every sync run starts and ends: the run marked running, Google's refusals turned into
the outcome a user reads (reconnect needed, failed), transient errors left to RQ's retry."""
from portal.core.types import utcnow
from portal.extensions import db
from portal.google import services as google_services
from portal.google.client import GoogleError, ReauthorizationNeeded, TransientError
from portal.sync.core.runs import (
    RUN_FAILED, RUN_NEEDS_REAUTH, RUN_RUNNING, RUN_SUCCEEDED, SyncRun,
)

RECONNECT = "Your Google account needs to be connected again before syncing."
REFUSED = "Google no longer accepts the portal's access; reconnect your account."


def start(run):
    run.status = RUN_RUNNING
    run.started_at = run.started_at or utcnow()
    run.progress = "starting"
    db.session.commit()
    return run


def finish(run, status, message):
    run = db.session.get(SyncRun, run.id) or run
    run.status = status
    run.message = message
    run.progress = ""
    run.finished_at = utcnow()
    db.session.commit()
    return run


def settle(run, user, work):
    """Run ``work()`` (which returns the run's closing message) and record how it ended.

    Whatever ``work`` did not commit is rolled back on an error: what the run committed
    (acknowledged chunks) stays, the rest is redone by the next run. A TransientError is
    raised again after the rollback, for the job to retry later."""
    if not google_services.connection_usable(user):
        return finish(run, RUN_NEEDS_REAUTH, RECONNECT)
    try:
        message = work()
    except google_services.NotConnected as exc:
        db.session.rollback()
        if isinstance(exc, google_services.TokensUnreadable):
            # The rollback undid the mark; without it the banner never shows and the
            # scheduler keeps trying this user.
            google_services.mark_needs_reauth(user, str(exc))
        return finish(run, RUN_NEEDS_REAUTH, str(exc))
    except ReauthorizationNeeded as exc:
        db.session.rollback()
        google_services.mark_needs_reauth(
            user, f"Google refused access ({exc.reason or exc.status}); please reconnect.")
        return finish(run, RUN_NEEDS_REAUTH, REFUSED)
    except TransientError:
        db.session.rollback()
        raise
    except GoogleError as exc:
        db.session.rollback()
        return finish(run, RUN_FAILED, f"Google answered an error: {exc}")
    return finish(run, RUN_SUCCEEDED, message)
