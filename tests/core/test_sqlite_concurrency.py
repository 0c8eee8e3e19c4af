"""SQLite shared by the web and the workers: WAL and a busy timeout, so concurrent writers
wait for each other and readers never block a writer. The tests use their own SQLite file
(whatever database the suite runs on), as the demo installation does."""
import sqlite3
import threading
import time

from sqlalchemy import text

from portal import create_app
from portal.extensions import db


def _app(tmp_path):
    return create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{tmp_path / 'portal.sqlite'}",
                       "SECRET_KEY": "x", "TESTING": True})


def _create_table(app):
    with app.app_context(), db.engine.begin() as conn:
        conn.execute(text("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)"))


def test_the_database_file_is_in_wal_mode_with_a_busy_timeout(tmp_path):
    app = _app(tmp_path)
    _create_table(app)
    with app.app_context(), db.engine.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 5000
    # Another process opening the file sees WAL too (it is recorded in the file).
    other = sqlite3.connect(tmp_path / "portal.sqlite")
    try:
        assert other.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    finally:
        other.close()


def test_a_long_read_in_another_process_does_not_block_a_write(tmp_path):
    """A worker reading (an open read transaction) while the web commits: in rollback-journal
    mode the commit waits for the reader and then fails with "database is locked"."""
    app = _app(tmp_path)
    _create_table(app)
    reader = sqlite3.connect(tmp_path / "portal.sqlite", isolation_level=None, timeout=0)
    try:
        reader.execute("BEGIN")
        assert reader.execute("SELECT count(*) FROM notes").fetchone() == (0,)
        with app.app_context(), db.engine.begin() as conn:
            conn.execute(text("INSERT INTO notes (body) VALUES ('written meanwhile')"))
        # The reader keeps its snapshot until it ends its transaction.
        assert reader.execute("SELECT count(*) FROM notes").fetchone() == (0,)
        reader.execute("COMMIT")
        assert reader.execute("SELECT count(*) FROM notes").fetchone() == (1,)
    finally:
        reader.close()


def test_a_second_writer_waits_for_the_lock_instead_of_failing(tmp_path):
    app = _app(tmp_path)
    _create_table(app)
    holder = sqlite3.connect(tmp_path / "portal.sqlite", isolation_level=None,
                             check_same_thread=False)
    holder.execute("BEGIN IMMEDIATE")  # holds the write lock, like a sync run mid-commit
    holder.execute("INSERT INTO notes (body) VALUES ('first')")
    waiting = threading.Event()

    def release_soon():
        waiting.wait(10)
        time.sleep(0.3)
        holder.execute("COMMIT")

    thread = threading.Thread(target=release_soon)
    thread.start()
    try:
        with app.app_context(), db.engine.begin() as conn:
            waiting.set()
            conn.execute(text("INSERT INTO notes (body) VALUES ('second')"))
    finally:
        thread.join(10)
        holder.close()
    with app.app_context(), db.engine.connect() as conn:
        assert conn.execute(text("SELECT body FROM notes ORDER BY id")).scalars().all() == [
            "first", "second"]
