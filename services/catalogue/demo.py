"""The demo: the catalogue written from the service definitions, and the demo accounts of DOMAIN.md, created
idempotently (`flask seed-demo`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services import clock
from services.catalogue.models import Agency
from services.catalogue.sync import sync_catalogue, upsert
from services.identity.identifiers import validate_mobile, validate_resident_id, validate_uscc
from services.identity.models import Account, Enterprise, Role
from services.identity.service import hash_password

DEMO_PASSWORD = "OneWindow-demo-2026"
DEMO_DOMAIN = "demo.onewindow.test"

# email local part, role, name, resident id, mobile, agency
ACCOUNTS = [
    ("resident", Role.RESIDENT, "张三", "440106198803151235", "13800138000", None),
    ("resident2", Role.RESIDENT, "李四", "440104199206074560", "13900139000", None),
    ("owner", Role.RESIDENT, "王五", "440111200101010025", "13700137000", None),
    ("clerk.hub", Role.CLERK, "陈窗口", None, None, "hub"),
    ("clerk.market", Role.CLERK, "林市监", None, None, "market"),
    ("clerk.fire", Role.CLERK, "黄消防", None, None, "fire"),
    ("clerk.urban", Role.CLERK, "周城管", None, None, "urban"),
    ("clerk.env", Role.CLERK, "吴环保", None, None, "env"),
    ("clerk.police", Role.CLERK, "赵民警", None, None, "police"),
    ("clerk.health", Role.CLERK, "许卫健", None, None, "health"),
    ("clerk.medical", Role.CLERK, "邓医保", None, None, "medical"),
    ("clerk.hrss", Role.CLERK, "萧人社", None, None, "hrss"),
    ("clerk.tax", Role.CLERK, "钱税务", None, None, "tax"),
    ("clerk.housingfund", Role.CLERK, "严公积金", None, None, "housingfund"),
    ("lead.hub", Role.CLERK, "孙组长", None, None, "hub"),
    ("lead.market", Role.CLERK, "冯组长", None, None, "market"),
    ("lead.fire", Role.CLERK, "曹组长", None, None, "fire"),
    ("lead.urban", Role.CLERK, "彭组长", None, None, "urban"),
    ("lead.env", Role.CLERK, "蒋组长", None, None, "env"),
    ("lead.police", Role.CLERK, "韩组长", None, None, "police"),
    ("lead.health", Role.CLERK, "谢组长", None, None, "health"),
    ("lead.medical", Role.CLERK, "唐组长", None, None, "medical"),
    ("lead.hrss", Role.CLERK, "董组长", None, None, "hrss"),
    ("lead.tax", Role.CLERK, "姜组长", None, None, "tax"),
    ("lead.housingfund", Role.CLERK, "陆组长", None, None, "housingfund"),
    ("supervisor", Role.SUPERVISOR, "郑督查", None, None, "hub"),
    ("supervisor.market", Role.SUPERVISOR, "何科长", None, None, "market"),
    ("supervisor.fire", Role.SUPERVISOR, "罗科长", None, None, "fire"),
    ("supervisor.urban", Role.SUPERVISOR, "梁科长", None, None, "urban"),
    ("supervisor.env", Role.SUPERVISOR, "宋科长", None, None, "env"),
    ("supervisor.police", Role.SUPERVISOR, "韩科长", None, None, "police"),
    ("supervisor.health", Role.SUPERVISOR, "袁科长", None, None, "health"),
    ("supervisor.medical", Role.SUPERVISOR, "潘科长", None, None, "medical"),
    ("supervisor.hrss", Role.SUPERVISOR, "杜科长", None, None, "hrss"),
    ("supervisor.tax", Role.SUPERVISOR, "方科长", None, None, "tax"),
    ("supervisor.housingfund", Role.SUPERVISOR, "石科长", None, None, "housingfund"),
    ("admin", Role.ADMIN, "管理员", None, None, None),
    ("agent", Role.RESIDENT, "赵六", "440105199506124319", "13600136000", None),  # mandated by the demo enterprise
]
ENTERPRISE = ("广州示例餐饮有限公司", "91440106MA5CN8QX19", "owner", "广州市越秀区示例街18号")


def seed_demo(session: Session, progress=None) -> dict[str, int]:
    """Create or update the demo catalogue and accounts; running it twice changes nothing the second time."""
    counts = sync_catalogue(session)
    agencies = {a.code: a for a in session.scalars(select(Agency))}
    accounts = {}
    for local, role, name, id_number, mobile, agency in ACCOUNTS:
        email = f"{local}@{DEMO_DOMAIN}"
        account = session.scalar(select(Account).where(Account.email == email))
        if account is None:
            account = Account(email=email, password_hash=hash_password(DEMO_PASSWORD))
            session.add(account)
        account.role, account.name = role, name
        account.mobile = validate_mobile(mobile) if mobile else None
        account.id_number = validate_resident_id(id_number) if id_number else None
        account.agency_id = agencies[agency].id if agency else None
        account.is_lead = local.startswith("lead.")  # each agency's lead clerk may reassign tasks
        session.flush()
        accounts[local] = account
        if progress:
            progress(1)
    name, uscc, representative, address = ENTERPRISE
    enterprise = upsert(session, Enterprise, {"uscc": validate_uscc(uscc)},
                         {"name": name, "legal_representative_id": accounts[representative].id, "address": address})
    _seed_service_pages(session, enterprise, accounts)
    return {**counts, "accounts": len(accounts)}


# The catalogue's common next steps (services.recommendations): after a licence of this type, this bundle.
NEXT_STEPS = [("business_licence", "open_restaurant")]


def _seed_service_pages(session: Session, enterprise: Enterprise, accounts: dict[str, Account]) -> None:
    """The next-step rules, and the demo agent's mandate: 赵六 may apply for the demo enterprise to open a restaurant,
    for a year (granted again only when no valid mandate is left)."""

    from services.identity.mandates import Mandate
    from services.recommendations import seed_next_steps

    seed_next_steps(session, NEXT_STEPS)
    today = clock.today()
    agent = accounts["agent"]
    if session.scalar(select(Mandate.id).where(Mandate.enterprise_id == enterprise.id, Mandate.agent_id == agent.id,
                                               Mandate.revoked_at.is_(None), Mandate.expires_on >= today)) is None:
        session.add(Mandate(enterprise_id=enterprise.id, agent_id=agent.id, agent_id_number=agent.id_number,
                            agent_name=agent.name,
                            granted_by=enterprise.legal_representative_id, all_services=False,
                            bundle_codes=["open_restaurant"],
                            expires_on=today.replace(year=today.year + 1, day=min(today.day, 28))))
        session.flush()
