#!/usr/bin/env python3
"""Server-side time of the clerk's and the supervisor's pages on the `bench/gen_data.py` volumes.

The app is built in this process on the bench database and each request goes through its test client, signed in by
setting ``account_id`` in the session (as sign-in does); ``time.perf_counter`` around ``client.get`` is the server's
time. Pages:

    queue_p<k>           /work/?queue=unclaimed&after=<cursor of page k>, the market agency's unclaimed queue (the
                         deepest of the generated data: 100,000+ open tasks) at depth k (default pages 1, 100, 1000),
                         each request by a random market clerk; the cursor is the keyset one the page's "Next page"
                         link carries, computed once by the service (``queue_page``)
    tab_<tab>_p<k>       /work/?queue=<tab>&after=<cursor of page k> for the other tabs (waiting_applicant, paused,
                         due_soon, overdue of the market agency; acceptance of the lead window), pages --tab-depths
    queue_mine           /work/?queue=mine of a random market clerk
    case_view            /work/tasks/<id> of a random open market task, by a random market clerk (the GET also records
                         an access record and commits, as in production)
    dashboard_city       /supervision/dashboard of the city's supervisor (every agency)
    dashboard_market     /supervision/dashboard of the market agency's supervisor

One JSON line per page, the same keys as bench/portal_bench.py (p50_ms, p95_ms, p99_ms, n, users,
queries_per_request...). A page stops early after --max-seconds (n says how many were timed).

Usage:
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/onewindow_pages python bench/clerk_bench.py
    python bench/clerk_bench.py --depths 1,100,1000,2000 --requests 200 --explain
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from portal_bench import PageTimer, emit, log, make_app, sample  # noqa: E402
from sqlalchemy import select  # noqa: E402

AGENCY = "market"


def cursor_for_page(flask_app, clerk_id: int, page: int, queue: str = "unclaimed") -> str | None:
    """The ``after`` parameter of queue page ``page`` (1 = first page): the service's own keyset."""
    from services.applications.queues import PAGE_SIZE, QueueFilter, queue_page
    from services.applications.service import engine
    from services.identity.models import Account

    if page <= 1:
        return None
    database = flask_app.extensions["onewindow_db"]
    with database.transaction() as session:
        clerk = session.get(Account, clerk_id)
        found = queue_page(session, clerk, QueueFilter(queue=queue), engine().calendar,
                           page_size=(page - 1) * PAGE_SIZE)
        if found.next_after is None:
            return ""
        day, task_id = found.next_after
        return f"{day.isoformat()}.{task_id}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=os.environ.get("DATABASE_URL"),
                        help="the database filled by bench/gen_data.py (default: $DATABASE_URL)")
    parser.add_argument("--requests", type=int, default=500, help="timed requests per page (default 500)")
    parser.add_argument("--max-seconds", type=float, default=120.0, help="stop a page's timing after this long")
    parser.add_argument("--depths", default="1,100,1000", help="queue pages to time, comma-separated")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE each page's slow SELECTs (stderr)")
    parser.add_argument("--explain-ms", type=float, default=5.0)
    parser.add_argument("--pages", default="queue,tabs,mine,case_view,dashboard",
                        help="which groups to run (queue, tabs, mine, case_view, dashboard)")
    parser.add_argument("--tab-depths", default="1,100",
                        help="pages of every other tab to time (tabs group; a depth past a tab's end is skipped)")
    args = parser.parse_args()
    if not args.database_url:
        parser.error("--database-url or DATABASE_URL is required")
    groups = set(args.pages.split(","))
    log(f"load average before: {os.getloadavg()}")
    flask_app = make_app(args.database_url)
    database = flask_app.extensions["onewindow_db"]
    from services.identity.models import Account

    rng = random.Random(args.seed)
    n = args.requests
    with database.transaction() as session:
        clerks = [r[0] for r in sample(session, """
            SELECT a.id FROM accounts a JOIN agencies g ON g.id = a.agency_id
            WHERE a.role = 'CLERK' AND g.code = :agency AND a.is_active""", 10_000, args.seed, agency=AGENCY)]
        tasks = [r[0] for r in sample(session, """
            SELECT id FROM wf_tasks TABLESAMPLE SYSTEM (5) REPEATABLE (:seed)
            WHERE agency_code = :agency AND state = 'OPEN'""", n * 2, args.seed, agency=AGENCY, seed=args.seed)]
        hub_clerks = [r[0] for r in sample(session, """
            SELECT a.id FROM accounts a JOIN agencies g ON g.id = a.agency_id
            WHERE a.role = 'CLERK' AND g.is_lead_window AND a.is_active""", 10_000, args.seed)]
        supervisors = {email: session.scalar(select(Account.id).where(Account.email == email))
                       for email in ("supervisor@demo.onewindow.test", "supervisor.market@demo.onewindow.test")}
    if not clerks or not tasks:
        raise SystemExit("no generated market clerks or open tasks: run bench/gen_data.py first")
    log(f"{len(clerks)} market clerks, {len(tasks)} sampled open market tasks")
    timer = PageTimer(flask_app, explain=args.explain, explain_ms=args.explain_ms)

    def by_clerks(url_of) -> list[tuple[int, str]]:
        return [(rng.choice(clerks), url_of(i)) for i in range(n)]

    if "queue" in groups:
        for depth in (int(d) for d in args.depths.split(",") if d.strip()):
            started = time.perf_counter()
            after = cursor_for_page(flask_app, clerks[0], depth)
            log(f"queue page {depth}: cursor {after!r} ({time.perf_counter() - started:.1f} s to find)")
            if after == "":
                log(f"the unclaimed queue has fewer than {depth} pages; skipped")
                continue
            url = "/work/?queue=unclaimed" + (f"&after={after}" if after else "")
            emit({"bench": "clerk", **timer.measure(f"queue_p{depth}", by_clerks(lambda i, u=url: u),
                                                     max_seconds=args.max_seconds, extra={"depth": depth})})
    if "tabs" in groups:
        # Every other tab of the market queue (and the lead window's acceptance tab), at each --tab-depths page.
        tabs = [(tab, clerks) for tab in ("waiting_applicant", "paused", "due_soon", "overdue")]
        tabs += [("acceptance", hub_clerks)] if hub_clerks else []
        for tab, who in tabs:
            for depth in (int(d) for d in args.tab_depths.split(",") if d.strip()):
                after = cursor_for_page(flask_app, who[0], depth, queue=tab)
                if after == "":
                    log(f"the {tab} tab has fewer than {depth} pages; skipped")
                    continue
                url = f"/work/?queue={tab}" + (f"&after={after}" if after else "")
                requests = [(rng.choice(who), url) for _ in range(n)]
                emit({"bench": "clerk", **timer.measure(f"tab_{tab}_p{depth}", requests, max_seconds=args.max_seconds,
                                                         extra={"depth": depth})})
    if "mine" in groups:
        emit({"bench": "clerk", **timer.measure("queue_mine", by_clerks(lambda i: "/work/?queue=mine"),
                                                 max_seconds=args.max_seconds)})
    if "case_view" in groups:
        requests = by_clerks(lambda i: f"/work/tasks/{tasks[i % len(tasks)]}")
        emit({"bench": "clerk", **timer.measure("case_view", requests, max_seconds=args.max_seconds)})
    if "dashboard" in groups:
        for name, email in (("dashboard_city", "supervisor@demo.onewindow.test"),
                            ("dashboard_market", "supervisor.market@demo.onewindow.test")):
            if supervisors[email] is None:
                log(f"{email} missing; {name} skipped")
                continue
            emit({"bench": "clerk", **timer.measure(name, [(supervisors[email], "/supervision/dashboard")] * n,
                                                     warmup=3, max_seconds=args.max_seconds)})
    database.dispose()
    log(f"load average after: {os.getloadavg()}")


if __name__ == "__main__":
    main()
