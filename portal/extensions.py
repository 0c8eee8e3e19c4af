"""Flask extensions, created unbound and attached in ``create_app``."""
from authlib.integrations.flask_client import OAuth
from flask_bootstrap import Bootstrap5
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
import sqlite3

from sqlalchemy import MetaData, event
from sqlalchemy.engine import Engine

# Named constraints so Alembic migrations can alter them on SQLite and PostgreSQL alike.
naming_convention = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

db = SQLAlchemy(metadata=MetaData(naming_convention=naming_convention))
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
bootstrap = Bootstrap5()
oauth = OAuth()


#: how long a SQLite connection waits for another process's write lock before it gives up
SQLITE_BUSY_TIMEOUT_MS = 30_000
#: each SQLite connection's page cache, at most (allocated as pages are read)
SQLITE_CACHE_KIB = 32_768


@event.listens_for(Engine, "connect")
def _sqlite_pragmas(dbapi_connection, connection_record):
    """SQLite ignores FOREIGN KEY clauses (and ON DELETE) unless asked on every connection.

    The web and the workers write the same file: WAL lets readers and one writer work at the
    same time (a page load never blocks a sync's commit, nor the reverse), and the busy
    timeout makes a second writer wait for the lock instead of failing with "database is
    locked". PostgreSQL is the production database; this keeps the demo and tests honest."""
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
        # SQLite's default page cache is 2 MB: a sync's changed-set queries over a 10,000
        # event calendar then re-read their pages from the OS on every run.
        cursor.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
        # Persistent in the file; answered "memory" for in-memory databases, which is fine.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.close()
