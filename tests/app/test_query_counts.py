"""No page issues a query per row: the same page costs the same number of queries with few rows and with many."""

from __future__ import annotations

from contextlib import contextmanager

import pytest
from sqlalchemy import event, func, select

from bench.datagen import generate
from services.applications.models import Application
from services.identity.models import Account, Enterprise
from workflows.models import Branch, Event, Task
from workflows.states import BranchState, TaskState

BOOKKEEPING = ("SAVEPOINT", "RELEASE", "ROLLBACK", "BEGIN", "COMMIT")
# The process's look at the holiday notices comes once every CALENDAR_REFRESH_SECONDS, whichever request is first
# (the interval is the first app's of the test process): a clock, not a page's rows.
PERIODIC = ("wf_calendar_notices",)


@contextmanager
def counting(database, leave_out: tuple[str, ...] = ()):
    """The SQL statements the block runs (transaction bookkeeping left out, and those naming ``leave_out``)."""
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):
        if not statement.lstrip().upper().startswith(BOOKKEEPING) and not any(t in statement for t in leave_out):
            statements.append(statement)

    event.listen(database.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        event.remove(database.engine, "before_cursor_execute", record)


def page_queries(client, database, url: str, account_id: int | None) -> tuple[int, str]:
    with client.session_transaction() as session:
        session.clear()
        if account_id is not None:
            session["account_id"] = account_id
    with counting(database, leave_out=PERIODIC) as statements:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(statements), response.get_data(as_text=True)


def representative(db, enterprise_id: int) -> int:
    return db.scalar(select(Enterprise.legal_representative_id).where(Enterprise.id == enterprise_id))


@pytest.fixture
def two_applicants(database, db):
    """One enterprise with 2 cases, another with 14 (each run of the generator adds its own people)."""
    db.commit()  # no open savepoint of the test's session around the generated rows
    owners = []
    for applications, seed in ((2, 11), (14, 12)):
        generate(database, applications=applications, residents=1, enterprises=1, seed=seed)
        owners.append(db.scalar(select(func.max(Enterprise.id))))
    db.commit()
    return [representative(db, e) for e in owners]


def cases_of(db, account_id: int) -> list[Application]:
    owned = select(Enterprise.id).where(Enterprise.legal_representative_id == account_id)
    return db.scalars(select(Application).where(
        (Application.applicant_id == account_id) | Application.enterprise_id.in_(owned))).all()


def enterprise_of(db, account_id: int) -> int:
    return db.scalar(select(Enterprise.id).where(Enterprise.legal_representative_id == account_id))


def test_service_page_queries_do_not_grow_with_cases(client, database, db, two_applicants):
    """The enterprise's page (cases with their branch timelines, licences, to-dos, mandates, audit) and the person's
    page cost the same statements with 2 cases as with 14 (a page of 10 is shown)."""
    few, many = two_applicants
    few_cases, many_cases = cases_of(db, few), cases_of(db, many)
    assert len(few_cases) == 2 and len(many_cases) == 14
    few_count, few_page = page_queries(client, database, f"/me/enterprises/{enterprise_of(db, few)}/", few)
    many_count, many_page = page_queries(client, database, f"/me/enterprises/{enterprise_of(db, many)}/", many)
    few_cases = [c for c in few_cases if c.enterprise_id]
    newest = sorted((c for c in many_cases if c.enterprise_id), key=lambda c: (c.submitted_at, c.id), reverse=True)
    assert len(newest) > 10
    assert all(c.reference in few_page for c in few_cases) and all(c.reference in many_page for c in newest[:10])
    assert 'role="img"' in many_page  # the parallel cases' branch timelines are drawn
    assert many_count == few_count, f"enterprise page: {few_count} queries with 2 cases, {many_count} with 14"
    second_count, second_page = page_queries(client, database, f"/me/enterprises/{enterprise_of(db, many)}/?cases=2",
                                             many)
    assert all(c.reference in second_page for c in newest[10:]) and second_count == many_count
    few_home, _page = page_queries(client, database, "/me/", few)
    many_home, _page = page_queries(client, database, "/me/", many)
    assert many_home == few_home, f"/me/: {few_home} queries for one person, {many_home} for another"


def test_resident_page_queries_do_not_grow_with_cases(client, database, db):
    """Residence-permit cases are personal: the person's own page lists them, a page of 10 at a time."""
    counts = {}
    for applications, seed in ((3, 41), (40, 42)):
        db.commit()
        generate(database, applications=applications, residents=1, enterprises=1, seed=seed)
        person = db.scalar(select(Application.applicant_id).where(Application.enterprise_id.is_(None))
                           .group_by(Application.applicant_id).order_by(func.count().desc()).limit(1))
        personal = db.scalar(select(func.count()).select_from(Application).where(
            Application.applicant_id == person, Application.enterprise_id.is_(None)))
        counts[personal], _page = page_queries(client, database, "/me/", person)
    assert len(set(counts.values())) == 1, f"/me/ statements by number of personal cases: {counts}"


def test_case_page_queries_do_not_grow_with_branches_and_history(client, database, db, two_applicants):
    owner = two_applicants[1]
    events = {c.reference: db.scalar(select(func.count()).select_from(Event).where(
        Event.instance_id == c.workflow_instance_id)) for c in cases_of(db, owner)}
    smallest, largest = min(events, key=events.get), max(events, key=events.get)
    assert events[largest] >= events[smallest] + 5
    small_count, _page = page_queries(client, database, f"/me/cases/{smallest}", owner)
    large_count, _page = page_queries(client, database, f"/me/cases/{largest}", owner)
    assert large_count == small_count, f"case page: {small_count} queries with {events[smallest]} events, " \
                                       f"{large_count} with {events[largest]}"


def market_clerk(db) -> int:
    return db.scalar(select(Account.id).where(Account.email == "clerk.market@demo.onewindow.test"))


def open_market_tasks(db) -> int:
    return db.scalar(select(func.count()).select_from(Task).join(Branch, Branch.id == Task.branch_id).where(
        Task.agency_code == "market", Task.state == TaskState.OPEN, Task.assignee_id.is_(None),
        Branch.state == BranchState.ACTIVE))


def test_queue_and_task_pages_queries_do_not_grow_with_rows(client, database, db):
    seed = 20
    while not open_market_tasks(db):  # a few cases, until one waits in the market queue
        seed += 1
        db.commit()
        generate(database, applications=5, residents=2, enterprises=1, seed=seed)
    clerk = market_clerk(db)
    few_rows = open_market_tasks(db)
    few_count, _page = page_queries(client, database, "/work/?queue=unclaimed", clerk)
    db.commit()
    generate(database, applications=100, residents=10, enterprises=4, seed=99)
    many_rows = open_market_tasks(db)
    many_count, page = page_queries(client, database, "/work/?queue=unclaimed", clerk)
    assert 1 <= few_rows and many_rows >= few_rows + 8
    assert page.count('href="/work/tasks/') >= min(many_rows, 50)
    assert many_count == few_count, f"queue: {few_count} queries with {few_rows} rows, {many_count} with {many_rows}"
    tasks = db.execute(select(Task.id, func.count(Event.id)).join(Event, Event.instance_id == Task.instance_id)
                       .where(Task.agency_code == "market").group_by(Task.id)).all()
    small, large = min(tasks, key=lambda t: t[1]), max(tasks, key=lambda t: t[1])
    assert large[1] > small[1]
    small_count, _page = page_queries(client, database, f"/work/tasks/{small[0]}", clerk)
    large_count, _page = page_queries(client, database, f"/work/tasks/{large[0]}", clerk)
    assert large_count == small_count, f"task page: {small_count} queries with {small[1]} events, " \
                                       f"{large_count} with {large[1]}"


def test_supervision_dashboard_queries_do_not_grow_with_rows(client, database, db):
    supervisor = db.scalar(select(Account.id).where(Account.email == "supervisor@demo.onewindow.test"))
    db.commit()
    generate(database, applications=2, residents=1, enterprises=1, seed=31)
    agencies_few = db.scalar(select(func.count(func.distinct(Branch.agency_code))))
    few_count, _page = page_queries(client, database, "/supervision/dashboard", supervisor)
    db.commit()
    generate(database, applications=80, residents=20, enterprises=5, seed=32)
    agencies_many = db.scalar(select(func.count(func.distinct(Branch.agency_code))))
    many_count, _page = page_queries(client, database, "/supervision/dashboard", supervisor)
    assert agencies_many > agencies_few
    assert many_count == few_count, f"dashboard: {few_count} queries with {agencies_few} agencies' rows, " \
                                    f"{many_count} with {agencies_many}"



def test_task_page_queries_do_not_grow_with_comments(app, client, database, db):
    import uuid

    from services.applications.comments import post_comment
    from tests.app.test_workbench_tallies import accept, account, new_case, open_task

    application = new_case(app, db)
    accept(db, application)
    clerk = account(db, "clerk.market")
    task = open_task(db, application, "market")
    counts = []
    for authors in (["clerk.market"], ["clerk.env", "clerk.hub", "clerk.market", "clerk.env", "lead.market"]):
        for author in authors:
            post_comment(db, account(db, author), application, body="意见", command_id=uuid.uuid4().hex)
        db.commit()  # as the other tests here: the page's request sees committed rows (the test still rolls back)
        count, page = page_queries(client, database, f"/work/tasks/{task.id}", clerk.id)
        counts.append((count, page.count('class="comment"')))
    assert [c for _q, c in counts] == [1, 6]
    assert counts[0][0] == counts[1][0], f"task page: {counts[0][0]} queries with 1 comment, {counts[1][0]} with 6"
