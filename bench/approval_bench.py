#!/usr/bin/env python3
"""How long the last clerk's approval of a restaurant case takes to answer, through the real pages.

Each round: the owner applies for a restaurant of 120 m² with an outdoor signboard (the fire and signboard branches),
the lead window accepts, market supervision, fire and urban management approve, and the ecology clerk's approval is
the last one: it joins the branches, approves the case and records three ``issue_licence`` jobs (food business,
fire safety, signboard). Every step goes through the app's pages with the Flask test client in this process, one
client (cookie jar) per account, as a browser would. Timed:

    last_approval_ms   the last approval's POST, from sending it to the response (what the clerk waits for)
    next_page_ms       the page that POST redirects to, fetched at once
    licences_ready_ms  from sending the last approval until the applicant's case page lists its three licences
    case_pages_ms      the applicant's case page, fetched every 100 ms from then until it lists them: median and
                       max of those fetches (on SQLite a page waits while a job holds the database's write lock)
    other_approvals_ms the three approvals before it (no join, no job)

The embedded default (no ``REDIS_URL``): a temporary SQLite file, jobs run in this process. With ``REDIS_URL`` and a
PostgreSQL ``DATABASE_URL`` (whose public schema is DROPPED first: use a scratch database), jobs go to Redis and a
``flask rq worker`` process started here runs them, as in production.

    .venv/bin/python bench/approval_bench.py --rounds 5
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_approval REDIS_URL=redis://127.0.0.1:6379/0 \\
        .venv/bin/python bench/approval_bench.py --rounds 5

One JSON object per round, then a summary line (medians, the core count and the load average before and after).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

CLERKS = ("market", "fire", "urban", "env")  # the ecology clerk approves last: the join, then three licences


def emit(record: dict) -> None:
    print(json.dumps(record, ensure_ascii=False), flush=True)


def make_app(instance: Path, url: str, redis_url: str, prefix: str):
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app import create_app
    from services.catalogue.demo import seed_demo

    app = create_app("development", INSTANCE_DIR=str(instance), DATABASE_URL=url, REDIS_URL=redis_url,
                     RQ_QUEUE_PREFIX=prefix, UPLOAD_DIR=str(instance / "uploads"), KEY_DIR=str(instance / "keys"),
                     RUN_PERIODIC_IN_PROCESS=False)
    database = app.extensions["onewindow_db"]
    if database.is_postgresql:
        with database.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
    with database.transaction() as session:
        seed_demo(session)
    return app


def start_worker(instance: Path, url: str, redis_url: str, prefix: str) -> subprocess.Popen:
    env = {**os.environ, "ONEWINDOW_ENV": "development", "ONEWINDOW_INSTANCE": str(instance), "DATABASE_URL": url,
           "REDIS_URL": redis_url, "RQ_QUEUE_PREFIX": prefix, "ONEWINDOW_KEY_DIR": str(instance / "keys"),
           "ONEWINDOW_UPLOAD_DIR": str(instance / "uploads")}
    return subprocess.Popen([str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "rq", "worker"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def signed_in(app, local_part: str):
    from tests.conftest import sign_in

    client = app.test_client()
    sign_in(client, f"{local_part}@demo.onewindow.test")
    return client


def task_id(client, reference: str) -> int:
    queue = client.get("/work/").get_data(as_text=True)
    match = re.search(r'href="/work/tasks/(\d+)">' + re.escape(reference), queue)
    if not match:
        raise RuntimeError(f"{reference} is not in the queue")
    return int(match.group(1))


def decide(client, reference: str, outcome: str) -> tuple[float, object]:
    """Open the task page, then post the decision; return the POST's milliseconds and its response."""
    from tests.conftest import hidden_fields

    tid = task_id(client, reference)
    form = hidden_fields(client.get(f"/work/tasks/{tid}").get_data(as_text=True))
    form.update(outcome=outcome, opinion="", confirmed="yes")
    started = time.perf_counter()
    response = client.post(f"/work/tasks/{tid}", data=form)
    elapsed = (time.perf_counter() - started) * 1000
    if response.status_code != 302:
        raise RuntimeError(f"{outcome} of {reference}: HTTP {response.status_code}")
    return elapsed, response


def one_round(app, clients: dict, timeout: float) -> dict:
    from tests.apply_helpers import apply_restaurant, reference_of

    sent, _ = apply_restaurant(clients["owner"], floor_area="120", signboard="yes")
    reference = reference_of(sent)
    decide(clients["hub"], reference, "accept")
    others = [decide(clients[agency], reference, "approve")[0] for agency in CLERKS[:-1]]
    started = time.perf_counter()
    last_ms, response = decide(clients[CLERKS[-1]], reference, "approve")
    begun = time.perf_counter()
    clients[CLERKS[-1]].get(response.headers["Location"])
    next_ms = (time.perf_counter() - begun) * 1000
    pages = []
    while True:  # the applicant refreshing the case page until the licences are there
        begun = time.perf_counter()
        page = clients["owner"].get(f"/me/cases/{reference}")
        pages.append((time.perf_counter() - begun) * 1000)
        assert page.status_code == 200, page.status_code
        if page.get_data(as_text=True).count('href="/me/licences/') >= 3:
            break
        if time.perf_counter() - started > timeout:
            raise RuntimeError(f"{reference}: licences not listed after {timeout} s")
        time.sleep(0.1)
    ready_ms = (time.perf_counter() - started) * 1000
    return {"reference": reference, "last_approval_ms": round(last_ms, 1), "next_page_ms": round(next_ms, 1),
            "licences_ready_ms": round(ready_ms, 1), "case_pages": len(pages),
            "case_pages_ms_median": round(statistics.median(pages), 1), "case_pages_ms_max": round(max(pages), 1),
            "other_approvals_ms": [round(ms, 1) for ms in others]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--timeout", type=float, default=120.0, help="Seconds to wait for a round's licences.")
    args = parser.parse_args()

    url, redis_url = os.environ.get("DATABASE_URL", ""), os.environ.get("REDIS_URL", "")
    if redis_url and not url.startswith("postgresql"):
        sys.exit("REDIS_URL needs a PostgreSQL DATABASE_URL (the worker process shares the database)")
    load_before = os.getloadavg()
    with tempfile.TemporaryDirectory(prefix="approval-bench-") as tmp:
        instance = Path(tmp)
        url = url or f"sqlite:///{instance / 'bench.db'}"
        prefix = f"bench-{uuid.uuid4().hex[:8]}-" if redis_url else ""
        app = make_app(instance, url, redis_url, prefix)
        worker = start_worker(instance, url, redis_url, prefix) if redis_url else None
        try:
            clients = {name: signed_in(app, name) for name in ("owner", "clerk.hub")}
            clients["hub"] = clients.pop("clerk.hub")
            clients.update({agency: signed_in(app, f"clerk.{agency}") for agency in CLERKS})
            one_round(app, clients, args.timeout)  # warm-up: imports, templates, WeasyPrint's fonts, agency keys
            rounds = []
            for number in range(1, args.rounds + 1):
                rounds.append(one_round(app, clients, args.timeout))
                emit({"round": number, **rounds[-1]})
        finally:
            if worker is not None:
                worker.terminate()
                worker.wait(10)
            app.extensions["onewindow_db"].dispose()

    def median(key: str) -> float:
        return round(statistics.median(r[key] for r in rounds), 1)

    emit({"summary": True, "database": url.split(":", 1)[0].split("+", 1)[0], "jobs": "rq worker (Redis)"
          if redis_url else "in-process", "rounds": len(rounds),
          **{f"{key}_median": median(key) for key in ("last_approval_ms", "next_page_ms", "licences_ready_ms")},
          "last_approval_ms_max": max(r["last_approval_ms"] for r in rounds),
          "case_pages_ms_median": median("case_pages_ms_median"),
          "case_pages_ms_max": max(r["case_pages_ms_max"] for r in rounds),
          "other_approvals_ms_median": round(statistics.median(ms for r in rounds
                                                               for ms in r["other_approvals_ms"]), 1),
          "cores": os.cpu_count(), "load_average_before": [round(x, 2) for x in load_before],
          "load_average_after": [round(x, 2) for x in os.getloadavg()]})


if __name__ == "__main__":
    main()
