"""App factory, configuration, migrations and the layering rules."""
import ast
import pathlib

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory

from portal import ROOT, create_app
from portal.config import ConfigError


def test_missing_secret_key_outside_development_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("PORTAL_ENV", "production")
    monkeypatch.delenv("SECRET_KEY", raising=False)
    with pytest.raises(ConfigError, match="SECRET_KEY is not set"):
        create_app()


def test_migrations_have_a_single_head():
    script = ScriptDirectory.from_config(_alembic_config())
    assert len(script.get_heads()) == 1


def _alembic_config():
    cfg = Config(str(pathlib.Path(ROOT, "migrations", "alembic.ini")))
    cfg.set_main_option("script_location", str(pathlib.Path(ROOT, "migrations")))
    return cfg


def test_upgrade_from_empty_matches_the_models(tmp_path, monkeypatch):
    """Upgrade an empty database to head, then autogenerate finds nothing left to do."""
    import os

    from flask_migrate import upgrade
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from portal.extensions import db

    url = os.environ.get("MIGRATION_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'm.sqlite'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "TESTING": True})
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade()
        with db.engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diff = compare_metadata(context, db.metadata)
        assert diff == []
        db.drop_all()


# Modules that must stay free of Flask and the models (DESIGN.md rule 1). The engine is also
# free of anything that talks to the network or Redis: it only plans.
WEB_AND_DB = {"flask", "flask_sqlalchemy", "sqlalchemy"}
IO = {"httplib2", "googleapiclient", "requests", "redis", "rq"}
PURE_MODULES = {
    "portal/core/timezones.py": WEB_AND_DB,
    "portal/core/colors.py": WEB_AND_DB | IO,
    "portal/sync/calendar/engine.py": WEB_AND_DB | IO,
    "portal/sync/calendar/plan.py": WEB_AND_DB | IO,
    "portal/sync/calendar/snapshots.py": WEB_AND_DB | IO,
    "portal/sync/calendar/fields.py": WEB_AND_DB | IO,
    "portal/sync/calendar/times.py": WEB_AND_DB | IO,
    "portal/sync/calendar/export_planner.py": WEB_AND_DB | IO,
    "portal/sync/calendar/import_planner.py": WEB_AND_DB | IO,
    "portal/sync/calendar/conference.py": WEB_AND_DB | IO,
    "portal/sync/contacts/engine.py": WEB_AND_DB | IO,
    "portal/sync/core/merge.py": WEB_AND_DB | IO,
    "portal/google/client.py": WEB_AND_DB,
    "portal/google/urls.py": WEB_AND_DB,
    "portal/google/calendar_events.py": WEB_AND_DB,
    "portal/google/freebusy.py": WEB_AND_DB,
}


def _imports(tree):
    imported = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
    return imported


@pytest.mark.parametrize("relpath", sorted(PURE_MODULES))
def test_pure_modules_import_neither_flask_nor_models(relpath):
    tree = ast.parse(pathlib.Path(ROOT, relpath).read_text())
    forbidden = {m for m in _imports(tree)
                 if m.split(".")[0] in PURE_MODULES[relpath]
                 or m.endswith(".models") or m == "portal.extensions"}
    assert not forbidden, f"{relpath} imports {forbidden}"


def test_google_credentials_are_never_built_with_from_authorized_user_info():
    """It resets token_uri to Google's own and so bypasses GOOGLE_BASE_URL."""
    for relpath in ("portal/google/client.py", "portal/google/services.py"):
        tree = ast.parse(pathlib.Path(ROOT, relpath).read_text())
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.Attribute)
                    and n.attr == "from_authorized_user_info"], relpath


@pytest.mark.parametrize("path", ["/activities/99999999999999999999999",
                                  "/sync/runs/99999999999999999999999",
                                  "/admin/users/2147483648"])
def test_ids_no_row_can_have_are_a_plain_404(admin_client, path):
    assert admin_client.get(path).status_code == 404


def test_upgrades_keep_existing_rows_and_their_references(tmp_path):
    """Rebuilding a table in a later migration (SQLite batch mode) must not cascade-delete
    the rows that refer to it."""
    import os

    from flask_migrate import upgrade
    from sqlalchemy import text

    from portal.extensions import db

    url = os.environ.get("MIGRATION_TEST_DATABASE_URL") or f"sqlite:///{tmp_path / 'd.sqlite'}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "TESTING": True})
    with app.app_context():
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
        upgrade(revision="20261122_08_guest_notifications")
        with db.engine.begin() as conn:
            conn.execute(text(
                "INSERT INTO users (id, email, name, password_hash, role, active, time_zone) "
                "VALUES (1, 'a@example.com', 'A', 'x', 'user', true, 'UTC'), "
                "(2, 'b@example.com', 'B', 'x', 'user', true, 'UTC')"))
            conn.execute(text("INSERT INTO activity_types (id, name, position, active) "
                              "VALUES (1, 'Meeting', 0, true)"))
            conn.execute(text(
                "INSERT INTO activities (id, uid, subject, activity_type_id, status, priority, "
                "all_day, time_zone, location, description, recurrence, visibility, "
                "show_in_calendar, organizer_id, created_by_id, version) VALUES (1, "
                "'0123456789abcdef0123456789abcdef', 'Kept', 1, 'Planned', 'Medium', false, "
                "'UTC', '', '', '', 'default', true, 1, 1, 1)"))
            conn.execute(text("INSERT INTO activity_participants VALUES (1, 2)"))
        upgrade()
        with db.engine.connect() as conn:
            assert conn.execute(text("SELECT subject FROM activities")).scalar() == "Kept"
            assert conn.execute(text("SELECT count(*) FROM activity_participants")).scalar() == 1
        db.drop_all()
        with db.engine.begin() as conn:
            conn.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")


def test_the_pure_engine_speaks_the_same_values_as_the_models():
    """The engine may not import the models, so it repeats their picklist values; they must
    not drift apart (a renamed rule or status would silently stop matching)."""
    from portal.crm import models as crm
    from portal.google import models as google
    from portal.sync.calendar import engine

    assert engine.CONFLICT_RULES == google.CONFLICT_RULES
    assert (engine.STATUS_PLANNED, engine.STATUS_HELD, engine.STATUS_NOT_HELD) == crm.STATUSES
