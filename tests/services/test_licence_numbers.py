"""A branch's licence number is reserved in a transaction of its own before the issuing job renders and signs, so
the agency's counter is not held while the PDF is made; the licence then carries exactly that number."""

from __future__ import annotations

import uuid
from pathlib import Path

from sqlalchemy import func, select

from services import clock
from services.applications.models import Counter
from services.applications.service import submit_application
from services.identity.models import Account
from services.licences.demo import _decide_open_tasks, demo_answers
from services.licences.models import LicenceNumberReservation
from services.licences.service import issue_licence, reserve_number_for_job
from workflows.models import Branch
from workflows.states import BranchState

PERMIT_ANSWERS = demo_answers("residence_permit")


def approved_branch(app, db) -> Branch:
    resident = db.scalar(select(Account).where(Account.email == "resident@demo.onewindow.test"))
    application = submit_application(db, resident, "residence_permit", answers=PERMIT_ANSWERS, uploads=[],
                                     submission_token=uuid.uuid4().hex, storage_dir=Path(app.config["UPLOAD_DIR"]))
    _decide_open_tasks(db, application.workflow_instance_id, clock.today())
    return db.scalar(select(Branch).where(Branch.instance_id == application.workflow_instance_id,
                                          Branch.state == BranchState.APPROVED))


def counter(db) -> int:
    return db.scalar(select(Counter.value).where(Counter.name == f"licence:police:{clock.today().year}")) or 0


def test_the_job_reserves_once_and_the_licence_carries_the_reserved_number(app, db, database):
    branch = approved_branch(app, db)
    before = counter(db)
    reserve_number_for_job(database, branch.id)
    reserve_number_for_job(database, branch.id)  # a rerun of a killed job: same reservation, no second number
    reserved = db.scalar(select(LicenceNumberReservation.number).where(LicenceNumberReservation.branch_id == branch.id))
    assert reserved is not None and counter(db) == before + 1
    licence = issue_licence(db, branch_id=branch.id, key_dir=Path(app.config["KEY_DIR"]),
                            public_url=app.config["PUBLIC_URL"])
    assert licence.number == reserved and counter(db) == before + 1
    reserve_number_for_job(database, branch.id)  # issued already: nothing more is reserved
    assert db.scalar(select(func.count()).select_from(LicenceNumberReservation)
                     .where(LicenceNumberReservation.branch_id == branch.id)) == 1


def test_a_branch_that_is_not_approved_reserves_nothing(app, db, database):
    branch = approved_branch(app, db)
    branch.state = BranchState.ACTIVE
    db.flush()
    before = counter(db)
    reserve_number_for_job(database, branch.id)
    reserve_number_for_job(database, 10**9)
    assert counter(db) == before
    assert db.scalar(select(LicenceNumberReservation).where(LicenceNumberReservation.branch_id == branch.id)) is None
