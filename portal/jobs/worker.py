"""``flask worker``: an RQ worker whose jobs run inside the portal's app context."""
import ctypes
import ctypes.util
import gc
import importlib
import logging
import os
import signal

import click
from flask import current_app
from flask.cli import with_appcontext
from redis.exceptions import RedisError
from rq import SimpleWorker, Worker

from portal.jobs.connection import get_queue, get_redis, redis_url


class AppContextMixin:
    """Run every job inside a fresh app context (its own database session)."""

    app = None

    def perform_job(self, job, queue, *args, **kwargs):
        with self.app.app_context():
            return super().perform_job(job, queue, *args, **kwargs)


class AppWorker(AppContextMixin, Worker):
    """Forks a work horse per job (the production default)."""

    def main_work_horse(self, job, queue):
        _die_with(self.pid)
        return super().main_work_horse(job, queue)


#: Linux prctl option: the signal this process gets when its parent dies
_PR_SET_PDEATHSIG = 1


def _die_with(worker_pid):
    """In a work horse: let the kernel SIGKILL it when its worker dies.

    RQ puts the horse in a process group of its own, so killing a worker (SIGKILL, an
    operator's kill, a killed process group) used to leave the horse syncing on unseen,
    beside the run that replaced it once the dead worker was noticed (see reaper.py).
    Linux only; elsewhere the horse outlives its worker as before."""
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or None, use_errno=True)
        if libc.prctl(_PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0) != 0:
            return
    except (OSError, AttributeError):
        return
    if os.getppid() != worker_pid:  # the worker died before the line above
        os._exit(1)


class AppSimpleWorker(AppContextMixin, SimpleWorker):
    """Runs jobs in the worker process itself (no fork: tests, Windows, debugging)."""


def make_worker(app, simple=False, name=None):
    from portal.jobs.reaper import WORKER_HEARTBEAT_INTERVAL

    cls = AppSimpleWorker if simple else AppWorker
    # Frequent heartbeats while a job runs, so a killed worker is noticed within a minute.
    worker = cls([get_queue(app)], connection=get_redis(app), name=name,
                 job_monitoring_interval=WORKER_HEARTBEAT_INTERVAL)
    worker.app = app
    return worker


@click.command("worker")
@click.option("--burst", is_flag=True, help="Quit when the queue is empty.")
@click.option("--simple", is_flag=True, help="Run jobs in this process instead of forking.")
@click.option("--name", default=None, help="Worker name (default: generated).")
@with_appcontext
def worker_command(burst, simple, name):
    """Run an RQ worker for the portal's queue (with the scheduler for retries)."""
    app = current_app._get_current_object()
    require_redis(app)
    _sweep_on_start()
    worker = make_worker(app, simple=simple, name=name)
    if not simple:
        prepare_for_work_horses()
    click.echo(f"Worker {worker.name} listening on {app.config['RQ_QUEUE']}")
    worker.work(burst=burst, with_scheduler=True)


#: what jobs import on their first run: loaded once here, not again in every forked horse
JOB_MODULES = ("portal.jobs.sync", "portal.jobs.contacts", "portal.jobs.push",
               "portal.scheduler.dispatch", "portal.sync.calendar.runner",
               "portal.sync.contacts.runner")


def prepare_for_work_horses():
    """Load what jobs use, then freeze everything alive (the app, its modules, some 200,000
    objects) out of the garbage collector's reach. Each job runs in a horse forked from this
    process; without the freeze a horse's full collections walk the whole inherited heap
    (a 200 ms pause in a scheduler tick on a small machine, see bench/dispatcher_bench.py)
    and copy every page they touch."""
    for module in JOB_MODULES:
        importlib.import_module(module)
    gc.collect()
    gc.freeze()


def require_redis(app):
    """Stop a CLI process with a clear message when its Redis does not answer."""
    try:
        get_redis(app).ping()
    except RedisError as exc:
        raise click.ClickException(
            f"Redis at {redis_url(app.config)} is not reachable ({exc.__class__.__name__}). "
            "Set REDIS_URL to your Redis server, or start this installation's embedded one "
            "with `flask redis start` (make run does it for you).") from exc


def _sweep_on_start():
    """A worker restarted after a crash cleans up after the one it replaces (a failure here
    is logged; the scheduler's tick sweeps again every minute)."""
    from portal.extensions import db
    from portal.jobs.reaper import sweep_dead_runs

    try:
        sweep_dead_runs()
    except Exception:  # noqa: BLE001 - e.g. a database not migrated yet
        db.session.rollback()
        logging.getLogger(__name__).warning("sweeping dead runs at start failed",
                                            exc_info=True)
