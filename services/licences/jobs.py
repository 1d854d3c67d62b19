"""Licence jobs: run by rq workers, or without Redis by the web process's worker thread (services/jobs/local.py);
registered in services/jobs/registry.py."""

import logging
from pathlib import Path

from services.db import ReadOnlySnapshot
from services.licences.lifecycle import issue_amended_version
from services.licences.service import issue_licence, reserve_number_for_job

log = logging.getLogger(__name__)


def prepare_issue(database, settings, *, branch_id: int) -> None:
    """Before ``issue_licence``'s transaction: reserve the branch's licence number in a short transaction of its
    own, and on SQLite render the licence ahead (:func:`_render_ahead`)."""
    reserve_number_for_job(database, branch_id)
    if not database.is_postgresql:
        _render_ahead(database, settings, branch_id)


def _render_ahead(database, settings, branch_id: int) -> None:
    """SQLite has one write lock, and the job's transaction holds it from its first statement (``BEGIN
    IMMEDIATE``): a render inside it (0.2 s on an idle core, seconds on a busy one) would make every request of the
    web process wait. So the licence is first issued in a read snapshot (``Database.snapshot``: no lock taken or
    waited for) whose flush is refused, keeping the PDF it rendered (``rendering_ahead``); the job's transaction then
    issues the same licence from the same data and finds the PDF rendered. PostgreSQL needs none of this: its job
    locks no row a request waits for. Whatever goes wrong here, the job renders in its transaction as before."""
    from services.licences.pdf import rendering_ahead

    try:
        with rendering_ahead(), database.snapshot() as session:
            issue_licence(session, branch_id=branch_id, key_dir=Path(settings["KEY_DIR"]),
                          public_url=settings["PUBLIC_URL"])
    except ReadOnlySnapshot:
        pass  # rendered and signed; storing the licence is the job's
    except Exception:  # noqa: BLE001 - the job itself issues the licence and reports what goes wrong
        log.info("could not render the licence of branch %s ahead; the job renders it", branch_id, exc_info=True)


def issue_licence_job(session, settings, *, branch_id: int) -> None:
    issue_licence(session, branch_id=branch_id, key_dir=Path(settings["KEY_DIR"]), public_url=settings["PUBLIC_URL"])


def amend_licence_job(session, settings, *, event_id: int) -> None:
    issue_amended_version(session, event_id=event_id, key_dir=Path(settings["KEY_DIR"]),
                          public_url=settings["PUBLIC_URL"])
