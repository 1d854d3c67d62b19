"""`bench/gen_data.py` at a tiny volume: realistic, consistent rows that the pages render, and safe to run again."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import func, select, text

from bench import gen_data
from bench.datagen import GENERATED_DOMAIN, GENERATED_SCOPE, generate, total_work
from bench.datagen.vocabulary import resident_id_for, uscc_for
from services import clock
from services.applications.models import Application, CaseStatus, Material
from services.applications.service import next_serial
from services.applications.tallies import BranchTally
from services.catalogue.models import Matter
from services.db import Base
from services.identity.identifiers import (
    is_valid_licence_number,
    is_valid_reference,
    validate_mobile,
    validate_resident_id,
    validate_uscc,
)
from services.identity.models import Account, Enterprise, Role
from services.licences.models import Licence
from services.notifications.models import Notification
from workflows.models import Branch, Event, Task, WorkflowInstance
from workflows.states import BranchState, InstanceState, TaskState

TODAY = clock.today()
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def generated(database, db):
    """200 cases over 60 residents and 15 enterprises, inside the test's transaction."""
    last_account = db.scalar(select(func.max(Account.id))) or 0
    tallies_before.clear()
    tallies_before.update(tallies(db))
    # End the session's savepoint first: a request closing the session would otherwise roll the data back with it.
    db.commit()
    calls = []
    result = generate(database, applications=200, residents=60, enterprises=15, seed=7, progress=calls.append,
                      chunk=64)
    db.expire_all()
    return result, last_account, calls


tallies_before: dict = {}


def tallies(db) -> Counter:
    found = Counter()
    """Decided branches by (agency, handling days) in the supervision figures' branch tallies."""
    for agency, days, on_time, count in db.execute(
            select(BranchTally.agency_code, BranchTally.handling_days, BranchTally.on_time, func.sum(BranchTally.delta))
            .where(BranchTally.handling_days.is_not(None))
            .group_by(BranchTally.agency_code, BranchTally.handling_days, BranchTally.on_time)):
        found[(agency, days, "decided")] += count
        found[(agency, days, "on_time")] += count if on_time else 0
    return found


def generated_residents(db, after: int) -> list[Account]:
    return db.scalars(select(Account).where(Account.id > after, Account.role == Role.RESIDENT)
                      .order_by(Account.id)).all()


def test_counts_and_progress(db, generated):
    result, after, calls = generated
    assert result.counts["applications"] == 200 and result.counts["enterprises"] == 15
    assert sum(calls) == total_work(applications=200, residents=60, enterprises=15)
    assert len(generated_residents(db, after)) == 60
    clerks = db.scalars(select(Account).where(Account.id > after, Account.role == Role.CLERK)).all()
    assert {c.agency.code for c in clerks} >= {"hub", "market", "fire", "urban", "env"}
    assert all(c.email.endswith("@" + GENERATED_DOMAIN) for c in clerks)
    for table, count in result.counts.items():
        if table in ("accounts", "enterprises", "applications", "wf_instances", "materials", "wf_tasks", "wf_events"):
            assert count > 0, table
    assert db.scalar(select(func.count()).select_from(Application).where(Application.submission_token.like("gen%"))) \
        == 200
    assert db.scalar(select(func.count()).select_from(Material).where(Material.storage_key.like("gen%"))) == 200


def test_identifiers_are_valid_and_unique(db, generated):
    _result, after, _calls = generated
    residents = generated_residents(db, after)
    ids = [validate_resident_id(r.id_number) for r in residents]
    assert len(set(ids)) == len(ids)
    assert all(validate_mobile(r.mobile) for r in residents)
    assert all(re.fullmatch(r"[\u4e00-\u9fff]{2,3}", r.name) for r in residents)
    enterprises = db.scalars(select(Enterprise).join(Account, Account.id == Enterprise.legal_representative_id)
                             .where(Account.id > after)).all()
    assert len(enterprises) == 15
    assert all(validate_uscc(e.uscc) == e.uscc and e.uscc.startswith("91") for e in enterprises)
    references = db.scalars(select(Application.reference).where(Application.submission_token.like("gen%"))).all()
    assert all(is_valid_reference(r) for r in references) and len(set(references)) == len(references)
    numbers = db.scalars(select(Licence.number).where(Licence.scope == GENERATED_SCOPE)).all()
    assert numbers and all(is_valid_licence_number(n) for n in numbers)
    # The derivations are bijections: neighbouring ids never collide, far beyond the default volumes.
    assert len({resident_id_for(n) for n in range(0, 3_000_000, 7)}) == len(range(0, 3_000_000, 7))
    assert len({uscc_for(n, "440103")[8:17] for n in range(200_000)}) == 200_000


def test_state_mix_and_consistency(db, generated):
    generated_cases = select(Application).where(Application.submission_token.like("gen%"))
    statuses = Counter(a.status for a in db.scalars(generated_cases))
    granting_matters = set(db.scalars(select(Matter.code).where(Matter.licence_type_id.is_not(None))))
    assert 120 <= statuses[CaseStatus.APPROVED] <= 165, statuses
    assert statuses[CaseStatus.REJECTED] >= 2 and statuses[CaseStatus.IN_REVIEW] >= 25, statuses
    for application in db.scalars(generated_cases):
        instance = db.get(WorkflowInstance, application.workflow_instance_id)
        assert instance.subject_id == application.id
        branches = db.scalars(select(Branch).where(Branch.instance_id == instance.id)).all()
        tasks = db.scalars(select(Task).where(Task.instance_id == instance.id)).all()
        kinds = [e.kind for e in db.scalars(select(Event).where(Event.instance_id == instance.id)
                                            .order_by(Event.id))]
        assert kinds[0] == "started"
        open_tasks = [t for t in tasks if t.state == TaskState.OPEN]
        if application.status == CaseStatus.APPROVED:
            assert instance.state == InstanceState.APPROVED and application.decided_at is not None
            assert branches and all(b.state == BranchState.APPROVED for b in branches)
            assert all(b.handling_days is not None and b.on_time is not None for b in branches)
            assert kinds[-1] == "ended" and "joined" in kinds and kinds.count("task_approve") == len(branches)
            granting = [b for b in branches if b.matter_code in granting_matters]
            licences = db.scalars(select(Licence).where(Licence.application_id == application.id)).all()
            assert sorted(lic.branch_id for lic in licences) == sorted(b.id for b in granting)
            assert all(lic.pdf.startswith(b"%PDF-") and lic.scope == GENERATED_SCOPE for lic in licences)
            assert not open_tasks
        elif application.status == CaseStatus.REJECTED:
            assert [b.state for b in branches].count(BranchState.REJECTED) == 1 and kinds[-1] == "ended"
            assert not open_tasks
        elif application.status == CaseStatus.SUBMITTED:
            assert not branches and [t.node_id for t in open_tasks] == ["acceptance"]
        else:
            assert instance.state == InstanceState.RUNNING and "joined" not in kinds
            running = [b for b in branches if b.state in (BranchState.ACTIVE, BranchState.WAITING_APPLICANT,
                                                          BranchState.PAUSED)]
            assert running and {t.branch_id for t in open_tasks} == {b.id for b in running}
            for branch in running:
                assert abs((branch.due_on - TODAY).days) < 80
                assert branch.overdue == (branch.state == BranchState.ACTIVE and branch.due_on < TODAY)
        assert db.scalar(select(func.count()).select_from(Notification).where(
            Notification.account_id == application.applicant_id)) >= 1
    # The market branch is the slowest: about 7 in 10 restaurant cases under review wait for it, which makes
    # 100,000+ open market tasks at the default volume.
    reviewing = db.scalar(select(func.count()).select_from(Application).where(
        Application.submission_token.like("gen%"), Application.status == CaseStatus.IN_REVIEW,
        Application.enterprise_id.is_not(None)))
    market_open = db.scalar(select(func.count()).select_from(Task).where(Task.agency_code == "market",
                                                                         Task.state == TaskState.OPEN))
    assert market_open >= 0.5 * reviewing > 0


def test_branch_tallies_count_the_generated_decisions(db, generated):
    expected = Counter()
    for agency, days, on_time in db.execute(
            select(Branch.agency_code, Branch.handling_days, Branch.on_time)
            .join(Application, Application.workflow_instance_id == Branch.instance_id)
            .where(Application.submission_token.like("gen%"), Branch.handling_days.is_not(None))):
        expected[(agency, days, "decided")] += 1
        expected[(agency, days, "on_time")] += bool(on_time)
    added = tallies(db)
    added.subtract(tallies_before)
    assert +added == +expected and sum(expected.values()) > 0


def test_every_foreign_key_holds(db, generated):
    """On PostgreSQL the COPY runs without foreign-key triggers: every reference is checked here instead."""
    for table in Base.metadata.sorted_tables:
        for fk in table.foreign_keys:
            missing = db.scalar(text(
                f"SELECT count(*) FROM {table.name} x WHERE x.{fk.parent.name} IS NOT NULL AND NOT EXISTS "
                f"(SELECT 1 FROM {fk.column.table.name} y WHERE y.{fk.column.name} = x.{fk.parent.name})"))
            assert missing == 0, f"{table.name}.{fk.parent.name}"


def test_counters_and_sequences_continue_after_the_generated_rows(db, generated):
    latest = db.scalars(select(Application).where(Application.submission_token.like("gen%"))
                        .order_by(Application.submitted_at.desc())).first()
    day = latest.reference.split("-")[1]
    used = [int(r.split("-")[2]) for r in db.scalars(select(Application.reference).where(
        Application.reference.like(f"GZ-{day}-%")))]
    assert next_serial(db, f"case:{day[:4]}-{day[4:6]}-{day[6:]}") == max(used) + 1
    note = Notification(account_id=latest.applicant_id, kind="case_submitted", params={})
    db.add(note)
    db.flush()
    assert note.id > db.scalar(select(func.max(Notification.id)).where(Notification.id != note.id))


def test_running_it_again_adds_more(database, db, generated):
    result, _after, _calls = generated
    again = generate(database, applications=30, residents=10, enterprises=3, seed=7)
    assert again.counts["applications"] == 30
    assert db.scalar(select(func.count()).select_from(Application).where(
        Application.submission_token.like("gen%"))) == 230
    assert db.scalar(select(func.count(func.distinct(Account.id_number)))) == \
        db.scalar(select(func.count(Account.id_number)))


def test_pages_render_for_generated_people(app, client, db, generated):
    _result, after, _calls = generated

    def sign_in(account_id):
        with client.session_transaction() as session:
            session["account_id"] = account_id

    resident_case = db.scalars(select(Application).where(Application.submission_token.like("gen%"),
                                                         Application.enterprise_id.is_(None))).first()
    enterprise_case = db.scalars(select(Application).where(Application.submission_token.like("gen%"),
                                                           Application.enterprise_id.is_not(None),
                                                           Application.status == CaseStatus.APPROVED)).first()
    for case in (c for c in (resident_case, enterprise_case) if c is not None):
        sign_in(case.applicant_id)
        home = client.get(f"/me/enterprises/{case.enterprise_id}/?lang=en" if case.enterprise_id else "/me/?lang=en")
        assert home.status_code == 200 and case.reference in home.get_data(as_text=True)
        page = client.get(f"/me/cases/{case.reference}?lang=en")
        assert page.status_code == 200 and case.reference in page.get_data(as_text=True)
    clerk = db.scalars(select(Account).where(Account.id > after, Account.email.like("clerk.market.%"))).first()
    sign_in(clerk.id)
    queue = client.get("/work/?queue=unclaimed")
    assert queue.status_code == 200
    task_id = db.scalar(select(Task.id).where(Task.agency_code == "market", Task.state == TaskState.OPEN))
    assert client.get(f"/work/tasks/{task_id}").status_code == 200
    sign_in(db.scalar(select(Account.id).where(Account.email == "supervisor@demo.onewindow.test")))
    assert client.get("/supervision/dashboard").status_code == 200


def test_gen_data_script(app, db):
    runner = CliRunner()
    # Given the test's app, the script fills its database (inside the test's transaction) instead of making one.
    result = runner.invoke(gen_data.main, ["--applications", "12", "--residents", "5", "--enterprises", "2",
                                           "--seed", "3", "--no-vacuum"], obj=app)
    assert result.exit_code == 0, result.output
    assert re.search(r"applications\s+12\b", result.output) and "Added" in result.output
    refused = runner.invoke(gen_data.main, ["--applications", "5", "--residents", "0", "--enterprises", "0"], obj=app)
    assert refused.exit_code != 0 and "cases need --enterprises" in refused.output


def test_gen_data_runs_as_a_script():
    # As documented: `.venv/bin/python bench/gen_data.py ...` from a checkout, whatever the current directory.
    shown = subprocess.run([sys.executable, str(ROOT / "bench" / "gen_data.py"), "--help"], cwd="/",
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "--applications" in shown.stdout and "--vacuum / --no-vacuum" in shown.stdout


def test_production_code_does_not_import_the_generator():
    importers = []
    for layer in ("app", "services", "workflows"):
        for path in (ROOT / layer).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text())):
                names = ([alias.name for alias in node.names] if isinstance(node, ast.Import)
                         else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
                if any(name == "bench" or name.startswith("bench.") for name in names):
                    importers.append(path.relative_to(ROOT).as_posix())
    assert not importers


def test_mandates_ratings_and_follow_ups_are_generated_consistently(db, generated):
    from services.identity.mandates import Mandate
    from services.identity.service import enterprises_of
    from services.ratings import FollowUp, Rating

    result, after, _calls = generated
    assert result.counts["mandates"] >= 1 and result.counts["ratings"] >= 20
    mandates = db.scalars(select(Mandate).join(Enterprise, Enterprise.id == Mandate.enterprise_id).where(
        Enterprise.legal_representative_id > after)).all()
    assert len(mandates) == result.counts["mandates"]
    for mandate in mandates:
        assert mandate.agent_id != mandate.granted_by and mandate.agent.role == Role.RESIDENT
        assert mandate.granted_by == mandate.enterprise.legal_representative_id
        assert mandate.all_services or mandate.bundle_codes == ["open_restaurant"]
        valid = mandate.revoked_at is None and mandate.expires_on >= TODAY
        assert (mandate.enterprise in enterprises_of(db, mandate.agent)) == valid
    ratings = db.scalars(select(Rating).join(Application, Application.id == Rating.application_id).where(
        Application.applicant_id > after)).all()
    assert len(ratings) == result.counts["ratings"]
    assert all(r.application.status in (CaseStatus.APPROVED, CaseStatus.REJECTED) for r in ratings)
    assert all(r.account_id == r.application.applicant_id and 1 <= r.score <= 5 for r in ratings)
    for rating in ratings:
        items = {f.agency_code for f in db.scalars(select(FollowUp).where(FollowUp.rating_id == rating.id))}
        agencies = set(db.scalars(select(Branch.agency_code).where(
            Branch.instance_id == rating.application.workflow_instance_id)))
        assert items == (agencies if rating.score <= 2 else set())


def test_queue_and_branch_tallies_agree_with_the_generated_rows(db, generated):
    # The bulk copy bypasses the tally triggers on PostgreSQL (replica mode): the generator recounts at the end.
    from tests.app.test_workbench_tallies import direct_branches, tallied_branches

    assert tallied_branches(db) == direct_branches(db)
