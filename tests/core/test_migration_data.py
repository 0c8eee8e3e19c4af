"""Data the migrations put in a database: what a fresh install starts with."""
import os

import pytest
from sqlalchemy import text

from portal import create_app
from portal.extensions import db


@pytest.fixture
def blank_app(tmp_path):
    """An app on an empty database (no tables, no alembic_version)."""
    url = os.environ.get("MIGRATION_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'f.sqlite'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "TESTING": True})
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        yield app
        db.session.remove()
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


def _types():
    with db.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(text(
            "SELECT name, active FROM activity_types ORDER BY position"))]


def test_flask_db_upgrade_on_an_empty_database_gives_call_meeting_task(blank_app):
    result = blank_app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert _types() == [("Call", True), ("Meeting", True), ("Task", True)]


def test_an_installation_with_its_own_picklist_keeps_it(blank_app):
    from flask_migrate import upgrade

    upgrade(revision="20261202_11_run_attempts")
    with db.engine.begin() as conn:
        conn.execute(text("INSERT INTO activity_types (name, position, active) "
                          "VALUES ('Visit', 0, true)"))
    upgrade()
    assert [name for name, _ in _types()] == ["Visit"]


def test_the_demo_seeds_on_top_of_the_default_types(blank_app):
    """The migration's types are the ones the demo uses: seeding adds no second Call."""
    from flask_migrate import upgrade

    from portal import demo

    upgrade()
    assert demo.seed()
    assert sorted(name for name, _ in _types()) == ["Call", "Meeting", "Task"]


def test_every_revision_id_fits_alembic_version_on_postgresql():
    """alembic_version.version_num is VARCHAR(32): a longer id upgrades on SQLite (which
    ignores lengths) and fails on PostgreSQL."""
    import pathlib
    import re

    versions = pathlib.Path(__file__).resolve().parents[2] / "migrations" / "versions"
    ids = [re.search(r"^revision = '([^']+)'", path.read_text(), re.M).group(1)
           for path in versions.glob("*.py")]
    assert ids and [i for i in ids if len(i) > 32] == []
