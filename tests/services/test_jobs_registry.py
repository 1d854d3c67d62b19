"""Every job registered, every queue consumed (after GOV.UK Notify's tests/test_all_queues_used.py).

The source is read, not imported: every ``enqueue(session, queue, name, ...)`` of services.jobs.outbox anywhere in
app/, services/ or workflows/ must name a job of services/jobs/registry.py on that job's queue, and every queue a
worker listens on must have a job or a periodic job to run.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from sqlalchemy import func, select

from services.jobs import outbox, queues
from services.jobs.models import OutboxJob
from services.jobs.periodic import PERIODIC
from services.jobs.registry import BY_NAME, JOBS

ROOT = Path(__file__).resolve().parents[2]
LAYERS = ("app", "services", "workflows")


class EnqueueCalls(ast.NodeVisitor):
    """The outbox ``enqueue`` calls of one module, with their queue and job name resolved where they are constants."""

    def __init__(self, path: str):
        self.path, self.found = path, []
        self.functions, self.outbox_modules, self.queue_modules, self.queue_names = set(), set(), set(), {}

    def visit_ImportFrom(self, node):
        for alias in node.names:
            bound = alias.asname or alias.name
            if node.module == "services.jobs.outbox" and alias.name == "enqueue":
                self.functions.add(bound)
            elif node.module == "services.jobs" and alias.name == "outbox":
                self.outbox_modules.add(bound)
            elif node.module == "services.jobs" and alias.name == "queues":
                self.queue_modules.add(bound)
            elif node.module == "services.jobs.queues":
                self.queue_names[bound] = getattr(queues, alias.name)

    def visit_Call(self, node):
        func_ = node.func
        if ((isinstance(func_, ast.Name) and func_.id in self.functions)
                or (isinstance(func_, ast.Attribute) and func_.attr == "enqueue"
                    and ast.unparse(func_.value) in self.outbox_modules | {"services.jobs.outbox"})):
            given = dict(zip(("session", "queue", "name"), node.args, strict=False))
            given |= {k.arg: k.value for k in node.keywords if k.arg in ("queue", "name")}
            self.found.append((f"{self.path}:{node.lineno}", self._queue(given.get("queue")),
                               self._constant(given.get("name"))))
        self.generic_visit(node)

    def _queue(self, node):
        if isinstance(node, ast.Attribute) and isinstance(node.value, ast.Name) and node.value.id in self.queue_modules:
            return getattr(queues, node.attr, None)
        if isinstance(node, ast.Name):
            return self.queue_names.get(node.id)
        return self._constant(node)

    @staticmethod
    def _constant(node):
        return node.value if isinstance(node, ast.Constant) and isinstance(node.value, str) else None


def enqueue_calls() -> list[tuple[str, str | None, str | None]]:
    calls = []
    for layer in LAYERS:
        for path in sorted((ROOT / layer).rglob("*.py")):
            visitor = EnqueueCalls(path.relative_to(ROOT).as_posix())
            visitor.visit(ast.parse(path.read_text()))
            calls += visitor.found
    return calls


def test_the_scan_resolves_each_form_of_call():
    visitor = EnqueueCalls("example.py")
    visitor.visit(ast.parse(
        "from services.jobs import outbox, queues\nfrom services.jobs.outbox import enqueue as later\n"
        "from services.jobs.queues import DEFAULT\n"
        "outbox.enqueue(s, queues.LICENCES, 'issue_licence', branch_id=1)\n"
        "later(s, DEFAULT, name='amend_licence')\nlater(s, queue='licences', name=job_name)\n"
        "get_queue(q).enqueue('services.jobs.worker.run_outbox_job', 1)\n"))
    assert visitor.found == [("example.py:4", "licences", "issue_licence"),
                             ("example.py:5", "default", "amend_licence"), ("example.py:6", "licences", None)]


def test_every_enqueued_job_is_registered_on_its_queue():
    calls = enqueue_calls()
    assert calls, "no outbox.enqueue call found: has the outbox moved?"
    problems = []
    for where, queue, name in calls:
        if name is None or queue is None:
            problems.append(f"{where}: give the queue (services.jobs.queues) and the job name as constants")
        elif name not in BY_NAME:
            problems.append(f"{where}: job {name!r} is not in services/jobs/registry.py")
        elif BY_NAME[name].queue != queue:
            problems.append(f"{where}: job {name!r} is registered on {BY_NAME[name].queue!r}, enqueued on {queue!r}")
    assert not problems, "; ".join(problems)


def test_every_registered_job_is_enqueued_somewhere():
    enqueued = {name for _where, _queue, name in enqueue_calls()}
    assert [job.name for job in JOBS if job.name not in enqueued] == []
    assert len(BY_NAME) == len(JOBS), "two jobs share a name"


def test_every_queue_is_consumed_and_every_queue_used_is_listened_on():
    used = {job.queue for job in JOBS} | {queue for _function, queue, _interval in PERIODIC}
    assert set(queues.ALL_QUEUES) - used == set(), "a queue no job or periodic job uses"
    assert used - set(queues.ALL_QUEUES) == set(), "a queue `flask rq worker` does not listen on by default"


def test_an_unregistered_job_is_refused_when_enqueued(db):
    before = db.scalar(select(func.count()).select_from(OutboxJob))
    with pytest.raises(ValueError, match="registry"):
        outbox.enqueue(db, queues.DEFAULT, "no_such_job", branch_id=1)
    with pytest.raises(ValueError, match="registry"):
        outbox.enqueue(db, queues.DEFAULT, "issue_licence", branch_id=1)  # registered on the licences queue
    assert db.scalar(select(func.count()).select_from(OutboxJob)) == before
