"""gunicorn settings, read by every gunicorn started from this folder (its default config
file): the access log never records OAuth callback codes and states (see
portal/core/accesslog.py), and each worker freezes what it loaded at start out of the
garbage collector's reach."""
import gc

logger_class = "portal.core.accesslog.GunicornLogger"


def post_worker_init(worker):
    """Once the app is loaded: move everything alive now (the app, its modules, templates,
    SQLAlchemy's mappers, some 190,000 objects) into the collector's permanent generation.
    Otherwise every few dozen requests a full collection walks all of it, a pause of a few
    hundred milliseconds on a small machine that stalls every request the worker's threads
    are serving; with it, a month of 1,000 activities saw no full collection in 40 requests
    and each request's young collections stayed as cheap (bench/web_bench.py)."""
    gc.collect()
    gc.freeze()
