"""A worker killed with SIGKILL in the middle of an approval action: after a restart the action completes, once.

A real case is approved with real commits, its ``issue_licence`` outbox jobs go to Redis, and a real
`flask rq worker` process picks one up. As soon as that job has written inside its transaction (its PostgreSQL
backend has a transaction id, and it renders the PDF next) the worker's whole process group gets SIGKILL. The sweep
(``redispatch_outbox``) then sends every unfinished job again and a fresh ``--burst`` worker runs them: each
licence-granting branch ends with exactly one licence and every outbox row is marked done.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from contextlib import contextmanager
from pathlib import Path

import pytest
from redis.exceptions import RedisError
from sqlalchemy import select, text
from sqlalchemy.engine import make_url

from services import clock, runtime
from services.applications.models import Counter
from services.db import Database
from services.jobs import outbox
from services.jobs.connection import redis_connection
from services.jobs.models import OutboxJob
from services.jobs.periodic import redispatch_outbox
from services.licences.models import Licence, LicenceNumberReservation
from tests.workflows.test_concurrency import Ledger, approved_restaurant_case

pytestmark = pytest.mark.postgres

PROJECT_ROOT = Path(__file__).resolve().parents[2]
QUEUES = ("licences", "default")  # `flask rq worker` adds RQ_QUEUE_PREFIX itself
WORKER_TIMEOUT = 180


@pytest.fixture
def live(app, database):
    if not database.is_postgresql:
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgresql+psycopg://...): a separate worker process must see "
                    "the committed case")
    url = app.config["REDIS_URL"]
    if not url:
        pytest.skip("needs REDIS_URL: the worker is a real rq process")
    try:
        redis_connection(url).ping()
    except RedisError as exc:
        pytest.skip(f"Redis at {url} is not reachable: {exc}")
    return app


@pytest.fixture
def ledger(live, database):
    ledger = Ledger(database.engine)
    try:
        yield ledger
    finally:
        ledger.cleanup()


class Workers:
    """`flask rq worker` subprocesses, each in a session (process group) of its own; whatever is left is killed."""

    def __init__(self, app, log_dir: Path):
        self.app, self.log_dir = app, log_dir
        self.processes: list[tuple[subprocess.Popen, Path]] = []
        self.killed: list[subprocess.Popen] = []

    def start(self, tag: str, *, burst: bool = False) -> subprocess.Popen:
        config = self.app.config
        # The application name marks the worker's database connections in pg_stat_activity.
        url = make_url(config["DATABASE_URL"]).update_query_dict({"application_name": tag})
        env = dict(os.environ, ONEWINDOW_ENV="test", DATABASE_URL=url.render_as_string(hide_password=False),
                   REDIS_URL=config["REDIS_URL"], RQ_QUEUE_PREFIX=config["RQ_QUEUE_PREFIX"],
                   ONEWINDOW_INSTANCE=config["INSTANCE_DIR"], ONEWINDOW_KEY_DIR=config["KEY_DIR"],
                   ONEWINDOW_UPLOAD_DIR=config["UPLOAD_DIR"], PUBLIC_URL=config["PUBLIC_URL"])
        log = self.log_dir / f"{tag}.log"
        with log.open("wb") as out:
            process = subprocess.Popen(
                [sys.executable, "-m", "flask", "--app", "wsgi", "rq", "worker", *QUEUES, *(["--burst"] * burst)],
                cwd=PROJECT_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
        self.processes.append((process, log))
        return process

    def kill(self, process: subprocess.Popen) -> None:
        """SIGKILL the worker and its work horse at once.

        rq forks a work horse per job and puts it in a process group of its own (``os.setpgrp``), so killing the
        worker's process group alone would leave the horse to finish the job: every process group of the worker's
        session goes."""
        for group in process_groups_of_session(process.pid):
            try:
                os.killpg(group, signal.SIGKILL)
            except ProcessLookupError:
                pass
        process.wait(timeout=30)
        self.killed.append(process)

    def log_of(self, process: subprocess.Popen) -> str:
        log = next(log for p, log in self.processes if p is process)
        return log.read_text(encoding="utf-8", errors="replace")[-4000:]

    def stop_all(self) -> None:
        for process, _log in self.processes:
            if process.poll() is None:
                self.kill(process)


def process_groups_of_session(session_id: int) -> set[int]:
    """The process groups of every live process in the session ``session_id`` (from /proc)."""
    groups = {session_id}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        _state, _ppid, group, session = stat[stat.rindex(")") + 2:].split()[:4]
        if int(session) == session_id:
            groups.add(int(group))
    return groups


def running_backends(engine, tag: str, *, rendering: bool = False) -> list[int]:
    """PostgreSQL backends of the worker tagged ``tag``; with ``rendering``, only those inside a transaction while
    a reserved licence number has no licence yet (the job has reserved its number in a transaction of its own and now
    renders and signs the PDF inside the job's transaction)."""
    query = "SELECT pid FROM pg_stat_activity WHERE application_name = :tag"
    if rendering:
        query += (" AND xact_start IS NOT NULL AND state <> 'idle' AND EXISTS (SELECT 1 FROM"
                  " licence_number_reservations r WHERE NOT EXISTS (SELECT 1 FROM licences l"
                  " WHERE l.branch_id = r.branch_id))")
    with engine.connect() as conn:
        return list(conn.execute(text(query), {"tag": tag}).scalars())


def started_job_ids(app) -> list[str]:
    from rq.registry import StartedJobRegistry

    connection = redis_connection(app.config["REDIS_URL"])
    return [job_id for name in QUEUES for job_id in StartedJobRegistry(
        app.config["RQ_QUEUE_PREFIX"] + name, connection=connection).get_job_ids(cleanup=False)]


def wait_for(condition, timeout: float, interval: float = 0.01):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(interval)
    return None


def clean_rq(app, outbox_ids: set[int], worker_pids: set[int]) -> None:
    """Delete this test's jobs, the queues it used (RQ_QUEUE_PREFIX is the test session's own) and the registrations
    of the workers it started (a killed worker never unregisters; a finished one leaves its key for a minute)."""
    connection = redis_connection(app.config["REDIS_URL"])
    names = [app.config["RQ_QUEUE_PREFIX"] + name for name in QUEUES]
    for key in connection.scan_iter(match="rq:worker:*"):
        if key.count(b":") != 2 or connection.type(key) != b"hash":
            continue  # a worker's companion keys (executions) go with the worker below
        pid = connection.hget(key, "pid")
        if pid is not None and int(pid) in worker_pids:
            for registry in ("rq:workers", *(f"rq:workers:{name}" for name in names)):
                connection.srem(registry, key)
            connection.delete(key, *connection.scan_iter(match=key + b":*"))
    job_ids = {f"{app.config['RQ_QUEUE_PREFIX']}outbox-{i}" for i in outbox_ids}
    for key in connection.scan_iter(match="rq:*"):
        name = key.decode()
        if set(name.split(":")) & job_ids or any(queue in name for queue in names):
            connection.delete(key)
    for name in names:
        connection.srem("rq:queues", f"rq:queue:{name}")


@contextmanager
def runtime_of_our_own(app):
    """The app's settings with a Database of our own, as the process-wide runtime while the block runs.

    Not the app fixture's Database: the ``db`` fixture re-binds its session factory to a test's connection, and its
    ``unbind`` leaves it unusable (``join_transaction_mode="conservative_savepoint"`` is not a SQLAlchemy mode), so
    after any ``db`` test ``database.transaction()`` raises ArgumentError."""
    previous = runtime.current()
    own = Database(app.config["DATABASE_URL"])
    runtime.configure(own, app.config)
    try:
        yield own
    finally:
        runtime.configure(previous.db, previous.settings)
        own.dispose()


def test_worker_killed_mid_licence_issues_it_once_after_restart(live, ledger, tmp_path):
    app = live
    workers = Workers(app, tmp_path)
    outbox_ids: set[int] = set()
    try:
        with runtime_of_our_own(app) as database:
            crash_and_restart(app, ledger, database, workers, outbox_ids, tmp_path)
    finally:
        workers.stop_all()
        clean_rq(app, outbox_ids, {p.pid for p, _log in workers.processes})


def crash_and_restart(app, ledger, database, workers: Workers, outbox_ids: set[int], tmp_path: Path) -> None:
    application_id, branches, pending = approved_restaurant_case(ledger, tmp_path)
    outbox_ids.update(pending)
    agency_of = {branch_id: agency for agency, branch_id in branches.items()}
    with ledger.Session() as session:
        jobs = {row.id: row.args["branch_id"] for row in session.scalars(
            select(OutboxJob).where(OutboxJob.id.in_(pending)))}
    granting = sorted(agency_of[branch_id] for branch_id in jobs.values())
    assert granting == ["fire", "market", "urban"]
    # What the request that approved the last branch does after its commit.
    assert outbox.dispatch(database, pending, redis_url=app.config["REDIS_URL"],
                           prefix=app.config["RQ_QUEUE_PREFIX"]) == len(pending)

    # Kill a worker in the middle of a job. Should a job finish before the kill lands, the next one is tried.
    crashed = None
    for attempt in range(len(pending)):
        tag = f"ow-crash-{os.getpid()}-{attempt}"
        worker = workers.start(tag)
        writing = wait_for(lambda tag=tag: running_backends(ledger.engine, tag, rendering=True), WORKER_TIMEOUT)
        started = started_job_ids(app)
        workers.kill(worker)
        assert writing, f"the worker never got into a job:\n{workers.log_of(worker)}"
        assert wait_for(lambda tag=tag: not running_backends(ledger.engine, tag), 30), \
            "PostgreSQL kept the killed worker's connection"
        (job_id,) = started
        outbox_id = int(job_id.rsplit("outbox-", 1)[1])
        with ledger.Session() as session:
            row = session.get(OutboxJob, outbox_id)
            licence = session.scalar(select(Licence).where(Licence.branch_id == jobs[outbox_id]))
        print(f"attempt {attempt}: killed {job_id} ({agency_of[jobs[outbox_id]]}), done={row.done_at}")
        if row.done_at is None:
            assert licence is None  # killed before its commit: the whole transaction rolled back
            crashed = outbox_id
            break
        assert licence is not None  # it did finish just before the kill
    assert crashed is not None, "every job finished before its worker could be killed"
    with ledger.Session() as session:
        counters = dict(session.execute(select(Counter.name, Counter.value)).all())
    year = clock.today().year  # licence numbers count per agency and year
    killed_counter = f"licence:{agency_of[jobs[crashed]]}:{year}"
    # The killed job's number was reserved (and committed) before its transaction; the rerun uses that number.
    assert counters.get(killed_counter) == ledger.counters.get(killed_counter, 0) + 1
    with ledger.Session() as session:
        reserved = session.scalar(select(LicenceNumberReservation.number).where(
            LicenceNumberReservation.branch_id == jobs[crashed]))
    assert reserved is not None

    # The sweep re-sends whatever is not done (lease 0: at once) and a fresh worker drains the queues.
    with app.app_context():
        with ledger.Session() as session:
            unfinished = session.scalars(select(OutboxJob.id).where(
                OutboxJob.id.in_(pending), OutboxJob.done_at.is_(None))).all()
        assert crashed in unfinished
        assert redispatch_outbox(lease_seconds=0) >= len(unfinished)
    restarted = workers.start(f"ow-crash-{os.getpid()}-restart", burst=True)
    try:
        restarted.wait(timeout=WORKER_TIMEOUT)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the restarted worker did not finish:\n{workers.log_of(restarted)}")
    assert restarted.returncode == 0, workers.log_of(restarted)

    with ledger.Session() as session:
        rows = session.scalars(select(OutboxJob).where(OutboxJob.id.in_(pending))).all()
        assert all(row.done_at is not None for row in rows), workers.log_of(restarted)
        licences = session.scalars(select(Licence).where(Licence.application_id == application_id)).all()
        assert sorted(agency_of[lic.branch_id] for lic in licences) == granting, workers.log_of(restarted)
        assert len({lic.number for lic in licences}) == len(licences)
        assert {lic.number for lic in licences if lic.branch_id == jobs[crashed]} == {reserved}
        counters = dict(session.execute(select(Counter.name, Counter.value)).all())
    for agency in granting:  # one serial number per licence: nothing was issued twice
        name = f"licence:{agency}:{year}"
        assert counters[name] == ledger.counters.get(name, 0) + 1, name
