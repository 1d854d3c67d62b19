"""The demo catalogue and demo accounts of DOMAIN.md, created idempotently (`flask seed-demo`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.catalogue.models import Agency, Audience, Bundle, BundleItem, LicenceType, Matter
from services.identity.identifiers import validate_mobile, validate_resident_id, validate_uscc
from services.identity.models import Account, Enterprise, Role
from services.identity.service import hash_password

DEMO_PASSWORD = "OneWindow-demo-2026"
DEMO_DOMAIN = "demo.onewindow.test"

# code, simplified, traditional, English, lead window
AGENCIES = [
    ("hub", "政务服务数据管理局", "政務服務數據管理局", "Government Service and Data Management Bureau", True),
    ("market", "市场监督管理局", "市場監督管理局", "Market Supervision Administration", False),
    ("fire", "消防救援支队", "消防救援支隊", "Fire and Rescue Detachment", False),
    ("urban", "城市管理和综合执法局", "城市管理和綜合執法局", "Urban Management and Law Enforcement Bureau", False),
    ("env", "生态环境局", "生態環境局", "Ecology and Environment Bureau", False),
    ("police", "公安局", "公安局", "Public Security Bureau", False),
    ("health", "卫生健康委员会", "衞生健康委員會", "Health Commission", False),
    ("medical", "医疗保障局", "醫療保障局", "Medical Security Bureau", False),
    ("hrss", "人力资源和社会保障局", "人力資源和社會保障局", "Human Resources and Social Security Bureau", False),
]

# code, agency, simplified, traditional, English, validity in years
LICENCE_TYPES = [
    ("business_licence", "market", "营业执照", "營業執照", "Business Licence", None),
    ("food_business_permit", "market", "食品经营许可证", "食品經營許可證", "Food Business Permit", 5),
    ("fire_safety_certificate", "fire", "公众聚集场所投入使用、营业前消防安全检查合格证",
     "公眾聚集場所投入使用、營業前消防安全檢查合格證",
     "Fire Safety Inspection Certificate for Public Gathering Places", None),
    ("signboard_permit", "urban", "户外招牌设置许可证", "戶外招牌設置許可證", "Outdoor Signboard Permit", 3),
    ("residence_permit", "police", "居住证", "居住證", "Residence Permit", 1),
]

# code, agency, licence type, zh, zh_hant, en, basis zh, basis en, audience, statutory days, promised, fee, online
MATTERS = [
    ("enterprise_registration", "market", "business_licence", "企业设立登记", "企業設立登記", "Enterprise registration",
     "《中华人民共和国市场主体登记管理条例》", "Regulation on the Registration of Market Entities",
     Audience.ENTERPRISE, 20, 3, 0, True),
    ("food_business_permit", "market", "food_business_permit", "食品经营许可", "食品經營許可", "Food business permit",
     "《中华人民共和国食品安全法》第三十五条", "Food Safety Law of the PRC, article 35",
     Audience.ENTERPRISE, 20, 10, 0, True),
    ("fire_safety_inspection", "fire", "fire_safety_certificate", "公众聚集场所投入使用、营业前消防安全检查",
     "公眾聚集場所投入使用、營業前消防安全檢查", "Fire safety inspection before opening a public gathering place",
     "《中华人民共和国消防法》第十五条", "Fire Protection Law of the PRC, article 15",
     Audience.ENTERPRISE, 20, 10, 0, True),
    ("outdoor_signboard", "urban", "signboard_permit", "户外招牌设置许可", "戶外招牌設置許可",
     "Outdoor signboard permit", "《城市市容和环境卫生管理条例》", "Regulation on City Appearance and Sanitation",
     Audience.ENTERPRISE, 20, 7, 0, True),
    ("environmental_registration", "env", None, "建设项目环境影响登记表备案", "建設項目環境影響登記表備案",
     "Environmental impact registration", "《中华人民共和国环境影响评价法》",
     "Environmental Impact Assessment Law of the PRC", Audience.ENTERPRISE, 20, 5, 0, True),
    ("residence_permit", "police", "residence_permit", "居住证办理", "居住證辦理", "Residence permit",
     "《居住证暂行条例》", "Interim Regulation on Residence Permits", Audience.RESIDENT, 15, 10, 0, False),
]

RESTAURANT = {
    "code": "open_restaurant", "workflow_key": "open_restaurant", "audience": Audience.ENTERPRISE,
    "title_zh": "开办餐馆一件事", "title_zh_hant": "開辦餐館一件事", "title_en": "Open a restaurant",
    "summary_zh": "一次申请，市场监管、消防、城管、生态环境部门同时办理，45个工作日内办结。",
    "summary_zh_hant": "一次申請，市場監管、消防、城管、生態環境部門同時辦理，45個工作日內辦結。",
    "summary_en": "One application; market supervision, fire and rescue, urban management and environment review it "
                  "at the same time, finished within 45 working days.",
    "items": [
        ("food_business_permit", "", "", ""),
        ("fire_safety_inspection", "营业面积50平方米及以上", "營業面積50平方米及以上", "floor area of 50 m² or more"),
        ("outdoor_signboard", "设置户外招牌", "設置戶外招牌", "when a signboard is put up"),
        ("environmental_registration", "", "", ""),
    ],
}

RESIDENCE_PERMIT = {
    "code": "residence_permit", "workflow_key": "residence_permit", "audience": Audience.RESIDENT,
    "title_zh": "办理居住证", "title_zh_hant": "辦理居住證", "title_en": "Apply for a residence permit",
    "summary_zh": "在广州居住半年以上的非户籍居民申领居住证，公安机关15个工作日内办结。",
    "summary_zh_hant": "在廣州居住半年以上的非戶籍居民申領居住證，公安機關15個工作日內辦結。",
    "summary_en": "For residents without a Guangzhou household registration who have lived here for six months or "
                  "more; the police decide within 15 working days.",
    "joint_days": 15,
    "items": [("residence_permit", "", "", "")],
}

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
    ("supervisor", Role.SUPERVISOR, "郑督查", None, None, "hub"),
    ("supervisor.market", Role.SUPERVISOR, "何科长", None, None, "market"),
    ("supervisor.fire", Role.SUPERVISOR, "罗科长", None, None, "fire"),
    ("supervisor.urban", Role.SUPERVISOR, "梁科长", None, None, "urban"),
    ("supervisor.env", Role.SUPERVISOR, "宋科长", None, None, "env"),
    ("admin", Role.ADMIN, "管理员", None, None, None),
]
ENTERPRISE = ("广州示例餐饮有限公司", "91440106MA5CN8QX19", "owner")


def _upsert(session: Session, model, key: dict, values: dict):
    row = session.scalar(select(model).filter_by(**key))
    if row is None:
        row = model(**key, **values)
        session.add(row)
    else:
        for name, value in values.items():
            setattr(row, name, value)
    session.flush()
    return row


def seed_demo(session: Session, progress=None) -> dict[str, int]:
    """Create or update the demo catalogue and accounts; running it twice changes nothing the second time."""
    agencies = {}
    for code, zh, hant, en, lead in AGENCIES:
        agencies[code] = _upsert(session, Agency, {"code": code},
                                 {"name_zh": zh, "name_zh_hant": hant, "name_en": en, "is_lead_window": lead})
    types = {}
    for code, agency, zh, hant, en, years in LICENCE_TYPES:
        types[code] = _upsert(session, LicenceType, {"code": code}, {
            "agency_id": agencies[agency].id, "name_zh": zh, "name_zh_hant": hant, "name_en": en,
            "validity_years": years})
    matters = {}
    for code, agency, ltype, zh, hant, en, basis_zh, basis_en, audience, days, promised, fee, online in MATTERS:
        matters[code] = _upsert(session, Matter, {"code": code}, {
            "agency_id": agencies[agency].id, "licence_type_id": types[ltype].id if ltype else None,
            "title_zh": zh, "title_zh_hant": hant, "title_en": en, "legal_basis_zh": basis_zh,
            "legal_basis_en": basis_en, "audience": audience, "statutory_days": days, "promised_days": promised,
            "fee_yuan": fee, "fully_online": online})
    for bundle_spec in (RESTAURANT, RESIDENCE_PERMIT):
        spec = dict(bundle_spec)
        items = spec.pop("items")
        bundle = _upsert(session, Bundle, {"code": spec.pop("code")}, spec)
        for position, (matter_code, cond_zh, cond_hant, cond_en) in enumerate(items):
            _upsert(session, BundleItem, {"bundle_id": bundle.id, "matter_id": matters[matter_code].id}, {
                "position": position, "condition_zh": cond_zh, "condition_zh_hant": cond_hant,
                "condition_en": cond_en})
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
        session.flush()
        accounts[local] = account
        if progress:
            progress(1)
    name, uscc, representative = ENTERPRISE
    _upsert(session, Enterprise, {"uscc": validate_uscc(uscc)},
            {"name": name, "legal_representative_id": accounts[representative].id})
    return {"agencies": len(agencies), "matters": len(matters), "accounts": len(accounts)}
