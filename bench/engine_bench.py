#!/usr/bin/env python3
"""OneWindow engine benchmark: the peer's parallel approval, driven through ``workflows.engine.Engine``.

Shape (``bench/definitions/peer_shape.v1.yaml``, the same as ``../shared/peers/spiff_parallel.py``):

    intake (acceptance task) -> split -> review_1 .. review_N (one task per agency) -> join -> issue (task) -> end

Each instance is driven to its end through the engine's public API only: one transaction for ``Engine.start`` and one
per ``Engine.complete_task`` (commit after each), like the peer's ``--mode sqlite``. The next task is picked the way
the peer does it: the instance's OPEN tasks (from ``wf_tasks``, in id order) and ``rng.randrange(len(open))`` with
``random.Random(seed)``, so the branch completion order is shuffled per instance. Every instance is checked at the
end: state approved, each of the N + 2 tasks completed exactly once, exactly one ``joined`` event.

Usage:
    python bench/engine_bench.py --k 2000 --backend sqlite [--db PATH]
    python bench/engine_bench.py --k 2000 --backend postgresql      # DATABASE_URL, scratch database onewindow_bench
    python bench/engine_bench.py --k 2000 --backend sqlite --peer peer-venv/bin/python
    python bench/engine_bench.py --k 500 --backend sqlite --count-queries   # statements per complete_task
    python bench/engine_bench.py --k 2000 --backend sqlite --peer peer-venv/bin/python --rounds 5   # alternating
    python bench/engine_bench.py --k 2000 --backend sqlite --bare   # also replay the same statements with sqlite3

With ``--bare`` (the default on PostgreSQL) every statement of the run is recorded and, after the verification,
replayed on a fresh schema with the bare driver (psycopg or sqlite3), one transaction per completion: the same row
writes without the engine, printed next to ours with ``ratio_ours_to_bare``. Every line has p50/p95/p99 milliseconds
per completion and statements per completion.

stdout: one JSON line (the peer's keys for the same meaning, plus extras); with ``--peer`` also the peer's JSON line
and a third line with the ratio of task completions per second. Progress goes to stderr.
"""

from __future__ import annotations

import argparse
import collections
import cProfile
import datetime as dt
import json
import os
import random
import re
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # the project is installed editable; this only helps a bare checkout
    sys.path.insert(0, str(REPO))

from sqlalchemy import bindparam, event, func, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

import services.models  # noqa: E402,F401  (every mapper, so create_all sees the whole schema)
from services.db import Base, Database  # noqa: E402
from workflows.calendar import WeekdayCalendar  # noqa: E402
from workflows.definitions import load_directory  # noqa: E402
from workflows.engine import Engine  # noqa: E402
from workflows.models import Event, Task, WorkflowInstance  # noqa: E402
from workflows.states import InstanceState, TaskState  # noqa: E402
from workflows.store import Prepared  # noqa: E402

DEFINITIONS = REPO / "bench" / "definitions"
KEY = "peer_shape"
TODAY = dt.date(2026, 11, 23)  # a Monday; fixed so that every run computes the same deadlines
DEFAULT_PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/test"
PG_BENCH_DB = "onewindow_bench"
ACTOR = 7


# -- definition ------------------------------------------------------------------------------------------------------

def _generated_yaml(n: int) -> str:
    """The shape with n branches (the checked-in file has n = 5); same parser, same loader."""
    lines = ["key: peer_shape", "version: 1", "start: intake", "joint_limit_days: 45", "nodes:",
             "  intake: {type: task, acceptance: true, agency: hub, role: clerk, limit_days: 5, next: split}",
             f"  split: {{type: split, join: join, branches: [{', '.join(f'review_{i}' for i in range(1, n + 1))}]}}"]
    lines += [f"  review_{i}: {{type: task, agency: a{i}, role: clerk, limit_days: 20, next: join}}"
              for i in range(1, n + 1)]
    lines += ["  join: {type: join, next: issue}",
              "  issue: {type: task, agency: hub, role: clerk, limit_days: 5, next: approved}",
              "  approved: {type: end, outcome: approved}"]
    return "\n".join(lines) + "\n"


def load_registry(n: int, scratch: Path):
    """Load the definition through ``load_directory`` (agencies=None: codes unchecked); time it like the peer."""
    directory = DEFINITIONS
    if n != 5:
        directory = scratch / "definitions"
        directory.mkdir(parents=True, exist_ok=True)
        (directory / "peer_shape.v1.yaml").write_text(_generated_yaml(n), encoding="utf-8")
    t0 = time.perf_counter()
    registry = load_directory(directory, agencies=None)
    parse_s = time.perf_counter() - t0
    definition = registry.get(KEY)
    branches = definition.node("split").branches
    if len(branches) != n:
        raise SystemExit(f"{directory}: the definition has {len(branches)} branches, --n is {n}")
    return registry, parse_s


# -- databases -------------------------------------------------------------------------------------------------------

def make_schema(db: Database, schema: str) -> None:
    """Empty tables: ``migrations`` is the production schema (``flask db upgrade``: the engine's tables plus the
    clerk workbench's tally triggers on wf_tasks, wf_branches and wf_requests, migration 0008); ``models`` is
    ``create_all`` from the models (the same tables and indexes, without the triggers)."""
    if db.is_postgresql:
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    if schema == "models":
        Base.metadata.create_all(db.engine)
        return
    from alembic import command
    from alembic.config import Config

    from app import create_app

    config = Config(str(REPO / "migrations" / "alembic.ini"))
    config.set_main_option("script_location", str(REPO / "migrations"))
    config.attributes["skip_logging"] = True  # keep stderr for the benchmark's own progress
    with tempfile.TemporaryDirectory(prefix="onewindow-bench-instance-") as instance:
        app = create_app("test", INSTANCE_DIR=instance, DATABASE_URL=db.url, REDIS_URL="")
        with app.app_context():
            command.upgrade(config, "head")
        app.extensions["onewindow_db"].dispose()


def _fresh_sqlite(path: str) -> None:
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)


def setup_sqlite(path: str | None, schema: str):
    path = path or os.path.join(tempfile.gettempdir(), "onewindow_engine_bench.db")
    path = os.path.abspath(path)
    _fresh_sqlite(path)
    db = Database(f"sqlite:///{path}")
    make_schema(db, schema)
    with db.engine.connect() as conn:
        pragmas = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                   for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")}
        sqlite_version = conn.exec_driver_sql("select sqlite_version()").scalar()
        conn.rollback()
    details = {"db": path, "sqlite_pragmas": pragmas, "sqlite_version": sqlite_version,
               "begin": "BEGIN IMMEDIATE (services.db.make_engine)"}
    mode = "sqlite" + ("+wal" if str(pragmas["journal_mode"]).lower() == "wal" else "")
    return db, mode, details


def setup_postgresql(url: str, database: str, schema: str):
    """Use a scratch database (never the test database's tables): create it if missing, then drop/create all."""
    import psycopg

    base = make_url(url)
    if base.database == database:
        raise SystemExit(f"DATABASE_URL already names {database!r}; point it at the server's usual database")
    admin = base.set(drivername="postgresql").render_as_string(hide_password=False)
    with psycopg.connect(admin, autocommit=True) as conn:
        exists = conn.execute("select 1 from pg_database where datname = %s", (database,)).fetchone()
        if not exists:
            conn.execute(f'create database "{database}"')
    bench_url = base.set(database=database).render_as_string(hide_password=False)
    # Two runs on one scratch database would drop each other's tables: hold an advisory lock for the whole run.
    guard = psycopg.connect(base.set(drivername="postgresql", database=database).render_as_string(
        hide_password=False), autocommit=True)
    if not guard.execute("select pg_try_advisory_lock(hashtext('onewindow_engine_bench'))").fetchone()[0]:
        guard.close()
        raise SystemExit(f"another benchmark is using database {database!r}; wait or pass --pg-database")
    db = Database(bench_url)
    make_schema(db, schema)
    with db.engine.connect() as conn:
        version = conn.execute(text("show server_version")).scalar()
        settings = {name: conn.execute(text(f"show {name}")).scalar()
                    for name in ("synchronous_commit", "fsync", "default_transaction_isolation")}
        conn.rollback()
    details = {"db": base.set(database=database).render_as_string(hide_password=True), "server_version": version,
               "pg_settings": settings, "pool_pre_ping": db.engine.pool._pre_ping}
    driver_url = base.set(drivername="postgresql", database=database).render_as_string(hide_password=False)
    return db, "postgresql", details, guard, driver_url


# -- statement counting (optional: it adds a listener to the timed run) --------------------------------------------

_TABLE = re.compile(r"\b(?:FROM|INTO|UPDATE)\s+\"?(\w+)", re.IGNORECASE)


class StatementCounter:
    """Counts statements sent to the database by phase (pick, start, complete, commit) and by kind and table."""

    def __init__(self, engine):
        self.phase = "setup"
        self.by_phase: collections.Counter[str] = collections.Counter()
        self.by_kind: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
        event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany):
        self.by_phase[self.phase] += 1
        words = statement.lstrip().split(None, 2)
        verb = words[0].upper() if words else "?"
        if verb in ("BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE"):
            label = " ".join(words[:2]).upper()
        else:
            match = _TABLE.search(statement)
            label = f"{verb} {match.group(1) if match else '?'}"
            if verb == "SELECT" and "FOR UPDATE" in statement.upper():
                label += " FOR UPDATE"
        self.by_kind[self.phase][label] += 1

    def report(self, k: int, completions: int) -> dict:
        per = {"start": k, "pick": completions + k, "complete": completions, "commit": completions + k}
        return {
            "statements_per_phase": {p: round(self.by_phase[p] / per[p], 3) for p in per if p in self.by_phase},
            "statements_per_complete_task": {label: round(c / completions, 3)
                                             for label, c in self.by_kind["complete"].most_common()},
            "statements_per_start": {label: round(c / k, 3) for label, c in self.by_kind["start"].most_common()},
        }


# -- the bare-SQL baseline: the same statements without the engine --------------------------------------------------

class Capture:
    """Records every statement the run sends (SQL text and the driver's parameters, as executed), cut into
    transactions at each commit, so that ``replay`` can send exactly the same statements with the driver alone."""

    def __init__(self, engine):
        self.transactions: list[tuple[bool, list]] = []
        self._current: list = []
        event.listen(engine, "before_cursor_execute", self._on_execute)

    def _on_execute(self, conn, cursor, statement, parameters, context, executemany):
        self._current.append((statement, parameters, executemany))

    def commit(self, completion: bool) -> None:
        self.transactions.append((completion, self._current))
        self._current = []


def replay(backend: str, url_or_path: str, transactions) -> dict:
    """Send the captured statements through the bare driver (sqlite3 or psycopg), one transaction each, timed."""
    if backend == "sqlite":
        import sqlite3

        conn = sqlite3.connect(url_or_path, isolation_level=None, timeout=30)
        for pragma in ("journal_mode=WAL", "synchronous=NORMAL", "foreign_keys=ON"):
            conn.execute(f"PRAGMA {pragma}")
    else:
        import psycopg

        conn = psycopg.connect(url_or_path)
    latencies, statements, completions = [], 0, 0
    clock = time.perf_counter
    t_run, cpu0 = clock(), time.process_time()
    for completion, sent in transactions:
        t0 = clock()
        cursor = conn.cursor()
        for sql, parameters, many in sent:
            if many:
                cursor.executemany(sql, parameters)
            else:
                cursor.execute(sql, parameters)
                if cursor.description is not None:
                    cursor.fetchall()
        conn.commit()
        if completion:
            latencies.append(clock() - t0)
            statements += len(sent)
            completions += 1
    wall, cpu = clock() - t_run, time.process_time() - cpu0
    conn.close()
    return {"task_completions_per_s": round(completions / wall, 1), "run_wall_s": round(wall, 3),
            "ms_per_task_completion": round(1000 * wall / completions, 3),
            "client_cpu_ms_per_task_completion": round(1000 * cpu / completions, 3),
            **percentiles(latencies), "statements_per_task_completion": round(statements / completions, 2)}


def percentiles(latencies: list[float]) -> dict:
    """p50/p95/p99 of one completion's transaction (session, the open-task read, complete_task, commit), in ms."""
    cuts = statistics.quantiles(latencies, n=100, method="inclusive")
    return {f"completion_ms_p{q}": round(1000 * cuts[q - 1], 3) for q in (50, 95, 99)}


# -- the run ---------------------------------------------------------------------------------------------------------

def _progress(i: int, k: int, t0: float) -> None:
    """A counter line every 100 instances (rewritten in place on a terminal, every 500 on a log)."""
    tty = sys.stderr.isatty()
    if i != k and i % (100 if tty else 500):
        return
    rate = i / max(time.perf_counter() - t0, 1e-9)
    prefix = "\r" if tty else ""
    print(f"{prefix}  {i}/{k} instances  {rate:.1f}/s", end="" if tty and i != k else "\n", file=sys.stderr,
          flush=True)


# The driver's own read (a clerk's queue for one case), compiled once and run on the DBAPI cursor like the engine's
# hot statements (``workflows.store.Prepared``): the peer's driver reads its row with bare sqlite3 too.
OPEN_TASKS = Prepared(select(Task.id, Task.node_id)
                      .where(Task.instance_id == bindparam("instance_id"), Task.state == TaskState.OPEN)
                      .order_by(Task.id))


def run(db: Database, engine: Engine, k: int, n: int, rng: random.Random, counter: StatementCounter | None,
        progress: bool, capture: Capture | None = None, first: int = 1):
    """Drive k instances to their end; return (completions, write transactions, instance ids, names, phase seconds,
    each completion's transaction time in seconds)."""
    factory = db.session_factory
    expected = n + 2
    completions = txns = 0
    phase_s = collections.Counter()
    latencies = []
    ids, names = [], {}
    clock = time.perf_counter
    t_run = clock()
    for i in range(first, first + k):
        # One transaction: start the instance (runs to its first wait state, the intake task).
        if counter:
            counter.phase = "start"
        t0 = clock()
        session = factory()
        try:
            instance = engine.start(session, KEY, subject_id=i, data={}, actor_id=ACTOR,
                                    command_id=f"bench-{i}-start", today=TODAY)
            instance_id = instance.id
            if counter:
                counter.phase = "commit"
            session.commit()
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()
        phase_s["start+commit"] += clock() - t0
        if capture:
            capture.commit(completion=False)
        txns += 1
        ids.append(instance_id)
        done = names[instance_id] = []
        while True:
            # One transaction per completion: read the open tasks, pick one, complete it, commit.
            t0 = clock()
            session = factory()
            try:
                if counter:
                    counter.phase = "pick"
                # On the session's connection, in its transaction: a plain read, like the peer's SELECT.
                connection = session.connection()
                open_tasks = OPEN_TASKS.execute(connection, connection.connection.cursor(),
                                                {"instance_id": instance_id}).fetchall()
                t1 = clock()
                phase_s["pick"] += t1 - t0
                if not open_tasks:  # the peer's last read: the workflow is completed
                    session.commit()
                    if capture:
                        capture.commit(completion=False)
                    break
                if len(done) >= expected:
                    raise RuntimeError(f"instance {instance_id}: still has open tasks after {len(done)} completions")
                task_id, node_id = open_tasks[rng.randrange(len(open_tasks))]
                outcome = "accept" if node_id == "intake" else "approve"
                if counter:
                    counter.phase = "complete"
                engine.complete_task(session, task_id, actor_id=ACTOR, outcome=outcome,
                                     command_id=f"bench-{i}-task-{task_id}", today=TODAY)
                t2 = clock()
                phase_s["complete_task"] += t2 - t1
                if counter:
                    counter.phase = "commit"
                session.commit()
                t3 = clock()
                phase_s["commit"] += t3 - t2
                latencies.append(t3 - t0)
                if capture:
                    capture.commit(completion=True)
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()
            txns += 1
            completions += 1
            done.append(node_id)
        if progress:
            _progress(i - first + 1, k, t_run)
    return completions, txns, ids, names, phase_s, latencies


def verify(db: Database, ids: list[int], names: dict[int, list[str]], n: int) -> None:
    """Every instance approved, each task completed exactly once, exactly one join; raise otherwise."""
    expected = sorted(["intake", *(f"review_{i}" for i in range(1, n + 1)), "issue"])
    with db.session_factory() as session:
        states = dict(session.execute(select(WorkflowInstance.id, WorkflowInstance.state)).all())
        tasks = collections.defaultdict(list)
        for instance_id, node_id, state in session.execute(select(Task.instance_id, Task.node_id, Task.state)):
            tasks[instance_id].append((node_id, state))
        joins = dict(session.execute(select(Event.instance_id, func.count()).where(Event.kind == "joined")
                                     .group_by(Event.instance_id)).all())
        session.rollback()
    if sorted(states) != sorted(ids):
        raise RuntimeError(f"{len(states)} instances in the database, {len(ids)} started")
    for instance_id in ids:
        if states[instance_id] != InstanceState.APPROVED:
            raise RuntimeError(f"instance {instance_id}: state {states[instance_id]}, not approved")
        rows = tasks[instance_id]
        if sorted(node for node, _ in rows) != expected:
            raise RuntimeError(f"instance {instance_id}: tasks {sorted(node for node, _ in rows)}")
        if any(state != TaskState.COMPLETED for _, state in rows):
            raise RuntimeError(f"instance {instance_id}: not every task completed: {rows}")
        if sorted(names[instance_id]) != expected:
            raise RuntimeError(f"instance {instance_id}: completed {names[instance_id]}")
        if joins.get(instance_id, 0) != 1:
            raise RuntimeError(f"instance {instance_id}: joined {joins.get(instance_id, 0)} times")


# -- peer ------------------------------------------------------------------------------------------------------------

def peer_script() -> Path:
    env = os.environ.get("PEER_SCRIPT")
    return Path(env) if env else REPO.parent / "shared" / "peers" / "spiff_parallel.py"


def run_peer(python: str, k: int, n: int, seed: int, db: str | None = None) -> tuple[dict, float]:
    script = peer_script()
    if not script.exists():
        raise SystemExit(f"peer benchmark not found at {script} (set PEER_SCRIPT)")
    cmd = [python, str(script), "--k", str(k), "--n", str(n), "--seed", str(seed), "--mode", "sqlite", "--sqlite-wal"]
    if db:
        cmd += ["--db", db]
    print("peer: " + " ".join(cmd), file=sys.stderr, flush=True)
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    proc = subprocess.run(cmd, capture_output=True, text=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    if proc.returncode != 0:
        sys.stderr.write(proc.stdout + proc.stderr)
        raise SystemExit(f"peer benchmark failed with exit code {proc.returncode}")
    lines = [line for line in proc.stdout.splitlines() if line.lstrip().startswith("{")]
    if not lines:
        raise SystemExit(f"peer benchmark printed no JSON line:\n{proc.stdout}")
    result = json.loads(lines[-1])
    # CPU time of the whole peer process (interpreter start and spec parse included): a check on a shared machine.
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return result, cpu


# -- main ------------------------------------------------------------------------------------------------------------

def engine_label() -> tuple[str, bool | None]:
    try:
        sha = subprocess.run(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"], capture_output=True,
                             text=True, check=True).stdout.strip()
        dirty = bool(subprocess.run(["git", "-C", str(REPO), "status", "--porcelain", "--", "workflows", "services"],
                                    capture_output=True, text=True, check=True).stdout.strip())
        return f"OneWindow {sha}", dirty
    except (OSError, subprocess.CalledProcessError):
        return "OneWindow dev", None


def run_ours(a, registry, parse_s) -> tuple[dict, float]:
    """One timed run of OneWindow (fresh database), verified; (the JSON line's dict, client CPU seconds)."""
    if a.backend == "sqlite":
        db, mode, details = setup_sqlite(a.db, a.schema)
        guard = None
    else:
        db, mode, details, guard, driver_url = setup_postgresql(os.environ.get("DATABASE_URL", DEFAULT_PG_URL),
                                                                a.pg_database, a.schema)
    engine = Engine(registry, WeekdayCalendar())
    engine.calendar.add_working_days(TODAY, 45)  # build the calendar's year tables outside the timed run
    counter = StatementCounter(db.engine) if a.count_queries else None
    capture = Capture(db.engine) if a.bare else None
    rng = random.Random(a.seed)

    profiler = cProfile.Profile() if a.profile else None
    load0 = os.getloadavg()[0]
    t0, cpu0 = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    completions, txns, ids, names, phase_s, latencies = run(db, engine, a.k, a.n, rng, counter,
                                                            progress=not a.quiet, capture=capture)
    if profiler:
        profiler.disable()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    if profiler:
        profiler.dump_stats(a.profile)

    t_verify = time.perf_counter()
    verify(db, ids, names, a.n)
    verify_s = time.perf_counter() - t_verify
    if counter:
        event.remove(db.engine, "before_cursor_execute", counter._on_execute)  # the timed run's counts only
    if capture is None:
        # Statements per completion from a short extra pass (not timed, not verified): a listener costs a little.
        capture = Capture(db.engine)
        run(db, engine, 50, a.n, random.Random(a.seed + 1), None, progress=False, capture=capture, first=a.k + 1)
        event.remove(db.engine, "before_cursor_execute", capture._on_execute)
    sent = [len(statements) for completion, statements in capture.transactions if completion]
    statements_per_completion = round(sum(sent) / len(sent), 2)
    bare = None
    if a.bare:
        event.remove(db.engine, "before_cursor_execute", capture._on_execute)
        # A fresh schema for the replay: the same statements must find the same ids.
        if a.backend == "sqlite":
            db.dispose()
            _fresh_sqlite(details["db"])
            db = Database(db.url)
        make_schema(db, a.schema)
        bare = replay(a.backend, details["db"] if a.backend == "sqlite" else driver_url, capture.transactions)
    if a.backend == "sqlite":
        details["db_file_bytes"] = sum(os.path.getsize(details["db"] + s) for s in ("", "-wal")
                                       if os.path.exists(details["db"] + s))
    db.dispose()
    if guard is not None:
        guard.close()

    label, dirty = engine_label()
    result = {
        "engine": label,
        "python": sys.version.split()[0],
        "mode": mode,
        "k": a.k,
        "n": a.n,
        "user_tasks_per_instance": a.n + 2,
        "task_completions": completions,
        "spec_parse_s": round(parse_s, 4),
        "run_wall_s": round(wall, 3),
        "instances_per_s": round(a.k / wall, 1),
        "task_completions_per_s": round(completions / wall, 1),
        "ms_per_task_completion": round(1000 * wall / completions, 3),
        **percentiles(latencies),
        "statements_per_task_completion": statements_per_completion,
        "client_cpu_ms_per_task_completion": round(1000 * cpu / completions, 3),
        "write_txns": txns,
        "client_cpu_s": round(cpu, 3),  # this process's CPU time in the run: the rest of run_wall_s is waiting
        "loadavg_1m": [round(load0, 2), round(os.getloadavg()[0], 2)],  # before and after: other work on the machine
        **details,
        "phase_ms_per_task_completion": {p: round(1000 * s / completions, 3) for p, s in phase_s.items()},
        "verified_instances": len(ids),
        "verify_s": round(verify_s, 3),
        "worktree_dirty": dirty,
        "schema": a.schema,
        "seed": a.seed,
        "today": TODAY.isoformat(),
    }
    if counter:
        result.update(counter.report(a.k, completions))
    if profiler:
        result["profile"] = a.profile
    if bare is not None:
        result["bare_sql"] = bare
        result["ratio_ours_to_bare"] = round(result["task_completions_per_s"] / bare["task_completions_per_s"], 3)
    return result, cpu


def alternate(a, registry, parse_s) -> int:
    """``--rounds R``: R runs of ours and R of the peer, alternating (a load change hits both sides alike)."""
    if not a.peer:
        raise SystemExit("--rounds needs --peer")
    ours, theirs = [], []
    for round_ in range(1, a.rounds + 1):
        result, cpu = run_ours(a, registry, parse_s)
        peer, peer_cpu = run_peer(a.peer, a.k, a.n, a.seed, a.peer_db)
        ours.append((result["task_completions_per_s"], 1000 * cpu / result["task_completions"],
                     result["loadavg_1m"][0]))
        theirs.append((peer["task_completions_per_s"], 1000 * peer_cpu / peer["task_completions"],
                       round(os.getloadavg()[0], 2)))
        print(json.dumps({"round": round_, "ours": result["task_completions_per_s"],
                          "peer": peer["task_completions_per_s"],
                          "ratio": round(result["task_completions_per_s"] / peer["task_completions_per_s"], 3),
                          "ours_cpu_ms": round(ours[-1][1], 3), "peer_cpu_ms": round(theirs[-1][1], 3),
                          "loadavg_1m": ours[-1][2]}), flush=True)
    summary = {
        "rounds": a.rounds, "k": a.k, "mode": result["mode"], "engine": result["engine"],
        "ours_task_completions_per_s": [r[0] for r in ours],
        "peer_task_completions_per_s": [r[0] for r in theirs],
        "ours_median": statistics.median(r[0] for r in ours),
        "peer_median": statistics.median(r[0] for r in theirs),
        "ratio_of_medians": round(statistics.median(r[0] for r in ours) / statistics.median(r[0] for r in theirs), 3),
        "ours_cpu_ms_per_task_completion_median": round(statistics.median(r[1] for r in ours), 3),
        "peer_cpu_ms_per_task_completion_median": round(statistics.median(r[1] for r in theirs), 3),
        "loadavg_1m": [r[2] for r in ours],
    }
    print(json.dumps(summary), flush=True)
    return 0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--k", type=int, default=200, help="process instances to run")
    ap.add_argument("--n", type=int, default=5, help="parallel agency branches (5 = the checked-in definition)")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--backend", choices=["sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--db", help="SQLite file (deleted first; default: a file in the temp directory)")
    ap.add_argument("--pg-database", default=PG_BENCH_DB,
                    help=f"scratch PostgreSQL database on DATABASE_URL's server (default {PG_BENCH_DB})")
    ap.add_argument("--peer", metavar="PYTHON", help="then run the peer with this interpreter and print the ratio")
    ap.add_argument("--peer-db", metavar="PATH", help="the peer's SQLite file (default: the peer's own default)")
    ap.add_argument("--count-queries", action="store_true",
                    help="count statements per phase with an event listener (adds a little overhead)")
    ap.add_argument("--profile", metavar="FILE", help="write a cProfile dump of the timed run to FILE")
    ap.add_argument("--quiet", action="store_true", help="no progress on stderr")
    ap.add_argument("--bare", action=argparse.BooleanOptionalAction, default=None,
                    help="then replay the run's statements with the bare driver and print both (default: on for "
                         "postgresql)")
    ap.add_argument("--schema", choices=["migrations", "models"], default="migrations",
                    help="the production schema from the migrations (with the workbench's tally triggers; default) "
                         "or create_all from the models (no triggers)")
    ap.add_argument("--rounds", type=int, default=1,
                    help="with --peer: alternate R runs of each side and print the medians (default 1)")
    a = ap.parse_args(argv)
    if a.k < 1 or a.n < 1:
        ap.error("--k and --n must be positive")
    if a.bare is None:
        a.bare = a.backend == "postgresql"

    with tempfile.TemporaryDirectory(prefix="onewindow-bench-") as scratch:
        registry, parse_s = load_registry(a.n, Path(scratch))
    if a.rounds > 1:
        return alternate(a, registry, parse_s)
    result, cpu = run_ours(a, registry, parse_s)
    print(json.dumps(result), flush=True)

    if a.peer:
        peer, peer_cpu = run_peer(a.peer, a.k, a.n, a.seed, a.peer_db)
        print(json.dumps(peer), flush=True)
        ours, theirs = result["task_completions_per_s"], peer["task_completions_per_s"]
        print(json.dumps({"ratio_task_completions_per_s": round(ours / theirs, 3), "ours": ours, "peer": theirs,
                          # Extras: CPU milliseconds per completion, less sensitive to other work on the machine.
                          "ours_cpu_ms_per_task_completion": round(1000 * cpu / result["task_completions"], 3),
                          "peer_cpu_ms_per_task_completion": round(1000 * peer_cpu / peer["task_completions"], 3)}),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
