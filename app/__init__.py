"""The Flask application factory. It only wires: configuration, extensions, languages, blueprints, errors, commands.

The request boundary commits: a request that ends without an error commits the session once, then hands the jobs it
recorded in the outbox to rq, or without Redis to this process's worker thread (see ``_finish_request``); either way
the response does not wait for them.
"""

from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, g

from app.config import load_config
from app.extensions import babel, csrf, migrate
from services import runtime
from services.db import Database
from services.jobs import outbox

log = logging.getLogger(__name__)


class _MigrationTarget:
    """What Flask-Migrate needs of a database object: the metadata and an engine (our env.py reads these)."""

    def __init__(self, database: Database):
        import services.models  # noqa: F401  (every table on the metadata)
        from services.db import Base

        self.metadata = Base.metadata
        self.database = database

    def get_engine(self):
        return self.database.engine


def _private_upload_dir(app: Flask) -> None:
    """Applicants' files: the upload folder is 0700 (each file 0600, services.applications.service.store_upload)."""
    from services.private_files import private_directory

    try:
        private_directory(Path(app.config["UPLOAD_DIR"]))
    except OSError:
        log.warning("could not make the upload folder %s private (0700)", app.config["UPLOAD_DIR"], exc_info=True)


def create_app(config_name: str | None = None, **overrides) -> Flask:
    """Build the OneWindow web application (also used by workers and the CLI)."""
    config = load_config(config_name, **overrides)
    app = Flask(__name__, instance_path=config.INSTANCE_DIR, instance_relative_config=False)
    app.config.from_object(config)
    app.config.update(config.as_dict())
    from app.sessions import ServerSessionInterface

    app.session_interface = ServerSessionInterface()  # the cookie holds a random token; the session is a row
    if config.TRUSTED_PROXIES:
        from werkzeug.middleware.proxy_fix import ProxyFix

        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=config.TRUSTED_PROXIES, x_proto=config.TRUSTED_PROXIES,
                                x_host=config.TRUSTED_PROXIES)

    from services.catalogue.definitions import catalogue

    catalogue()  # reads and checks every service definition: a broken one stops here, naming its file and place
    database = Database(app.config["DATABASE_URL"])  # a SQLite file is made 0600 in a 0700 folder
    app.extensions["onewindow_db"] = database
    _private_upload_dir(app)
    runtime.configure(database, app.config)

    from app.i18n import select_locale, template_helpers

    babel.init_app(app, locale_selector=select_locale)
    csrf.init_app(app)
    migrate.init_app(app, _MigrationTarget(database), directory=str(_migrations_dir()), render_as_batch=True)
    app.context_processor(template_helpers)
    from app.labels import template_labels

    app.context_processor(template_labels)
    from app.deadlines import deadline_helpers

    app.context_processor(deadline_helpers)

    from app import auth, catalogue, clerk, portal, public, supervision
    from app.security import init_security

    init_security(app)
    for module in (public, auth, catalogue, portal, clerk, supervision):
        app.register_blueprint(module.bp)

    from app.ratelimit import init_rate_limits

    init_rate_limits(app)  # after the blueprints: it puts the limits views asked for on this app's view functions
    from app.errors import register_error_handlers

    register_error_handlers(app)
    app.teardown_appcontext(_teardown)
    app.after_request(_finish_request)

    from app.cli import register_commands

    register_commands(app)
    if app.config.get("RUN_PERIODIC_IN_PROCESS"):
        started = []

        @app.before_request
        def start_periodic_once():
            # Started by the first request, so that CLI commands (migrations, seeding) never start it.
            if not started:
                started.append(True)
                _start_periodic_thread()

    return app


def _start_periodic_thread() -> None:
    """Without Redis there is no rq cron: the development server runs the periodic jobs in a daemon thread."""
    import threading
    import time

    from services.jobs.periodic import PERIODIC

    def loop():
        last_run: dict = {}
        while True:
            for function, _queue, interval in PERIODIC:
                if time.monotonic() - last_run.get(function, -interval) >= interval:
                    last_run[function] = time.monotonic()
                    try:
                        function()
                    except Exception:  # noqa: BLE001 - a failed sweep is retried at the next interval
                        log.exception("periodic job %s failed", function.__name__)
            time.sleep(15)

    threading.Thread(target=loop, name="onewindow-periodic", daemon=True).start()


def _migrations_dir():
    from app.config import PROJECT_ROOT

    return PROJECT_ROOT / "migrations"


def db_session():
    """The request's session (one per thread, released at the end of the request)."""
    from flask import current_app

    return current_app.extensions["onewindow_db"].session()


def _finish_request(response):
    """Commit what the request changed (only on success), then dispatch the outbox jobs it recorded."""
    from flask import current_app

    database: Database = current_app.extensions["onewindow_db"]
    if not database.session.registry.has():
        return response
    session = database.session()
    # A refused form changes nothing, except what a view marks to keep (a failed sign-in's audit row).
    if (response.status_code >= 400 and not g.get("commit_on_error")) or g.get("rollback"):
        session.rollback()
        return response
    session.commit()
    pending = outbox.take_pending(session)
    if pending:
        outbox.dispatch(database, pending, redis_url=current_app.config["REDIS_URL"],
                        prefix=current_app.config["RQ_QUEUE_PREFIX"])
    return response


def _teardown(exc):
    from flask import current_app

    database: Database = current_app.extensions["onewindow_db"]
    if exc is not None and database.session.registry.has():
        database.session().rollback()
    database.session.remove()
