"""The Redis connection and the RQ queue.

``REDIS_URL`` points at a Redis server in production. Unset, the portal uses the
installation's embedded server (``portal/jobs/embedded.py``) through its Unix socket under
the instance folder; ``bin/run-stack`` starts that one server and hands its URL to every
process, so web, worker and scheduler always share one queue. No process starts a server
by itself.
"""
import os

from flask import current_app
from redis import Redis
from rq import Queue

from portal.jobs import embedded

#: what a person is told when Redis does not answer
QUEUE_UNAVAILABLE = ("The job queue is not reachable; nothing was lost. Try again in a moment "
                     "(if it lasts, tell an admin: Redis is down).")


class QueueUnavailable(Exception):
    """Redis did not answer, so nothing was queued (and nothing was lost). The client
    reconnects by itself on the next call once Redis is back: no restart needed."""

    def __init__(self, message=QUEUE_UNAVAILABLE):
        super().__init__(message)


def redis_url(config):
    """The URL every process of this installation uses."""
    return config.get("REDIS_URL") or embedded.url(os.path.dirname(config["REDISLITE_PATH"]))


def redis_for(config):
    """A plain redis-py client (RQ clones its class and settings for its scheduler, so it
    must not be a client that starts servers)."""
    return Redis.from_url(redis_url(config), socket_connect_timeout=5, health_check_interval=30)


def get_redis(app=None):
    app = app or current_app
    conn = app.extensions.get("portal_redis")
    if conn is None:
        conn = redis_for(app.config)
        app.extensions["portal_redis"] = conn
    return conn


def get_queue(app=None):
    app = app or current_app
    return Queue(app.config["RQ_QUEUE"], connection=get_redis(app))
