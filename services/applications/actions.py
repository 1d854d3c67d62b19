"""The automatic steps a workflow definition names (``type: action``), as generic verbs.

Each takes the session, the case and its service's definition, and reads whatever it needs from the definition: no
verb knows which service it serves. ``services.catalogue.definitions.ACTIONS`` lists their names for the start-up
check; a test keeps the two in step.
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.applications.models import Application
from services.catalogue.definitions.model import Service
from services.catalogue.models import Matter
from services.identity.identifiers import make_uscc
from services.identity.models import Enterprise
from services.jobs import outbox, queues
from services.notifications.service import notify
from workflows.models import Branch, WorkflowInstance
from workflows.states import BranchState

# The organisation codes of enterprises the hub registers start here, well apart from the demo's own.
FIRST_ORGANISATION_SERIAL = 60_000_000


def issue_licences(session: Session, instance: WorkflowInstance, application: Application | None,
                   service: Service | None) -> None:
    """Queue the issuing of a licence for each approved branch whose matter grants one (one query for all). It reads
    only the instance's branches (an engine test's instance may have no application)."""
    granting = session.scalars(select(Branch.id).join(Matter, Matter.code == Branch.matter_code).where(
        Branch.instance_id == instance.id, Branch.state == BranchState.APPROVED,
        Matter.licence_type_id.is_not(None)).order_by(Branch.id))
    for branch_id in granting.all():
        outbox.enqueue(session, queues.LICENCES, "issue_licence", branch_id=branch_id)


def register_enterprise(session: Session, instance: WorkflowInstance, application: Application,
                        service: Service) -> None:
    """Register the enterprise the case founds: its name and address from the answers the definition names, a new
    unified social credit code (GB 32100, market supervision's authority code 9 and type 1, the definition's
    division), the applicant as its legal representative. Its licences name it, while the case stays in the
    founder's own list. Running twice registers once."""
    from services.applications.service import next_serial

    if application.registered_enterprise_id is not None:
        return
    registration = service.registers_enterprise
    answers = application.answers or {}
    while True:
        serial = FIRST_ORGANISATION_SERIAL + next_serial(session, f"uscc:{registration.division}")
        uscc = make_uscc("9", "1", registration.division, serial)
        if session.scalar(select(Enterprise.id).where(Enterprise.uscc == uscc)) is None:
            break
    enterprise = Enterprise(name=answers[registration.name], uscc=uscc, address=answers.get(registration.address),
                            legal_representative_id=application.applicant_id)
    session.add(enterprise)
    session.flush()
    application.registered_enterprise_id = enterprise.id
    notify(session, application.applicant_id, "enterprise_registered", name=enterprise.name, uscc=uscc,
           reference=application.reference)


ACTIONS: dict[str, Callable] = {"issue_licences": issue_licences, "register_enterprise": register_enterprise}
