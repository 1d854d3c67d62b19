"""Every job the outbox can run, in one list: its name (what ``outbox.enqueue`` records), its rq queue, the function
that does it and, for a few, a step run first in transactions of its own.

``tests/services/test_jobs_registry.py`` reads the source for every ``enqueue(...)`` and checks that each job it names
is here with the same queue, and that every queue in ``services.jobs.queues.ALL_QUEUES`` has a job or a periodic job.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from services.jobs import queues
from services.licences import jobs as licence_jobs
from services.notifications import mail


@dataclass(frozen=True)
class Job:
    name: str
    queue: str
    # fn(session, settings, **args), in the job's one transaction (services.jobs.worker commits it)
    run: Callable
    # fn(database, settings, **args): work that must commit on its own before the job's transaction
    before: Callable | None = None


JOBS = [
    Job("issue_licence", queues.LICENCES, licence_jobs.issue_licence_job, before=licence_jobs.prepare_issue),
    Job("amend_licence", queues.LICENCES, licence_jobs.amend_licence_job),
    Job("send_mail", queues.MAIL, mail.send_mail_job),
]
BY_NAME = {job.name: job for job in JOBS}
