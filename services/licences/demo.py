"""Demo licences (`flask seed-demo`): one issued licence for each demo holder, made the way real ones are.

Each demo holder gets a case that goes through the real services and engine: submitted, accepted by the lead window,
approved by the agency's demo clerk, then the licence issued for the approved branch. Running it again finds the
same cases (fixed submission tokens, idempotent decisions) and issues nothing new.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from services import clock
from services.applications.service import Upload, decide_task, engine, submit_application
from services.catalogue.demo import DEMO_DOMAIN
from services.catalogue.models import Matter
from services.identity.models import Account, Enterprise
from services.licences.models import Licence
from services.licences.service import issue_licence
from workflows.models import Branch, Task, WorkflowInstance
from workflows.states import BranchState, TaskState

# The smallest PDF a parser opens (one blank page): uploads are parsed for active content.
DEMO_PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj\n2 0 obj<</Type/Pages/Kids[3 0 R]/Count 1>>endobj\n"
    b"3 0 obj<</Type/Page/Parent 2 0 R/MediaBox[0 0 612 792]>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n")
# A small counter without a signboard: the market and environment branches only, so one licence (the food business
# permit; the environmental registration is a filing).
RESTAURANT_ANSWERS = {"shop_name": "示例小馆", "address": "广州市越秀区示例街18号", "floor_area": 30, "seats": 12,
                      "categories": ["hot_food", "cold_food"], "signboard": False}


def _residence(address: str, moved_in: str, mobile: str) -> dict:
    return {"address": address, "moved_in": moved_in, "basis": "work", "basis_detail": "广州示例科技有限公司",
            "mobile": mobile}


def demo_answers(bundle_code: str, **overrides) -> dict:
    """Complete answers for a case of ``bundle_code`` (what seeding, tests and benchmarks apply with): the newborn's
    parents are 李四 and 张三, so either of them may apply."""
    import datetime as dt

    answers = {
        "open_restaurant": {**RESTAURANT_ANSWERS, "address": "广州市天河区示例路1号"},
        "residence_permit": _residence("广州市天河区体育西路8号", "2024-03-01", "13800138000"),
        "newborn": {"child_name": "张小宝", "child_sex": "female",
                    "born_on": (clock.today() - dt.timedelta(days=10)).isoformat(),
                    "birth_place": "广州市妇女儿童医疗中心", "mother_name": "李四", "mother_id": "440104199206074560",
                    "father_name": "张三", "father_id": "440106198803151235",
                    "household_address": "广州市越秀区示例街2号", "mobile": "13800138000"},
        "start_business": {"company_name": "广州示例餐饮管理有限公司", "company_type": "llc",
                           "registered_address": "广州市天河区示例路8号", "registered_capital": 50,
                           "business_scope": "餐饮管理；餐饮服务", "employees": 5, "seals": ["company", "finance"],
                           "mobile": "13800138000"},
    }[bundle_code]
    return {**answers, **overrides}


# applicant (email local part), bundle, answers, applies for their enterprise
DEMO_CASES = [
    ("resident", "residence_permit", _residence("广州市天河区体育西路8号", "2024-03-01", "13800138000"), False),
    ("resident2", "residence_permit", _residence("广州市越秀区示例街2号", "2023-09-15", "13900139000"), False),
    ("owner", "open_restaurant", RESTAURANT_ANSWERS, True),
]
# What the approving clerk writes: the licence's conditions (附加条件), if any.
OPINIONS = {"food_business_permit": "不得经营生食类食品。"}
MAX_ROUNDS = 10  # acceptance, then the branches: a demo case needs two rounds; more means something is wrong


def _account(session: Session, local_part: str) -> Account:
    account = session.scalar(select(Account).where(Account.email == f"{local_part}@{DEMO_DOMAIN}"))
    if account is None:
        raise LookupError(f"demo account {local_part!r} is missing: run seed_demo first")
    return account


def _decide_open_tasks(session: Session, instance_id: int, today: dt.date) -> None:
    instance = session.get(WorkflowInstance, instance_id)
    definition = engine().definition_of(instance)
    for _round in range(MAX_ROUNDS):
        tasks = session.scalars(select(Task).where(Task.instance_id == instance_id, Task.state == TaskState.OPEN)
                                .order_by(Task.id)).all()
        if not tasks:
            return
        for task in tasks:
            node = definition.node(task.node_id)
            clerk = _account(session, f"clerk.{task.agency_code}")
            decide_task(session, clerk, task.id, outcome="accept" if node.acceptance else "approve",
                        opinion=OPINIONS.get(node.matter or "", ""), command_id=f"demo-licences:{task.id}",
                        today=today)
    raise RuntimeError(f"demo case {instance_id} still has open tasks after {MAX_ROUNDS} rounds")


def seed_demo_licences(session: Session, key_dir: Path, public_url: str, *, upload_dir: Path | None = None,
                       today: dt.date | None = None) -> list[Licence]:
    """Make sure every demo holder (张三, 李四 and 广州示例餐饮有限公司) holds an issued licence; return the licences.

    ``upload_dir`` receives the demo restaurant's proof of premises; without it the case is submitted without one.
    Never commits; the caller does.
    """
    licences = []
    for local_part, bundle_code, answers, for_enterprise in DEMO_CASES:
        licences += demo_case_licences(session, local_part, bundle_code, answers, for_enterprise=for_enterprise,
                                       key_dir=key_dir, public_url=public_url, upload_dir=upload_dir, today=today)
    return licences


def demo_case_licences(session: Session, local_part: str, bundle_code: str, answers: dict, *, for_enterprise: bool,
                       key_dir: Path, public_url: str, upload_dir: Path | None = None,
                       today: dt.date | None = None) -> list[Licence]:
    """Drive one demo applicant's case to approval (the same case on every call) and issue its licences."""
    today = today or clock.today()
    applicant = _account(session, local_part)
    enterprise_id = None
    if for_enterprise:
        enterprise_id = session.scalar(select(Enterprise.id).where(
            Enterprise.legal_representative_id == applicant.id).order_by(Enterprise.id))
    token = uuid.uuid5(uuid.NAMESPACE_URL, f"onewindow-demo-licence:{local_part}:{bundle_code}").hex
    uploads = [Upload("premises_proof", "lease.pdf", DEMO_PDF)] if for_enterprise and upload_dir else []
    # With no uploads, submit_application never touches storage_dir.
    application = submit_application(session, applicant, bundle_code, answers=answers, uploads=uploads,
                                     submission_token=token, storage_dir=upload_dir, enterprise_id=enterprise_id,
                                     today=today)
    _decide_open_tasks(session, application.workflow_instance_id, today)
    granting = select(Branch).join(Matter, Matter.code == Branch.matter_code).where(
        Branch.instance_id == application.workflow_instance_id, Branch.state == BranchState.APPROVED,
        Matter.licence_type_id.is_not(None)).order_by(Branch.id)
    # issue_licence returns the existing licence for a branch already served: running twice issues once.
    return [issue_licence(session, branch_id=branch.id, key_dir=Path(key_dir), public_url=public_url, today=today)
            for branch in session.scalars(granting).all()]
