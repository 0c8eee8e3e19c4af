"""The CRM portal: an app factory and nothing else at import time."""
import logging
import os

from flask import Flask

from portal.config import load_config

# The project root: templates/, static/ and migrations/ live beside the package.
ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), os.pardir))


def create_app(config=None):
    """Build the app. ``config`` (a dict) overrides the environment, e.g. in tests."""
    app = Flask(__name__, instance_path=os.environ.get("PORTAL_INSTANCE_PATH") or None,
                template_folder=os.path.join(ROOT, "templates"),
                static_folder=os.path.join(ROOT, "static"))
    from portal.core.converters import BoundedIntConverter

    app.url_map.converters["int"] = BoundedIntConverter
    os.makedirs(app.instance_path, exist_ok=True)
    app.config.from_mapping(load_config(app.instance_path))
    if config:
        app.config.from_mapping(config)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    logging.getLogger("alembic.runtime.plugins").setLevel(logging.WARNING)

    from portal.extensions import bootstrap, csrf, db, login_manager, migrate, oauth

    db.init_app(app)
    migrate.init_app(app, db, directory=os.path.join(ROOT, "migrations"), render_as_batch=True,
                     compare_type=True)
    login_manager.init_app(app)
    login_manager.login_view = "accounts.login"
    login_manager.login_message_category = "warning"
    csrf.init_app(app)
    bootstrap.init_app(app)
    oauth.init_app(app)

    from portal.core import limits
    from portal.jobs.connection import redis_url

    limits.init_app(app, redis_url(app.config))

    _import_models()
    _register_blueprints(app)
    limits.apply_limits(app)

    from portal.core import accesslog, errors, security, templating

    accesslog.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    security.init_app(app)

    from portal import cli

    cli.init_app(app)
    return app


def _import_models():
    """Every model module, so the metadata (and Alembic) sees all tables."""
    import portal.accounts.models  # noqa: F401
    import portal.crm.models  # noqa: F401
    import portal.google.models  # noqa: F401
    import portal.scheduler.models  # noqa: F401
    import portal.sync.core.runs  # noqa: F401
    import portal.sync.calendar.models  # noqa: F401
    import portal.sync.contacts.models  # noqa: F401


def _register_blueprints(app):
    from portal.accounts.routes import bp as accounts
    from portal.crm.routes import bp as crm
    from portal.google.routes import bp as google
    from portal.scheduler.routes import bp as scheduler
    from portal.sync.contacts.routes import bp as contacts_sync
    from portal.sync.health_routes import bp as sync_health
    from portal.sync.routes import bp as sync

    for blueprint in (accounts, crm, google, sync, contacts_sync, scheduler, sync_health):
        app.register_blueprint(blueprint)
