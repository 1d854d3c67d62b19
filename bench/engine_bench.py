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

def setup_sqlite(path: str | None):
    path = path or os.path.join(tempfile.gettempdir(), "onewindow_engine_bench.db")
    path = os.path.abspath(path)
    for suffix in ("", "-wal", "-shm", "-journal"):
        if os.path.exists(path + suffix):
            os.remove(path + suffix)
    db = Database(f"sqlite:///{path}")
    Base.metadata.create_all(db.engine)
    with db.engine.connect() as conn:
        pragmas = {name: conn.exec_driver_sql(f"PRAGMA {name}").scalar()
                   for name in ("journal_mode", "synchronous", "foreign_keys", "busy_timeout")}
        sqlite_version = conn.exec_driver_sql("select sqlite_version()").scalar()
        conn.rollback()
    details = {"db": path, "sqlite_pragmas": pragmas, "sqlite_version": sqlite_version,
               "begin": "BEGIN IMMEDIATE (services.db.make_engine)"}
    mode = "sqlite" + ("+wal" if str(pragmas["journal_mode"]).lower() == "wal" else "")
    return db, mode, details


def setup_postgresql(url: str, database: str):
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
    Base.metadata.drop_all(db.engine)
    Base.metadata.create_all(db.engine)
    with db.engine.connect() as conn:
        version = conn.execute(text("show server_version")).scalar()
        settings = {name: conn.execute(text(f"show {name}")).scalar()
                    for name in ("synchronous_commit", "fsync", "default_transaction_isolation")}
        conn.rollback()
    details = {"db": base.set(database=database).render_as_string(hide_password=True), "server_version": version,
               "pg_settings": settings, "pool_pre_ping": True}
    return db, "postgresql", details, guard


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


# The driver's own read (a clerk's queue for one case), built once so that the harness adds as little as it can.
OPEN_TASKS = (select(Task.id, Task.node_id)
              .where(Task.instance_id == bindparam("instance_id"), Task.state == TaskState.OPEN).order_by(Task.id))


def run(db: Database, engine: Engine, k: int, n: int, rng: random.Random, counter: StatementCounter | None,
        progress: bool):
    """Drive k instances to their end; return (completions, write transactions, instance ids, phase seconds)."""
    factory = db.session_factory
    expected = n + 2
    completions = txns = 0
    phase_s = collections.Counter()
    ids, names = [], {}
    clock = time.perf_counter
    t_run = clock()
    for i in range(1, k + 1):
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
        txns += 1
        ids.append(instance_id)
        done = names[instance_id] = []
        while True:
            # One transaction per completion: read the open tasks, pick one, complete it, commit.
            session = factory()
            try:
                t0 = clock()
                if counter:
                    counter.phase = "pick"
                open_tasks = session.execute(OPEN_TASKS, {"instance_id": instance_id}).all()
                t1 = clock()
                phase_s["pick"] += t1 - t0
                if not open_tasks:  # the peer's last read: the workflow is completed
                    session.commit()
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
                phase_s["commit"] += clock() - t2
            except BaseException:
                session.rollback()
                raise
            finally:
                session.close()
            txns += 1
            completions += 1
            done.append(node_id)
        if progress:
            _progress(i, k, t_run)
    return completions, txns, ids, names, phase_s


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
    a = ap.parse_args(argv)
    if a.k < 1 or a.n < 1:
        ap.error("--k and --n must be positive")

    with tempfile.TemporaryDirectory(prefix="onewindow-bench-") as scratch:
        registry, parse_s = load_registry(a.n, Path(scratch))
    if a.backend == "sqlite":
        db, mode, details = setup_sqlite(a.db)
        guard = None
    else:
        db, mode, details, guard = setup_postgresql(os.environ.get("DATABASE_URL", DEFAULT_PG_URL), a.pg_database)
    engine = Engine(registry, WeekdayCalendar())
    engine.calendar.add_working_days(TODAY, 45)  # build the calendar's year tables outside the timed run
    counter = StatementCounter(db.engine) if a.count_queries else None
    rng = random.Random(a.seed)

    profiler = cProfile.Profile() if a.profile else None
    load0 = os.getloadavg()[0]
    t0, cpu0 = time.perf_counter(), time.process_time()
    if profiler:
        profiler.enable()
    completions, txns, ids, names, phase_s = run(db, engine, a.k, a.n, rng, counter, progress=not a.quiet)
    if profiler:
        profiler.disable()
    wall, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    if profiler:
        profiler.dump_stats(a.profile)

    t_verify = time.perf_counter()
    verify(db, ids, names, a.n)
    verify_s = time.perf_counter() - t_verify
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
        "write_txns": txns,
        "client_cpu_s": round(cpu, 3),  # this process's CPU time in the run: the rest of run_wall_s is waiting
        "loadavg_1m": [round(load0, 2), round(os.getloadavg()[0], 2)],  # before and after: other work on the machine
        **details,
        "phase_ms_per_task_completion": {p: round(1000 * s / completions, 3) for p, s in phase_s.items()},
        "verified_instances": len(ids),
        "verify_s": round(verify_s, 3),
        "worktree_dirty": dirty,
        "seed": a.seed,
        "today": TODAY.isoformat(),
    }
    if counter:
        result.update(counter.report(a.k, completions))
    if profiler:
        result["profile"] = a.profile
    print(json.dumps(result), flush=True)

    if a.peer:
        peer, peer_cpu = run_peer(a.peer, a.k, a.n, a.seed, a.peer_db)
        print(json.dumps(peer), flush=True)
        ours, theirs = result["task_completions_per_s"], peer["task_completions_per_s"]
        print(json.dumps({"ratio_task_completions_per_s": round(ours / theirs, 3), "ours": ours, "peer": theirs,
                          # Extras: CPU milliseconds per completion, less sensitive to other work on the machine.
                          "ours_cpu_ms_per_task_completion": round(1000 * cpu / completions, 3),
                          "peer_cpu_ms_per_task_completion": round(1000 * peer_cpu / peer["task_completions"], 3)}),
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
