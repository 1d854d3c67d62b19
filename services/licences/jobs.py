"""Licence jobs run by rq workers; registered in services/jobs/registry.py."""

from pathlib import Path

from services.licences.lifecycle import issue_amended_version
from services.licences.service import issue_licence, reserve_number_for_job


def reserve_number(database, settings, *, branch_id: int) -> None:
    """Before ``issue_licence``'s transaction: take the branch's licence number in a short transaction of its own."""
    reserve_number_for_job(database, branch_id)


def issue_licence_job(session, settings, *, branch_id: int) -> None:
    issue_licence(session, branch_id=branch_id, key_dir=Path(settings["KEY_DIR"]), public_url=settings["PUBLIC_URL"])


def amend_licence_job(session, settings, *, event_id: int) -> None:
    issue_amended_version(session, event_id=event_id, key_dir=Path(settings["KEY_DIR"]),
                          public_url=settings["PUBLIC_URL"])
