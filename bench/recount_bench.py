#!/usr/bin/env python3
"""How long `flask calendar load-notice` holds the database: recounting every running case's deadlines.

Runs ``workflows.recalendar.recompute_deadlines`` once, in one transaction, on a database filled by
``bench/gen_data.py``, from the calendar as it is (no notice loaded: 2027 by the ``holidays`` rule) to the same
calendar plus a 2027 notice, and prints one JSON line: the counts, the seconds, the machine's cores and load. The
transaction is rolled back unless ``--commit``, so the run can be repeated on the same data.

The built-in notice is made up, shaped like a real one (a long Spring Festival with two adjusted working weekends, the
May and October weeks), plus a day off on Monday 4 January that the rule does not have, so that the generated
running cases' deadlines (which reach late January when generated in late November) move: the real 2027 notice was
not published when this was written. ``--notice FILE`` takes a real
one (the JSON that ``flask calendar load-notice`` reads).

Usage:
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/onewindow_recount python bench/recount_bench.py
    python bench/recount_bench.py --notice 2027.json --today 2026-11-26 --commit
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

EXAMPLE_2027 = {
    "year": 2027, "source": "made up for the benchmark, not the State Council's notice",
    "holidays": ["2027-01-01", "2027-01-04", "2027-02-05", "2027-02-08", "2027-02-09", "2027-02-10", "2027-02-11",
                 "2027-02-12", "2027-04-05", "2027-05-03", "2027-05-04", "2027-05-05", "2027-06-09", "2027-09-15",
                 "2027-10-01", "2027-10-04", "2027-10-05", "2027-10-06", "2027-10-07"],
    "workdays": ["2027-01-30", "2027-02-20", "2027-04-25", "2027-05-08", "2027-09-26", "2027-10-09"],
}


def main() -> None:
    from services import clock

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    parser.add_argument("--notice", type=Path, help="a notice JSON file (default: the made-up 2027 one)")
    parser.add_argument("--today", type=dt.date.fromisoformat, default=clock.today())
    parser.add_argument("--commit", action="store_true", help="keep the result (default: roll back)")
    args = parser.parse_args()
    url = os.environ.get("DATABASE_URL")
    if not url:
        raise SystemExit("set DATABASE_URL to a database filled by bench/gen_data.py")

    import services.models  # noqa: F401  (every mapper)
    from services.db import Database
    from workflows.calendar import ChinaCalendar
    from workflows.models import WorkflowInstance
    from workflows.recalendar import RUNNING_INSTANCE_STATES, recompute_deadlines

    notice = args.notice
    if notice is None:
        handle, name = tempfile.mkstemp(suffix=".json")
        with os.fdopen(handle, "w", encoding="utf-8") as file:
            json.dump(EXAMPLE_2027, file)
        notice = Path(name)
    old, new = ChinaCalendar(), ChinaCalendar()
    year = new.load_notice_file(notice)
    database = Database(url)
    session = database.session_factory()
    try:
        from sqlalchemy import func, select

        running = session.scalar(select(func.count()).select_from(WorkflowInstance)
                                 .where(WorkflowInstance.state.in_(RUNNING_INSTANCE_STATES)))
        session.rollback()
        load = os.getloadavg()[0]
        started, cpu = time.perf_counter(), time.process_time()
        counts = recompute_deadlines(session, old, new, args.today, reason={"year": year, "rule": "loaded-notice"})
        recount_s = time.perf_counter() - started
        commit_started = time.perf_counter()
        if args.commit:
            session.commit()
        else:
            session.rollback()
        finish_s = time.perf_counter() - commit_started
        client_cpu_s = time.process_time() - cpu
    finally:
        session.close()
        database.dispose()
    print(json.dumps({
        "bench": "recount", "dialect": database.engine.dialect.name, "year": year, "today": args.today.isoformat(),
        "running_cases": running, **counts, "recount_s": round(recount_s, 3),
        ("commit_s" if args.commit else "rollback_s"): round(finish_s, 3), "client_cpu_s": round(client_cpu_s, 3),
        "cores": os.cpu_count(), "loadavg_1m": [round(load, 2), round(os.getloadavg()[0], 2)],
        "notice": str(args.notice) if args.notice else "made-up example",
    }), flush=True)


if __name__ == "__main__":
    main()
