"""On PostgreSQL, the same draft sent three times at the same instant (double click, retry) makes one case: the
draft row is locked, the later requests find the case the first made."""

from __future__ import annotations

import pytest
from sqlalchemy import delete, func, select

from services.applications.drafts import start_draft, submit_draft
from services.applications.materials import add_files, item_statuses
from services.applications.models import Application, ApplicationDraft, Material
from services.applications.service import Upload
from services.catalogue.models import Bundle
from services.identity.models import Account
from tests.apply_helpers import PDF
from tests.workflows.test_concurrency import Ledger, race

pytestmark = pytest.mark.postgres

ANSWERS = {"address": "广州市天河区示例路8号", "moved_in": "2024-01-15", "basis": "home", "basis_detail": "",
           "mobile": "13900139000"}


@pytest.fixture
def ledger(database):
    if not database.is_postgresql:
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgresql+psycopg://...): three requests commit at once")
    ledger = Ledger(database.engine)
    try:
        yield ledger
    finally:
        ledger.cleanup()


def test_the_same_draft_sent_three_times_at_once_makes_one_case(ledger, tmp_path):
    with ledger.Session.begin() as session:
        applicant = session.scalar(select(Account).where(Account.email == "resident2@demo.onewindow.test"))
        bundle = session.scalar(select(Bundle).where(Bundle.code == "residence_permit"))
        draft, _created = start_draft(session, applicant, bundle, answers=ANSWERS,
                                      completed=["address", "moved-in", "basis", "contact"])
        for status in item_statuses(session, draft):
            if status.item.required:
                add_files(session, draft, status.item, [Upload(status.item.code, "scan.pdf", PDF)], tmp_path)
        applicant_id, draft_id, token = applicant.id, draft.id, draft.submission_token

    def send(session):
        return submit_draft(session, session.get(Account, applicant_id), draft_id, submission_token=token,
                            storage_dir=tmp_path).id

    try:
        outcomes, _gated = race(ledger, [send, send, send])
        ids = {result for kind, result in outcomes if kind == "ok"}
        ledger.applications |= ids
        assert [kind for kind, _result in outcomes] == ["ok", "ok", "ok"], outcomes
        assert len(ids) == 1
        with ledger.Session() as session:
            assert session.scalar(select(func.count()).select_from(Application).where(
                Application.submission_token == token)) == 1
            assert session.get(ApplicationDraft, draft_id) is None
            assert session.scalar(select(func.count()).select_from(Material).where(
                Material.application_id.in_(ids))) == 2
    finally:
        with ledger.Session.begin() as session:  # only if the send failed: the draft must not outlive the test
            session.execute(delete(Material).where(Material.draft_id == draft_id))
            session.execute(delete(ApplicationDraft).where(ApplicationDraft.id == draft_id))
