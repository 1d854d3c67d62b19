#!/usr/bin/env python3
"""Server-side time of the applicant's pages on the `bench/gen_data.py` volumes, then their throughput under gunicorn.

Part 1, server time. The app is built in this process (``create_app`` with the bench database, no Redis, no periodic
thread) and every request goes through its test client, signed in as a different generated user each time (the
session carries ``account_id``, as ``app.security.sign_in`` stores it). ``time.perf_counter`` around
``client.get`` is the time the server spends on the request (routing, queries, rendering; no network). Pages:

    resident_home    /me/ of a random generated resident who represents no enterprise
    enterprise_home  /me/enterprises/<id>/ of a random enterprise, opened by its legal representative (its cases with
                     their branch timelines, licences, to-dos, mandates and the audit of what was done for it)
    case             /me/cases/<reference> of a random case, opened by its applicant
    catalogue        /services/ (anonymous)
    catalogue_search /services/?q=<term>, a rotating list of Chinese, pinyin, initials and English terms (anonymous)
    follow_ups       /supervision/follow-ups (pages 1 and 2): poor ratings and their follow-up items, alternately
                     for the city's supervisor (every agency) and the market agency's

One JSON line per page: p50_ms, p95_ms, p99_ms, mean_ms, max_ms, n, users, queries_per_request (statements counted
by a ``before_cursor_execute`` listener on the app's engine), sql_ms_mean (time inside those statements: the rest is
Python), client_cpu_ms_mean (this process's CPU time per request: when the wall time is much larger than SQL + CPU,
the process was waiting for a core), statuses, target_p95_ms, meets_target.

Part 2, throughput (skip with --no-throughput). For each page a fresh gunicorn serves ``wsgi:app`` with 2 workers on
127.0.0.1 against the bench database (fresh, so that a slow page's queued requests do not spill into the next page's
run); the baseline is ``bench/plain_app.py`` (the same app and layout, one page without a query). wrk (or Python
threads when wrk is missing) loads each page for --duration seconds with --connections concurrent connections, every
request with the session cookie of one of the sampled users. One JSON line per page with rps, wrk's latency
percentiles and the ratio to the plain page.

Usage:
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/onewindow_pages python bench/portal_bench.py
    python bench/portal_bench.py --requests 200 --no-throughput --explain    # EXPLAIN ANALYZE slow statements
"""

from __future__ import annotations

import argparse
import json
import math
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.parse
import urllib.request
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
if str(REPO) not in sys.path:  # the project is installed editable; this only helps a bare checkout
    sys.path.insert(0, str(REPO))

from sqlalchemy import event, text  # noqa: E402

TARGET_P95_MS = 50.0
SERVER_TIME_ONLY = {"follow_ups"}  # a supervisor's page: timed, but not part of the portal's throughput runs
BENCH_SECRET = "portal-bench-secret-not-for-production-use-0123456789"
BOOKKEEPING = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- shared with clerk_bench.py ---------------------------------------------------------------------------------------

def make_app(database_url: str):
    """The real app on the bench database: no Redis (jobs would run in-process), no periodic thread."""
    from app import create_app

    os.environ.setdefault("ONEWINDOW_INSTANCE", tempfile.mkdtemp(prefix="onewindow-bench-"))
    flask_app = create_app("development", DATABASE_URL=database_url, REDIS_URL="", RUN_PERIODIC_IN_PROCESS=False,
                           SECRET_KEY=BENCH_SECRET)
    return flask_app


def display_path(url: str) -> str:
    """The URL with its varying part (case reference, id, search term) replaced by a placeholder."""
    url = re.sub(r"/[A-Z]{2}-\d{8}-\d{6}-.", "/<ref>", url)
    return re.sub(r"\?q=.*", "?q=<term>", re.sub(r"/\d+(/?)$", r"/<id>\1", url))


def percentile(values: list[float], fraction: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(fraction * len(ordered)) - 1)]


class PageTimer:
    """Times GET requests through the app's test client and counts the statements each runs."""

    def __init__(self, flask_app, *, explain: bool = False, explain_ms: float = 5.0):
        self.app = flask_app
        self.client = flask_app.test_client()
        self.database = flask_app.extensions["onewindow_db"]
        self.statements: list[tuple[str, object, float]] = []
        self.explain, self.explain_ms = explain, explain_ms
        self._started: dict[int, float] = {}
        event.listen(self.database.engine, "before_cursor_execute", self._before)
        event.listen(self.database.engine, "after_cursor_execute", self._after)

    def _before(self, conn, cursor, statement, parameters, context, executemany):
        self._started[id(cursor)] = time.perf_counter()

    def _after(self, conn, cursor, statement, parameters, context, executemany):
        started = self._started.pop(id(cursor), None)
        if not statement.lstrip().upper().startswith(BOOKKEEPING):
            elapsed = (time.perf_counter() - started) * 1000 if started else 0.0
            self.statements.append((statement, parameters, elapsed))

    def sign_in(self, account_id: int | None) -> None:
        with self.client.session_transaction() as session:
            session.clear()
            if account_id is not None:
                session["account_id"] = account_id

    def get(self, url: str, account_id: int | None) -> tuple[float, int, int]:
        """(milliseconds, status, statements) of one request; signing in is outside the timing. ``last_sql_ms`` and
        ``last_cpu_ms`` keep the request's time inside statements and this process's CPU time."""
        self.sign_in(account_id)
        self.statements = []
        cpu = time.process_time()
        started = time.perf_counter()
        response = self.client.get(url)
        response.get_data()
        elapsed = (time.perf_counter() - started) * 1000
        self.last_cpu_ms = (time.process_time() - cpu) * 1000
        self.last_sql_ms = sum(ms for _s, _p, ms in self.statements)
        return elapsed, response.status_code, len(self.statements)

    def measure(self, name: str, requests: list[tuple[int | None, str]], *, warmup: int = 10,
                max_seconds: float = 120.0, extra: dict | None = None) -> dict:
        """Time ``requests`` (account id, url), after a few warm-up requests; stop early after ``max_seconds``."""
        warm_until = time.monotonic() + 10
        for account_id, url in requests[:warmup]:  # templates compiled, caches and connections warm
            self.get(url, account_id)
            if time.monotonic() > warm_until:
                break
        times, statuses, queries, sql_ms, cpu_ms = [], Counter(), [], [], []
        deadline = time.monotonic() + max_seconds
        for account_id, url in requests:
            elapsed, status, count = self.get(url, account_id)
            times.append(elapsed)
            sql_ms.append(self.last_sql_ms)
            cpu_ms.append(self.last_cpu_ms)
            statuses[status] += 1
            queries.append(count)
            if time.monotonic() > deadline:
                break
        if self.explain:
            self.explain_one(name, *requests[0][::-1])
        result = {"page": name, "path": display_path(requests[0][1]),
                  "n": len(times), "users": len({a for a, _u in requests[:len(times)]}),
                  "p50_ms": round(percentile(times, 0.50), 2), "p95_ms": round(percentile(times, 0.95), 2),
                  "p99_ms": round(percentile(times, 0.99), 2), "mean_ms": round(sum(times) / len(times), 2),
                  "max_ms": round(max(times), 2), "queries_per_request": round(sum(queries) / len(queries), 2),
                  "queries_max": max(queries), "sql_ms_mean": round(sum(sql_ms) / len(sql_ms), 2),
                  "client_cpu_ms_mean": round(sum(cpu_ms) / len(cpu_ms), 2),
                  "statuses": {str(k): v for k, v in sorted(statuses.items())},
                  "target_p95_ms": TARGET_P95_MS}
        result["meets_target"] = result["p95_ms"] < TARGET_P95_MS and set(statuses) == {200}
        if extra:
            result.update(extra)
        return result

    def explain_one(self, name: str, url: str, account_id: int | None) -> None:
        """Run one request, then EXPLAIN ANALYZE (in a rolled-back transaction) every SELECT slower than the
        threshold; printed to stderr."""
        self.get(url, account_id)
        slow = [(s, p, ms) for s, p, ms in self.statements if ms >= self.explain_ms and
                s.lstrip().upper().startswith("SELECT")]
        log(f"--- {name} {url}: {len(self.statements)} statements, {len(slow)} over {self.explain_ms} ms")
        if not slow or not self.database.is_postgresql:
            return
        with self.database.engine.connect() as connection:
            raw = connection.connection.driver_connection
            for statement, parameters, ms in slow:
                with raw.cursor() as cursor:
                    cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, parameters)
                    plan = "\n".join(row[0] for row in cursor.fetchall())
                log(f"[{ms:.1f} ms] {statement}\n  params: {parameters}\n{plan}\n")
            raw.rollback()


def sample(session, sql: str, n: int, shuffle_seed: int, **params) -> list[tuple]:
    """Up to ``n`` rows of ``sql``, shuffled."""
    rows = session.execute(text(sql), params).all()
    random.Random(shuffle_seed).shuffle(rows)
    return [tuple(r) for r in rows[:n]]


def emit(result: dict) -> None:
    print(json.dumps(result, ensure_ascii=False), flush=True)


# -- part 1: server time -------------------------------------------------------------------------------------------

GENERATED = "%@bench.onewindow.test"
# What people type: Chinese by any part, pinyin in full or by initials, English words; some find nothing.
SEARCH_TERMS = ("餐饮", "许可", "居住证", "消防", "招牌", "canyin", "cyxk", "jzz", "xiaofang", "restaurant",
                "fire safety", "permit", "营业执照", "环境", "food business", "huanjing", "不存在的事项")


def pick_users(flask_app, n: int, seed: int) -> dict[str, list[tuple[int | None, str]]]:
    database = flask_app.extensions["onewindow_db"]
    pool = max(n * 3, 500)
    with database.transaction() as session:
        residents = sample(session, """
            SELECT a.id FROM accounts a TABLESAMPLE BERNOULLI (5) REPEATABLE (:seed)
            WHERE a.role = 'RESIDENT' AND a.email LIKE :generated
              AND NOT EXISTS (SELECT 1 FROM enterprises e WHERE e.legal_representative_id = a.id)""", pool, seed,
                           generated=GENERATED, seed=seed)
        representatives = sample(session, """
            SELECT e.legal_representative_id, e.id FROM enterprises e TABLESAMPLE BERNOULLI (10) REPEATABLE (:seed)
            JOIN accounts a ON a.id = e.legal_representative_id WHERE a.email LIKE :generated""", pool, seed,
                                 generated=GENERATED, seed=seed)
        cases = sample(session, """
            SELECT applicant_id, reference FROM applications TABLESAMPLE SYSTEM (1) REPEATABLE (:seed)
            WHERE submission_token LIKE 'gen%'""", pool, seed, seed=seed)
        supervisors = [row[0] for row in session.execute(text(
            "SELECT id FROM accounts WHERE email IN ('supervisor@demo.onewindow.test', "
            "'supervisor.market@demo.onewindow.test') ORDER BY email")).all()]
    if not residents or not representatives or not cases:
        raise SystemExit("no generated data in this database: run bench/gen_data.py first")
    return {
        "resident_home": [(r[0], "/me/") for r in residents[:n]],
        "enterprise_home": [(r[0], f"/me/enterprises/{r[1]}/") for r in representatives[:n]],
        "case": [(applicant, f"/me/cases/{reference}") for applicant, reference in cases[:n]],
        "catalogue": [(None, "/services/")] * n,
        "follow_ups": [(supervisors[i % len(supervisors)],
                        "/supervision/follow-ups" + ("?page=2" if i % 4 == 3 else "")) for i in range(n)]
        if supervisors else [],
        "catalogue_search": [(None, "/services/?q=" + urllib.parse.quote(SEARCH_TERMS[i % len(SEARCH_TERMS)]))
                             for i in range(n)],
    }


def server_time(args) -> dict[str, list[tuple[int | None, str]]]:
    flask_app = make_app(args.database_url)
    timer = PageTimer(flask_app, explain=args.explain, explain_ms=args.explain_ms)
    pages = pick_users(flask_app, args.requests, args.seed)
    for name, requests in pages.items():
        if not requests:
            continue
        log(f"{name}: {len(requests)} requests")
        emit({"bench": "portal", **timer.measure(name, requests, max_seconds=args.max_seconds)})
    flask_app.extensions["onewindow_db"].dispose()
    return pages


# -- part 2: throughput --------------------------------------------------------------------------------------------

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Gunicorn:
    def __init__(self, target: str, database_url: str, workers: int, extra: list[str] | None = None):
        self.port = free_port()
        env = dict(os.environ, DATABASE_URL=database_url, REDIS_URL="", ONEWINDOW_ENV="development",
                   ONEWINDOW_PERIODIC="0", SECRET_KEY=BENCH_SECRET)
        env.setdefault("ONEWINDOW_INSTANCE", tempfile.mkdtemp(prefix="onewindow-bench-"))
        command = [str(Path(sys.executable).with_name("gunicorn")), "--workers", str(workers), "--bind",
                   f"127.0.0.1:{self.port}", "--chdir", str(REPO), "--log-level", "warning", *(extra or []), target]
        self.process = subprocess.Popen(command, env=env)

    def wait(self, path: str, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{self.port}{path}", timeout=5) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.3)
        raise RuntimeError(f"gunicorn did not answer {path}")

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()


def session_cookies(database_url: str, account_ids: list[int | None]) -> list[str | None]:
    """Session cookies of each account (what sign-in sets): server-side session rows, one per account, whose
    random tokens the cookies carry (services/identity/sessions.py)."""
    from services.db import Database
    from services.identity.models import Account
    from services.identity.sessions import new_token, store

    database = Database(database_url)
    tokens: dict[int, str] = {}
    with database.transaction() as session:
        for account_id in {a for a in account_ids if a is not None}:
            tokens[account_id] = new_token()
            store(session, tokens[account_id], {"account_id": account_id},
                  role=session.get(Account, account_id).role, user_agent="portal_bench")
    database.dispose()
    return [None if a is None else tokens[a] for a in account_ids]


def run_wrk(port: int, requests: list[tuple[str, str | None]], args) -> dict:
    lines = ["local reqs = {"]
    for path, cookie in requests:
        headers = f'{{["Cookie"] = "session={cookie}"}}' if cookie else "{}"
        lines.append(f'  {{"{path}", {headers}}},')
    lines += ["}", "local i = math.random(#reqs)", "request = function()", "  i = i % #reqs + 1",
              "  return wrk.format('GET', reqs[i][1], reqs[i][2])", "end"]
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as script:
        script.write("\n".join(lines) + "\n")
    output = subprocess.run(["wrk", "-t", "2", "-c", str(args.connections), "-d", f"{args.duration}s", "--latency",
                             "--timeout", "60s",
                             "-s", script.name, f"http://127.0.0.1:{port}"], capture_output=True, text=True,
                            check=True).stdout
    os.unlink(script.name)
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", output).group(1))
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", output)
    errors = re.search(r"Socket errors:.*", output)

    def latency(label):
        found = re.search(rf"^\s+{label}%\s+([\d.]+)(us|ms|s)\s*$", output, re.M)
        if not found:
            return None
        value, unit = float(found.group(1)), found.group(2)
        return round(value / 1000 if unit == "us" else value * 1000 if unit == "s" else value, 2)

    return {"rps": rps, "non_2xx": int(bad.group(1)) if bad else 0, "socket_errors": errors.group(0) if errors else "",
            "client_p50_ms": latency(50), "client_p99_ms": latency(99), "tool": "wrk"}


def run_threads(port: int, requests: list[tuple[str, str | None]], args) -> dict:
    """Fallback load generator: --connections Python threads, each one request at a time."""
    import http.client

    stop = time.monotonic() + args.duration
    done, bad, lock = [0], [0], threading.Lock()

    def worker(offset):
        i = offset
        while time.monotonic() < stop:
            path, cookie = requests[i % len(requests)]
            i += args.connections
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            connection.request("GET", path, headers={"Cookie": f"session={cookie}"} if cookie else {})
            response = connection.getresponse()
            response.read()
            connection.close()
            with lock:
                done[0] += 1
                bad[0] += response.status != 200

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(args.connections)]
    started = time.monotonic()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {"rps": round(done[0] / (time.monotonic() - started), 1), "non_2xx": bad[0], "tool": "python-threads"}


def load_page(args, target: str, requests: list[tuple[str, str | None]], extra: list[str] | None = None) -> dict:
    """A fresh gunicorn for each page (a slow page's queued requests must not spill into the next page's run),
    warmed up with a request per worker, then loaded for --duration seconds."""
    load = run_wrk if shutil.which("wrk") else run_threads
    server = Gunicorn(target, args.database_url, args.workers, extra)
    try:
        server.wait("/services/")
        for path, cookie in requests[:args.workers * 2]:
            request = urllib.request.Request(f"http://127.0.0.1:{server.port}{path}",
                                             headers={"Cookie": f"session={cookie}"} if cookie else {})
            with urllib.request.urlopen(request, timeout=120) as response:
                response.read()
        return load(server.port, requests, args)
    finally:
        server.stop()


def throughput(args, pages: dict[str, list[tuple[int | None, str]]]) -> None:
    results = {}
    for name, requests in pages.items():
        if name in SERVER_TIME_ONLY or not requests:
            continue
        cookies = session_cookies(args.database_url, [a for a, _u in requests])
        results[name] = load_page(args, "wsgi:app", [(u, c) for (_a, u), c in zip(requests, cookies, strict=True)])
        log(f"throughput {name}: {results[name]['rps']} requests/s")
    server_path = "/_bench/plain"
    baseline = load_page(args, "plain_app:app", [(server_path, None)], ["--pythonpath", str(REPO / "bench")])
    log(f"throughput plain_layout: {baseline['rps']} requests/s")
    common = {"bench": "portal", "workers": args.workers, "connections": args.connections,
              "duration_s": args.duration}
    emit({**common, "throughput": "plain_layout", "path": "/_bench/plain", **baseline, "ratio_to_plain": 1.0})
    for name, result in results.items():
        emit({**common, "throughput": name, "path": display_path(pages[name][0][1]),
              **result, "ratio_to_plain": round(result["rps"] / baseline["rps"], 3)})


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="the database filled by bench/gen_data.py (default: $DATABASE_URL)")
    parser.add_argument("--requests", type=int, default=500, help="timed requests per page (default 500)")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="stop a page's timing after this long")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each page's slow SELECTs (stderr)")
    parser.add_argument("--explain-ms", type=float, default=5.0)
    parser.add_argument("--no-throughput", action="store_true", help="skip the gunicorn part")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--connections", type=int, default=4, help="concurrent connections of the load generator")
    parser.add_argument("--duration", type=int, default=10, help="seconds of load per page")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url or DATABASE_URL is required")
    log(f"load average before: {os.getloadavg()}")
    pages = server_time(args)
    if not args.no_throughput:
        throughput(args, pages)
    log(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
