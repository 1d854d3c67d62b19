"""Licence jobs run by rq workers."""

from pathlib import Path

from services.jobs.worker import job
from services.licences.lifecycle import issue_amended_version
from services.licences.service import issue_licence, reserve_number_for_job


def _reserve_number(database, settings, *, branch_id: int) -> None:
    reserve_number_for_job(database, branch_id)


@job("issue_licence", before=_reserve_number)
def issue_licence_job(session, settings, *, branch_id: int) -> None:
    issue_licence(session, branch_id=branch_id, key_dir=Path(settings["KEY_DIR"]), public_url=settings["PUBLIC_URL"])


@job("amend_licence")
def amend_licence_job(session, settings, *, event_id: int) -> None:
    issue_amended_version(session, event_id=event_id, key_dir=Path(settings["KEY_DIR"]),
                          public_url=settings["PUBLIC_URL"])
