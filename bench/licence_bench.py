"""Licence issuance throughput: the whole job (render, sign, store, through the outbox entry point the rq workers run)
against the bare WeasyPrint render plus pyHanko sign of the same licence HTML, in the same run; then 1 against 2 worker
processes. Prints one JSON object per line; the last line is the summary.

    .venv/bin/python bench/licence_bench.py --n 20                    # SQLite in a temporary directory
    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench_licences \\
        .venv/bin/python bench/licence_bench.py --n 20                # PostgreSQL (the schema is dropped first)

Workers are processes forked after set-up, each calling ``run_outbox_job`` on its share of the pending issuance jobs
(the function an rq worker calls), so the figure is the job's own cost without Redis round trips. Jobs of one agency
(residence permits) and of three (restaurant cases: market, fire, urban) are compared separately: an agency's
licence number is reserved in a short transaction before the job's own (licence_number_reservations), so only
SQLite, whose write lock each job holds, issues one at a time. ``--profile``
adds a cProfile of a separate batch of jobs (top functions by own time).
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import multiprocessing
import os
import pstats
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def emit(record: dict) -> None:
    print(json.dumps(record, ensure_ascii=False), flush=True)


def make_app(instance: Path):
    from flask_migrate import upgrade
    from sqlalchemy import text

    from app import create_app
    from services.catalogue.demo import seed_demo

    url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance / 'bench.db'}"
    app = create_app("test", INSTANCE_DIR=str(instance), DATABASE_URL=url, REDIS_URL="",
                     UPLOAD_DIR=str(instance / "uploads"), KEY_DIR=str(instance / "keys"))
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


def approved_cases(app, count: int, mix: bool = False) -> list[int]:
    """Drive cases to approval through the real services until ``count`` issuance jobs wait in the outbox (recorded,
    not run: no request finished to dispatch them); return their ids. Residence permits (one agency, the police)
    by default; with ``mix``, restaurants of 50 m² or more with a signboard: a licence each from market
    supervision, fire and urban management."""
    from sqlalchemy import select

    from services import clock
    from services.applications.service import Upload, submit_application
    from services.identity.models import Account, Enterprise
    from services.jobs.models import OutboxJob
    from services.licences.demo import DEMO_PDF, _decide_open_tasks, demo_answers

    database = app.extensions["onewindow_db"]
    with database.transaction() as session:
        before = set(session.scalars(select(OutboxJob.id).where(OutboxJob.name == "issue_licence")))
        applicants = [session.scalar(select(Account).where(Account.email == f"{name}@demo.onewindow.test"))
                      for name in ("resident", "resident2", "owner")]
        enterprise_id = session.scalar(select(Enterprise.id).where(
            Enterprise.legal_representative_id == applicants[2].id))
        for index in range(count if not mix else -(-count // 3)):
            if mix:
                application = submit_application(
                    session, applicants[2], "open_restaurant", enterprise_id=enterprise_id,
                    answers=demo_answers("open_restaurant", floor_area=80, signboard=True, address=f"示例路{index}号",
                                         signboard_location="首层临街外墙", signboard_area=4),
                    uploads=[Upload("premises_proof", "lease.pdf", DEMO_PDF)], submission_token=uuid.uuid4().hex,
                    storage_dir=Path(app.config["UPLOAD_DIR"]))
            else:
                application = submit_application(session, applicants[index % 2], "residence_permit",
                                                 answers=demo_answers("residence_permit"),
                                                 uploads=[], submission_token=uuid.uuid4().hex,
                                                 storage_dir=Path(app.config["UPLOAD_DIR"]))
            _decide_open_tasks(session, application.workflow_instance_id, clock.today())
        after = session.scalars(select(OutboxJob.id).where(OutboxJob.name == "issue_licence",
                                                           OutboxJob.done_at.is_(None)).order_by(OutboxJob.id))
        return [job_id for job_id in after if job_id not in before][:count]


def sample_html(app) -> str:
    """The licence HTML the job renders, for one licence (same template, same data shape, same QR code)."""
    from services import clock
    from services.licences.pdf import render_licence_html
    from services.licences.qr import qr_png_data_uri

    today = clock.today()
    number, url = "POLICE-2026-999999-7", f"{app.config['PUBLIC_URL']}/verify/POLICE-2026-999999-7"
    return render_licence_html({
        "number": number, "type_name_zh": "居住证", "type_name_en": "Residence Permit", "holder_name": "张三",
        "holder_id_masked": "440***********1235", "issuer_name_zh": "公安局",
        "issuer_name_en": "Public Security Bureau",
        "issue_date": today, "valid_from": today, "valid_until": today.replace(year=today.year + 1),
        "scope_zh": "居住地：广州市天河区", "scope_en": "",
        "case_reference": "GZ20261125000001X", "verify_url": url, "qr_data_uri": qr_png_data_uri(url)})


def bare_issue(html: str, key_path: Path, cert_path: Path) -> None:
    from services.licences.pdf import render_pdf
    from services.licences.signing import sign_pdf

    sign_pdf(render_pdf(html), key_path, cert_path, reason="Residence Permit POLICE-2026-999999-7")


def extras_breakdown(app, key_path: Path, repeat: int) -> dict:
    """Median milliseconds of each step of the job that the bare render+sign does not do."""
    from sqlalchemy import select

    from services.licences.credentials import credential_for, key_id_of, sign_credential
    from services.licences.models import Licence
    from services.licences.qr import qr_png_data_uri

    url = f"{app.config['PUBLIC_URL']}/verify/POLICE-2026-999999-7"
    with app.extensions["onewindow_db"].transaction() as session:
        licence = session.scalar(select(Licence).order_by(Licence.id.desc()).limit(1))
        steps = {
            "qr_code": lambda: qr_png_data_uri(url),
            "licence_html_with_qr": lambda: sample_html(app),
            "credential_sign": lambda: sign_credential(credential_for(licence, app.config["PUBLIC_URL"]), key_path),
            "key_id": lambda: key_id_of(key_path),
        }
        result = {}
        for name, step in steps.items():
            times = []
            for _ in range(repeat):
                start = time.perf_counter()
                step()
                times.append(time.perf_counter() - start)
            result[name] = round(statistics.median(times) * 1000, 2)
    return result


def _bare_worker(args) -> int:
    html, key_path, cert_path, count = args
    for _ in range(count):
        bare_issue(html, key_path, cert_path)
    return count


def _job_worker(job_ids) -> int:
    from services.jobs.worker import run_outbox_job

    app_holder = _WARM["app"]  # inherited through the fork: a Flask app does not pickle
    app_holder.extensions["onewindow_db"].engine.dispose()  # never share pooled connections across the fork
    with app_holder.app_context():
        results = [run_outbox_job(job_id) for job_id in job_ids]
    assert all(result == "done" for result in results), results
    return len(results)


def timed_pool(worker, chunks: list) -> float:
    context = multiprocessing.get_context("fork")
    with context.Pool(len(chunks)) as pool:
        pool.map(_warm, range(len(chunks)))  # imports and the first (slower) render happen before the clock
        start = time.perf_counter()
        pool.map(worker, chunks)
        return time.perf_counter() - start


_WARM: dict = {}


def _warm(_index: int) -> None:
    bare_issue(_WARM["html"], _WARM["key"], _WARM["cert"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=20, help="licences per measurement (default 20)")
    parser.add_argument("--rounds", type=int, default=2, help="rounds of the 1-vs-2-worker comparison (default 2)")
    parser.add_argument("--profile", action="store_true", help="profile a separate batch of jobs")
    args = parser.parse_args()
    n = args.n - args.n % 2  # split evenly between two workers

    with tempfile.TemporaryDirectory(prefix="licence-bench-") as tmp:
        instance = Path(tmp)
        app = make_app(instance)
        backend = "postgresql" if app.extensions["onewindow_db"].is_postgresql else "sqlite"
        from services.licences.signing import ensure_agency_key

        key_path, cert_path = ensure_agency_key(Path(app.config["KEY_DIR"]), "police", "Public Security Bureau")
        html = sample_html(app)
        _WARM.update(html=html, key=key_path, cert=cert_path, app=app)
        emit({"event": "setup", "backend": backend, "n": n, "cpus": os.cpu_count()})

        single_jobs = approved_cases(app, n)
        assert len(single_jobs) == n, len(single_jobs)

        # In this process, one licence at a time: bare render+sign, then the whole job, alternating, so that load
        # from other processes on the machine hits both alike; medians resist the spikes, means are shown too.
        from services.jobs.worker import run_outbox_job

        bare_issue(html, key_path, cert_path)  # warm-up: imports, fonts, first render
        bare_times, job_times = [], []
        with app.app_context():
            for job_id in single_jobs:
                start = time.perf_counter()
                bare_issue(html, key_path, cert_path)
                bare_times.append(time.perf_counter() - start)
                start = time.perf_counter()
                assert run_outbox_job(job_id) == "done"
                job_times.append(time.perf_counter() - start)
        bare_ms, job_ms = statistics.median(bare_times) * 1000, statistics.median(job_times) * 1000
        emit({"event": "one_worker", "bare_ms_median": round(bare_ms, 1), "job_ms_median": round(job_ms, 1),
              "bare_ms_mean": round(statistics.mean(bare_times) * 1000, 1),
              "job_ms_mean": round(statistics.mean(job_times) * 1000, 1), "job_over_bare": round(job_ms / bare_ms, 3)})

        # What the job does besides the bare render+sign, step by step (small, so less disturbed by other load).
        emit({"event": "job_extras_ms", **extras_breakdown(app, key_path, repeat=n)})

        if args.profile:
            # Profiled separately: cProfile slows pure-Python code (most of WeasyPrint) far more than C code.
            profiled = approved_cases(app, max(4, n // 4))
            profiler = cProfile.Profile()
            with app.app_context():
                profiler.enable()
                for job_id in profiled:
                    run_outbox_job(job_id)
                profiler.disable()
            out = io.StringIO()
            pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(30)
            emit({"event": "profile", "jobs": len(profiled), "top_tottime": out.getvalue().splitlines()[:45]})

        # One worker process against two, on fresh jobs each time, in alternating rounds; bare likewise, for the
        # reference scaling. Throughput is licences per second of wall time; the best round of each is kept (the
        # one least disturbed by other load).
        half = n // 2
        rates: dict[str, list[float]] = {"bare_1_worker": [], "bare_2_workers": [], "job_1_worker": [],
                                         "job_2_workers": [], "mixed_job_1_worker": [], "mixed_job_2_workers": []}
        for _round in range(args.rounds):
            rates["bare_2_workers"].append(n / timed_pool(_bare_worker, [(html, key_path, cert_path, half)] * 2))
            rates["bare_1_worker"].append(n / timed_pool(_bare_worker, [(html, key_path, cert_path, n)]))
            jobs = approved_cases(app, n)
            app.extensions["onewindow_db"].engine.dispose()
            rates["job_2_workers"].append(n / timed_pool(_job_worker, [jobs[:half], jobs[half:]]))
            jobs = approved_cases(app, n)
            app.extensions["onewindow_db"].engine.dispose()
            rates["job_1_worker"].append(n / timed_pool(_job_worker, [jobs]))
            # Three agencies' licences: jobs of different agencies do not wait on each other's counter row.
            jobs = approved_cases(app, n, mix=True)
            app.extensions["onewindow_db"].engine.dispose()
            rates["mixed_job_2_workers"].append(n / timed_pool(_job_worker, [jobs[0::2], jobs[1::2]]))
            jobs = approved_cases(app, n, mix=True)
            app.extensions["onewindow_db"].engine.dispose()
            rates["mixed_job_1_worker"].append(n / timed_pool(_job_worker, [jobs]))
            emit({"event": "round", **{name: round(values[-1], 2) for name, values in rates.items()}})
        best = {name: max(values) for name, values in rates.items()}
        summary = {
            "event": "summary", "backend": backend, "n": n, "rounds": args.rounds,
            "bare_ms_median": round(bare_ms, 1), "job_ms_median": round(job_ms, 1),
            "job_over_bare": round(job_ms / bare_ms, 3), "target_job_over_bare": 1.25,
            "within_target": job_ms / bare_ms <= 1.25,
            "licences_per_s": {name: round(value, 2) for name, value in best.items()},
            "speedup_2_workers": {"bare": round(best["bare_2_workers"] / best["bare_1_worker"], 2),
                                  "job_one_agency": round(best["job_2_workers"] / best["job_1_worker"], 2),
                                  "job_three_agencies": round(best["mixed_job_2_workers"] / best["mixed_job_1_worker"],
                                                              2)},
            "load_average": os.getloadavg(),
        }
        emit(summary)
        app.extensions["onewindow_db"].dispose()


if __name__ == "__main__":
    main()
