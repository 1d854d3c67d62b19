"""Licence jobs run by rq workers."""

from pathlib import Path

from services.jobs.worker import job
from services.licences.service import issue_licence


@job("issue_licence")
def issue_licence_job(session, settings, *, branch_id: int) -> None:
    issue_licence(session, branch_id=branch_id, key_dir=Path(settings["KEY_DIR"]), public_url=settings["PUBLIC_URL"])
