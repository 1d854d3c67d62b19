"""A verb whose refusal a view catches leaves nothing behind (app/verbs.py ``attempt``), on SQLite and PostgreSQL.

The request boundary commits every response below 400, and views that catch a ``DomainError`` answer 200 or 302. The
verbs of this code base check before they write, so none refuses after writing today; these tests give the real
application one more page with such a verb (it records a notification and an outbox job, then refuses), caught and
redirected as the real views do, and check that with ``attempt`` the request commits without the verb's rows.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from flask import flash, redirect, request
from sqlalchemy import func, select

from app import create_app, db_session
from app.extensions import csrf
from app.verbs import attempt
from services import runtime
from services.errors import InvalidTransition
from services.identity.models import Account
from services.jobs import outbox, queues
from services.jobs.models import OutboxJob
from services.notifications.models import Notification
from services.notifications.service import NotificationKind, notify

REFERENCE = "GZ-ATTEMPT-TEST"


def refuse_after_writing(session, account_id: int, *, job: bool = True) -> None:
    """A verb that writes (a notification, and an outbox job unless ``job`` is false), then finds it cannot go on."""
    notify(session, account_id, NotificationKind.CASE_SUBMITTED, reference=REFERENCE, step="verb")
    if job:
        outbox.enqueue(session, queues.LICENCES, "issue_licence", branch_id=-1)
    session.flush()
    raise InvalidTransition("refused_after_writing")


@pytest.fixture
def page_app(app, db):
    """The real application factory with one more page; its database joins the test's transaction."""
    previous = runtime.current()
    keys = ("INSTANCE_DIR", "DATABASE_URL", "REDIS_URL", "RQ_QUEUE_PREFIX", "UPLOAD_DIR", "KEY_DIR")
    extra = create_app("test", **{key: app.config[key] for key in keys})
    runtime.configure(previous.db, previous.settings)  # create_app registered the new app's: jobs keep the tests'

    @extra.route("/test/refuse", methods=["POST"])
    @csrf.exempt
    def refuse():
        session = db_session()
        account_id = int(request.form["account_id"])
        # What the request did before the verb stays (like the task page's access record).
        notify(session, account_id, NotificationKind.CASE_SUBMITTED, reference=REFERENCE, step="before")
        try:
            if request.form.get("attempt") == "yes":
                with attempt(session):
                    refuse_after_writing(session, account_id)
            else:  # no job here: committed, it would be dispatched and fail
                refuse_after_writing(session, account_id, job=False)
        except InvalidTransition:
            flash("Nothing was changed.", "error")
        return redirect("/")

    extra_database = extra.extensions["onewindow_db"]
    extra_database.bind_to(db.connection())
    try:
        yield extra
    finally:
        extra_database.unbind()
        extra_database.dispose()


def _left_behind(db) -> tuple[list[str], int]:
    steps = [n.params["step"] for n in db.scalars(select(Notification).where(Notification.kind == "case_submitted")
                                                  .order_by(Notification.id))
             if n.params.get("reference") == REFERENCE]
    jobs = db.scalar(select(func.count()).select_from(OutboxJob).where(OutboxJob.name == "issue_licence",
                                                                       OutboxJob.done_at.is_(None)))
    return steps, jobs


def test_a_verb_refusing_after_writing_leaves_nothing_behind(page_app, db):
    account_id = db.scalar(select(Account.id).where(Account.email == "resident@demo.onewindow.test"))
    _steps, jobs_before = _left_behind(db)
    response = page_app.test_client().post("/test/refuse", data={"account_id": account_id, "attempt": "yes"})
    assert response.status_code == 302  # the boundary committed this request
    steps, jobs = _left_behind(db)
    assert steps == ["before"]  # the view's own write stays; the verb's notification is gone
    assert jobs == jobs_before  # and so is its outbox job, which was never dispatched


def test_without_attempt_the_boundary_commits_half_a_verb(page_app, db):
    # Why attempt exists: the same page without it commits the refused verb's rows.
    account_id = db.scalar(select(Account.id).where(Account.email == "resident@demo.onewindow.test"))
    response = page_app.test_client().post("/test/refuse", data={"account_id": account_id, "attempt": "no"})
    assert response.status_code == 302
    steps, _jobs = _left_behind(db)
    assert steps == ["before", "verb"]


def test_attempt_keeps_what_succeeds_and_forgets_only_the_failed_jobs(db):
    account_id = db.scalar(select(Account.id).where(Account.email == "resident@demo.onewindow.test"))
    with attempt(db):
        kept = outbox.enqueue(db, queues.LICENCES, "issue_licence", branch_id=-2)
    marked = outbox.pending_count(db)
    with pytest.raises(InvalidTransition), attempt(db):
        refuse_after_writing(db, account_id)
    assert outbox.pending_count(db) == marked and db.get(OutboxJob, kept.id) is not None
    assert _left_behind(db)[0] == []


# -- every view that catches a verb's refusal uses attempt ------------------------------------------------------------

ROOT = Path(__file__).resolve().parents[2]
REFUSALS = {"DomainError", "NotFound", "PermissionDenied", "InvalidTransition", "ValidationFailed"}
# Catches that wrap no verb: reading who the resident acts for (nothing written).
NOT_VERBS = {("app/portal/enterprise.py", "load_acting_for")}


def _unguarded_catches() -> list[str]:
    found = []
    for path in sorted((ROOT / "app").rglob("*.py")):
        relative = path.relative_to(ROOT).as_posix()
        tree = ast.parse(path.read_text())
        for function in ast.walk(tree):
            if not isinstance(function, ast.FunctionDef) or (relative, function.name) in NOT_VERBS:
                continue
            for node in ast.walk(function):
                if not isinstance(node, ast.Try):
                    continue
                caught = {ast.unparse(h.type).split(".")[-1] for h in node.handlers if h.type is not None}
                caught |= {ast.unparse(e).split(".")[-1] for h in node.handlers if isinstance(h.type, ast.Tuple)
                           for e in h.type.elts}
                guarded = any(isinstance(statement, ast.With) and any(
                    isinstance(item.context_expr, ast.Call) and ast.unparse(item.context_expr.func) == "attempt"
                    for item in statement.items) for statement in node.body)
                if caught & REFUSALS and not guarded:
                    found.append(f"{relative}:{node.lineno} ({function.name})")
    return found


def test_every_view_catching_a_refusal_runs_the_verb_in_attempt():
    unguarded = _unguarded_catches()
    assert not unguarded, "call the verb inside `with attempt(session):` (app/verbs.py): " + "; ".join(unguarded)
