"""gunicorn settings, read by every gunicorn started from this folder (its default config
file): the access log never records OAuth callback codes and states (see
portal/core/accesslog.py)."""
logger_class = "portal.core.accesslog.GunicornLogger"
