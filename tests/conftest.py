"""Test fixtures: one schema built by the real migrations, each test inside a transaction that rolls back.

``DATABASE_URL`` and ``REDIS_URL`` select PostgreSQL and Redis (as CI does); without them the tests use a temporary
SQLite file and in-process jobs, like `make run`.
"""

from __future__ import annotations

import os
import re
import uuid
from html import unescape
from pathlib import Path

import pytest
from flask.testing import FlaskClient
from sqlalchemy import text

from accessibility.checks import check_html
from services.jobs.local import local_worker
from tests.smtp import smtp_server  # noqa: F401  (a fixture: a real SMTP server on 127.0.0.1)

DEMO_PASSWORD = "OneWindow-demo-2026"



def _database_url(tmp_root: Path) -> str:
    return os.environ.get("DATABASE_URL") or f"sqlite:///{tmp_root / 'test.db'}"


@pytest.fixture(scope="session")
def app(tmp_path_factory):
    from flask_migrate import upgrade

    from app import create_app
    from services.applications.service import engine
    from services.catalogue.demo import seed_demo

    root = tmp_path_factory.mktemp("instance")
    flask_app = create_app("test", INSTANCE_DIR=str(root), DATABASE_URL=_database_url(root),
                           REDIS_URL=os.environ.get("REDIS_URL", ""),
                           RQ_QUEUE_PREFIX=f"test-{uuid.uuid4().hex[:8]}-",
                           UPLOAD_DIR=str(root / "uploads"), KEY_DIR=str(root / "keys"),
                           # Holiday notices are loaded by tests in this process, which then looks again at once
                           # (install_notice); a timed look in the middle of a request would change the statement
                           # counts that tests/app/test_query_counts.py compares.
                           CALENDAR_REFRESH_SECONDS=3600)
    flask_app.test_client_class = AccessibleClient
    database = flask_app.extensions["onewindow_db"]
    if database.is_postgresql:
        with database.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    with flask_app.app_context():
        upgrade(directory=str(Path(__file__).resolve().parent.parent / "migrations"))
    with database.transaction() as session:
        seed_demo(session)
        engine(session)  # this process's first look at the holiday notices, before any test counts statements
    yield flask_app
    database.dispose()


@pytest.fixture
def database(app):
    return app.extensions["onewindow_db"]


@pytest.fixture
def db(app, database):
    """A session inside a transaction that is rolled back after the test; the app's requests join it."""
    connection = database.engine.connect()
    outer = connection.begin()
    database.bind_to(connection)
    try:
        yield database.session()
    finally:
        database.unbind()
        outer.rollback()
        connection.close()
        local_worker().clear()  # jobs the test dispatched and never ran: their outbox rows are gone


@pytest.fixture(autouse=True)
def own_rate_limit_budget(request):
    """Each test starts with fresh rate limits and sign-in counts (the limiter's keys carry this prefix): tests sign
    in from 127.0.0.1 many times a minute, and a test that locks an account must not lock it for the next."""
    if "app" in request.fixturenames:
        app = request.getfixturevalue("app")
        monkeypatch = request.getfixturevalue("monkeypatch")
        monkeypatch.setitem(app.config, "RATELIMIT_PREFIX", f"test-{uuid.uuid4().hex[:8]}-")


@pytest.fixture
def client(app, db):
    return app.test_client()


class AccessibleClient(FlaskClient):
    """Every HTML page fetched in a test goes through the accessibility checks (one h1, title, ids, labels...)."""

    def open(self, *args, **kwargs):
        response = super().open(*args, **kwargs)
        if response.mimetype == "text/html" and not 300 <= response.status_code < 400:
            problems = check_html(response.get_data(as_text=True))
            assert not problems, f"{response.request.path}: " + "; ".join(problems)
        return response


HIDDEN_INPUT = re.compile(r'<input[^>]*type="hidden"[^>]*>')
ATTR = re.compile(r'(name|value)="([^"]*)"')


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs of a page (CSRF token, command id, submission token) to post back."""
    fields = {}
    for tag in HIDDEN_INPUT.findall(html):
        attrs = dict(ATTR.findall(tag))
        if "name" in attrs:
            fields[attrs["name"]] = unescape(attrs.get("value", ""))
    return fields


def sign_in(client, email: str, password: str = DEMO_PASSWORD):
    page = client.get("/auth/sign-in")
    data = hidden_fields(page.get_data(as_text=True))
    data.update(email=email, password=password)
    response = client.post("/auth/sign-in", data=data)
    assert response.status_code == 302, response.get_data(as_text=True)[:500]
    return response


@pytest.fixture
def sign_in_as(client):
    def _sign_in(local_part: str):
        client.post("/auth/sign-out", data=hidden_fields(client.get("/").get_data(as_text=True)))
        return sign_in(client, f"{local_part}@demo.onewindow.test")

    return _sign_in


def pytest_collection_modifyitems(config, items):
    """Browser tests run last: Playwright's sync API keeps an event loop running in this thread while its browser is
    open, and pyHanko's synchronous signing (asyncio.run) cannot start inside a running loop."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
