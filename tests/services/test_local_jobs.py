"""Jobs without Redis (the embedded default): dispatched after commit to a worker thread of the same process.

The app's own worker is held under the test configuration (tests.jobs.run_pending_jobs lets it run); here it also
runs free, as under `make run`, against committed rows on real connections, with a request going on meanwhile.
"""

from __future__ import annotations

import time
import uuid

from sqlalchemy import func, select

from services.applications.service import decide_task
from services.db import utcnow
from services.jobs import outbox
from services.jobs.local import LocalWorker, local_worker
from services.jobs.models import OutboxJob
from services.jobs.periodic import redispatch_outbox
from services.licences.models import Licence, LicenceNumberReservation
from tests.app.test_workbench_tallies import accept, account, new_case, open_task
from tests.jobs import run_pending_jobs
from tests.services.test_worker_crash import runtime_of_our_own
from tests.workflows.test_concurrency import Ledger, approved_restaurant_case


def wait_for(condition, timeout: float, interval: float = 0.05):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if value := condition():
            return value
        time.sleep(interval)
    return None


def test_the_worker_thread_runs_the_jobs_after_dispatch_while_requests_go_on(app, database, tmp_path):
    """Committed for real, as under `make run`: dispatch hands the ids over and returns; the thread issues the three
    licences; meanwhile another connection's write transactions (a request) still get the database."""
    ledger = Ledger(database.engine)
    worker = local_worker()
    try:
        with runtime_of_our_own(app) as own:
            application_id, branches, pending = approved_restaurant_case(ledger, tmp_path)
            assert len(pending) == 3
            worker.held = False
            assert outbox.dispatch(own, pending, redis_url="") == 3
            assert worker.pending > 0  # handed over, not run: dispatch returned while the thread issues them

            def issued() -> int:
                # BEGIN IMMEDIATE on SQLite, like every request: it must get the write lock between the jobs'
                # short write transactions (the render is done before them, in a snapshot holding no lock).
                with own.transaction() as session:
                    return session.scalar(select(func.count()).select_from(Licence).where(
                        Licence.application_id == application_id))

            assert wait_for(lambda: issued() == 3, 180), f"{issued()} licence(s), {worker.pending} job(s) left"
            assert wait_for(lambda: worker.pending == 0, 30)
            with own.transaction() as session:
                rows = session.scalars(select(OutboxJob).where(OutboxJob.id.in_(pending))).all()
                assert all(row.dispatched_at and row.done_at for row in rows)
                licences = session.scalars(select(Licence).where(Licence.application_id == application_id)).all()
                assert sorted(licence.branch_id for licence in licences) == sorted(
                    branches[agency] for agency in ("fire", "market", "urban"))
    finally:
        worker.held = app.config["IN_PROCESS_JOBS_HELD"]
        ledger.cleanup()


def approve_every_branch(app, db):
    """A restaurant case (fire and signboard branches) approved through the services; the ids of the outbox jobs
    the last approval recorded (nothing dispatched them: no request ended)."""
    application = new_case(app, db)
    accept(db, application)
    for agency in ("market", "fire", "urban", "env"):
        decide_task(db, account(db, f"clerk.{agency}"), open_task(db, application, agency).id, outcome="approve",
                    opinion="", command_id=uuid.uuid4().hex)
    return application, outbox.take_pending(db)


def test_jobs_lost_with_the_process_are_run_again_by_the_outbox_sweep(app, db):
    application, pending = approve_every_branch(app, db)
    assert outbox.dispatch(app.extensions["onewindow_db"], pending, redis_url="") == 3
    assert local_worker().clear() == 3  # the process stopped before its thread ran them
    assert all(row.dispatched_at and not row.done_at
               for row in db.scalars(select(OutboxJob).where(OutboxJob.id.in_(pending))))

    assert redispatch_outbox(lease_seconds=0) >= 3  # the periodic sweep, once their lease has run out
    run_pending_jobs(app)

    db.expire_all()
    assert db.scalar(select(func.count()).select_from(Licence).where(Licence.application_id == application.id)) == 3
    assert all(row.done_at for row in db.scalars(select(OutboxJob).where(OutboxJob.id.in_(pending))))


def test_a_held_job_waits_for_drain_and_a_failed_one_is_reported_and_tried_again_later(app, db):
    broken = OutboxJob(queue="default", name="no_such_job", args={}, created_at=utcnow())
    db.add(broken)
    db.flush()
    worker = LocalWorker(held=True)
    worker.submit(broken.id)
    time.sleep(0.2)
    assert worker.pending == 1  # held: nothing runs until someone drains

    (failure,) = worker.drain(timeout=60)

    assert failure[0] == broken.id and isinstance(failure[1], KeyError)
    assert worker.pending == 0 and worker.retries == [broken.id]  # again after 5 s (then 30, 120), like rq's Retry
    db.expire_all()
    assert db.get(OutboxJob, broken.id).done_at is None  # left for the outbox sweep if every attempt fails
    assert worker.clear() == 1 and worker.retries == []


def test_the_job_reserves_its_number_first_and_on_sqlite_renders_ahead_of_its_write_transaction(app, db, database):
    """The issuing job's step before its transaction reserves the number and, on SQLite, renders and signs the
    licence in a read-only snapshot; the job's write transaction then finds the PDF rendered."""
    from services.licences.jobs import prepare_issue
    from services.licences.pdf import renders_kept

    application, pending = approve_every_branch(app, db)
    branch_id = db.get(OutboxJob, pending[0]).args["branch_id"]
    kept = renders_kept()

    prepare_issue(database, app.config, branch_id=branch_id)

    db.expire_all()
    assert db.scalar(select(LicenceNumberReservation.number).where(LicenceNumberReservation.branch_id == branch_id))
    assert db.scalar(select(Licence.id).where(Licence.branch_id == branch_id)) is None  # the snapshot wrote nothing
    assert renders_kept() == kept + (0 if database.is_postgresql else 1)
    outbox.dispatch(database, pending[:1], redis_url="")  # to this process's worker thread, whatever REDIS_URL says
    assert local_worker().drain(timeout=120) == []
    assert renders_kept() == kept  # the job found the render ahead, and its write transaction took it
    assert db.scalar(select(Licence.id).where(Licence.branch_id == branch_id)) is not None
