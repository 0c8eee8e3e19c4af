"""``flask worker``: an RQ worker whose jobs run inside the portal's app context."""
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


class AppSimpleWorker(AppContextMixin, SimpleWorker):
    """Runs jobs in the worker process itself (no fork: tests, Windows, debugging)."""


def make_worker(app, simple=False, name=None):
    cls = AppSimpleWorker if simple else AppWorker
    worker = cls([get_queue(app)], connection=get_redis(app), name=name)
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
    worker = make_worker(app, simple=simple, name=name)
    click.echo(f"Worker {worker.name} listening on {app.config['RQ_QUEUE']}")
    worker.work(burst=burst, with_scheduler=True)


def require_redis(app):
    """Stop a CLI process with a clear message when its Redis does not answer."""
    try:
        get_redis(app).ping()
    except RedisError as exc:
        raise click.ClickException(
            f"Redis at {redis_url(app.config)} is not reachable ({exc.__class__.__name__}). "
            "Set REDIS_URL to your Redis server, or start this installation's embedded one "
            "with `flask redis start` (make run does it for you).") from exc
