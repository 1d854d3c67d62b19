"""The queue tabs and supervision figures kept by the database's triggers agree with counting the rows directly,
through every move the engine and the workbench make: accept, supplement, resubmit, claim, release, reassign,
pause, resume, extend, decide, withdraw."""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from sqlalchemy import case, func, select

from services import clock
from services.applications.decisions import (
    answer_supplement,
    decide_extension,
    pause_for_review,
    request_extension,
    request_supplement,
    resume_review,
    supplement_item_code,
    withdraw_application,
)
from services.applications.models import Application
from services.applications.queues import QueueFilter, claim_task, queue_page, reassign_task, release_task, tab_counts
from services.applications.service import Upload, decide_task, engine, submit_application
from services.applications.tallies import QueueTally, branch_groups, compact, recount
from services.identity.models import Account, Enterprise
from services.licences.demo import demo_answers
from workflows.calendar import WeekdayCalendar
from workflows.models import Branch, Request, Task
from workflows.states import BranchState, RequestKind, RequestState, TaskState

# The smallest PDF a parser opens (one blank page): uploads are parsed for active content.
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
DEMO = "demo.onewindow.test"


def account(db, local: str) -> Account:
    return db.scalar(select(Account).where(Account.email == f"{local}@{DEMO}"))


def new_case(app, db, *, floor_area: int = 120, signboard: bool = True):
    owner = account(db, "owner")
    enterprise = db.scalar(select(Enterprise).where(Enterprise.legal_representative_id == owner.id))
    return submit_application(
        db, owner, "open_restaurant", enterprise_id=enterprise.id, submission_token=uuid.uuid4().hex,
        answers=demo_answers("open_restaurant", shop_name="计数小馆", address="广州市天河区示例路3号",
                             floor_area=floor_area, seats=20, signboard=signboard,
                             **({"signboard_location": "首层外墙", "signboard_area": 3} if signboard else {})),
        uploads=[Upload("premises_proof", "lease.pdf", PDF)], storage_dir=Path(app.config["UPLOAD_DIR"]))


def open_task(db, application, agency: str) -> Task:
    return db.scalar(select(Task).where(Task.instance_id == application.workflow_instance_id,
                                        Task.agency_code == agency, Task.state == TaskState.OPEN))


def accept(db, application) -> None:
    decide_task(db, account(db, "clerk.hub"), open_task(db, application, "hub").id, outcome="accept", opinion="",
                command_id=uuid.uuid4().hex)


def direct_counts(db, clerk: Account, today: dt.date, soon: dt.date) -> dict[str, int]:
    """The tabs counted the slow way, over the tasks themselves (the definition the tallies must match)."""
    code = clerk.agency.code
    supplement = (select(Request.id).where(Request.task_id == Task.id, Request.kind == RequestKind.SUPPLEMENT,
                                           Request.state == RequestState.OPEN).exists())
    tasks = (select(Task, Branch).outerjoin(Branch, Branch.id == Task.branch_id)
             .where(Task.agency_code == code, Task.state == TaskState.OPEN))
    counts = dict.fromkeys(("acceptance", "unclaimed", "mine", "waiting_applicant", "paused", "due_soon", "overdue"),
                           0)
    for task, branch in db.execute(tasks):
        waiting = db.scalar(select(supplement.where(Request.task_id == task.id))) if branch is None else False
        state = branch.state if branch is not None else (BranchState.WAITING_APPLICANT if waiting
                                                          else BranchState.ACTIVE)
        counts["acceptance"] += branch is None
        counts["mine"] += task.assignee_id == clerk.id
        counts["waiting_applicant"] += state == BranchState.WAITING_APPLICANT
        counts["paused"] += state == BranchState.PAUSED
        if state == BranchState.ACTIVE:
            counts["unclaimed"] += task.assignee_id is None
            counts["overdue"] += task.due_on < today
            counts["due_soon"] += today <= task.due_on <= soon
    return counts


def direct_branches(db) -> dict[tuple, int]:
    key = (Branch.agency_code, Branch.matter_code, Branch.state, Branch.on_time, Branch.handling_days,
           case((Branch.state == BranchState.ACTIVE, Branch.due_on), else_=None))
    return {tuple(str(v.name) if isinstance(v, BranchState) else v for v in row[:6]): row[6]
            for row in db.execute(select(*key, func.count()).group_by(*key))}


def tallied_branches(db) -> dict[tuple, int]:
    return {(g.agency_code, g.matter_code, g.state, g.on_time, g.handling_days, g.due_on): g.count
            for g in branch_groups(db, None)}


def assert_tallies_agree(db, clerks: list[Account], today: dt.date) -> None:
    db.flush()
    soon = WeekdayCalendar().add_working_days(today, 2)
    for clerk in clerks:
        assert tab_counts(db, clerk, today, soon) == direct_counts(db, clerk, today, soon), clerk.email
    assert tallied_branches(db) == direct_branches(db)


def test_tallies_follow_every_move(app, db):
    today = clock.today()
    hub, market, fire = account(db, "clerk.hub"), account(db, "clerk.market"), account(db, "clerk.fire")
    lead = account(db, "lead.market")
    clerks = [hub, market, fire, lead]
    cases = [new_case(app, db) for _ in range(4)]
    small = new_case(app, db, floor_area=20, signboard=False)
    assert_tallies_agree(db, clerks, today)

    # At acceptance: a supplement notice makes the acceptance task wait; the applicant's answer makes it ready.
    asked = request_supplement(db, hub, open_task(db, small, "hub").id, items=["营业执照"], note="",
                               command_id=uuid.uuid4().hex)
    assert_tallies_agree(db, clerks, today)
    answer_supplement(db, account(db, "owner"), small.reference, asked.id,
                      uploads=[Upload(supplement_item_code(asked.id, 1), "licence.pdf", PDF)],
                      storage_dir=Path(app.config["UPLOAD_DIR"]), command_id=uuid.uuid4().hex)
    claim_task(db, hub, open_task(db, small, "hub").id)
    assert_tallies_agree(db, clerks, today)
    for application in cases + [small]:
        accept(db, application)
    assert_tallies_agree(db, clerks, today)

    first, second, third, fourth = cases
    claim_task(db, market, open_task(db, first, "market").id)
    reassign_task(db, lead, open_task(db, second, "market").id, to_clerk_id=market.id, reason="请假",
                  command_id=uuid.uuid4().hex)
    assert_tallies_agree(db, clerks, today)
    # "Mine", one task a page, walks exactly the clerk's open tasks in due order.
    seen, flt = [], QueueFilter(queue="mine")
    while True:
        page = queue_page(db, market, flt, WeekdayCalendar(), page_size=1)
        seen += [task.id for task, _a, _b in page.rows]
        if page.next_after is None:
            break
        flt.after = page.next_after
    assert seen == list(db.scalars(select(Task.id).where(Task.assignee_id == market.id, Task.state == TaskState.OPEN)
                                   .order_by(Task.due_on, Task.id))) and len(seen) == 2
    # A search finds the clerk's task even when it is not among the first page of their tasks.
    reference = db.scalar(select(Application.reference).join(Task, Task.instance_id == Application.workflow_instance_id)
                          .where(Task.id == seen[-1]))
    found = queue_page(db, market, QueueFilter(queue="mine", search=reference), WeekdayCalendar(), page_size=1)
    assert [task.id for task, _a, _b in found.rows] == [seen[-1]]
    release_task(db, market, open_task(db, first, "market").id)
    pause_for_review(db, market, open_task(db, third, "market").id, reason="专家评审", expected_days=5,
                     command_id=uuid.uuid4().hex)
    supplement = request_supplement(db, fire, open_task(db, third, "fire").id, items=["消防图纸"], note="",
                                    command_id=uuid.uuid4().hex)
    assert_tallies_agree(db, clerks, today)
    resume_review(db, market, open_task(db, third, "market").id, command_id=uuid.uuid4().hex,
                  today=today + dt.timedelta(days=3))
    answer_supplement(db, account(db, "owner"), third.reference, supplement.id,
                      uploads=[Upload(supplement_item_code(supplement.id, 1), "plan.pdf", PDF)],
                      storage_dir=Path(app.config["UPLOAD_DIR"]),
                      command_id=uuid.uuid4().hex)
    assert_tallies_agree(db, clerks, today)
    extension = request_extension(db, market, open_task(db, fourth, "market").id, reason="现场核查",
                                  command_id=uuid.uuid4().hex)
    decide_extension(db, account(db, "supervisor.market"), extension.id, approve=True, comment="",
                     command_id=uuid.uuid4().hex)
    decide_task(db, market, open_task(db, second, "market").id, outcome="approve", opinion="",
                command_id=uuid.uuid4().hex)
    decide_task(db, fire, open_task(db, first, "fire").id, outcome="reject", opinion="疏散通道不足",
                command_id=uuid.uuid4().hex)
    withdraw_application(db, account(db, "owner"), fourth.reference, reason="不开了", command_id=uuid.uuid4().hex)
    # Later days move tasks from "due soon" to "overdue" without any row changing.
    for day in (today, today + dt.timedelta(days=25), today + dt.timedelta(days=40)):
        assert_tallies_agree(db, clerks, day)

    # Folding the appended rows and recounting from scratch change no figure.
    before = tab_counts(db, market, today, WeekdayCalendar().add_working_days(today, 2))
    appended = db.scalar(select(func.count()).select_from(QueueTally).where(QueueTally.agency_code == "market"))
    compact(db, QueueTally, "market")
    assert db.scalar(select(func.count()).select_from(QueueTally).where(QueueTally.agency_code == "market")) < appended
    assert tab_counts(db, market, today, WeekdayCalendar().add_working_days(today, 2)) == before
    recount(db)
    assert_tallies_agree(db, clerks, today)
    assert engine() is not None


def test_deleting_rows_takes_them_out_of_the_tallies(app, db):
    application = new_case(app, db)
    accept(db, application)
    db.flush()
    today = clock.today()
    market = account(db, "clerk.market")
    instance_id = application.workflow_instance_id
    for model in (Request, Task):
        db.execute(model.__table__.delete().where(model.__table__.c.instance_id == instance_id))
    assert_tallies_agree(db, [market, account(db, "clerk.hub")], today)
