"""The demo catalogue and demo accounts of DOMAIN.md, created idempotently (`flask seed-demo`)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from services.catalogue.models import (
    Agency,
    Audience,
    Bundle,
    BundleItem,
    EligibilityQuestion,
    LicenceType,
    MaterialItem,
    Matter,
)
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
    ("birth_medical_certificate", "health", "出生医学证明", "出生醫學證明", "Birth Medical Certificate", None),
    ("social_security_card", "hrss", "社会保障卡", "社會保障卡", "Social Security Card", 10),
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
     "《居住证暂行条例》", "Interim Regulation on Residence Permits", Audience.RESIDENT, 15, 10, 0, True),
    ("birth_medical_certificate", "health", "birth_medical_certificate", "出生医学证明办理", "出生醫學證明辦理",
     "Birth medical certificate", "《中华人民共和国母婴保健法》第二十三条",
     "Maternal and Infant Health Care Law of the PRC, article 23", Audience.RESIDENT, 20, 5, 0, True),
    ("newborn_household_registration", "police", None, "新生儿出生户口登记", "新生兒出生戶口登記",
     "Household registration of a newborn", "《中华人民共和国户口登记条例》第七条",
     "Regulation on Household Registration of the PRC, article 7", Audience.RESIDENT, 20, 5, 0, True),
    ("newborn_medical_insurance", "medical", None, "城乡居民医保参保登记", "城鄉居民醫保參保登記",
     "Medical insurance enrolment for urban and rural residents", "《中华人民共和国社会保险法》第二十五条",
     "Social Insurance Law of the PRC, article 25", Audience.RESIDENT, 20, 5, 0, True),
    ("social_security_card", "hrss", "social_security_card", "社会保障卡申领", "社會保障卡申領",
     "Social security card", "《中华人民共和国社会保险法》第五十八条", "Social Insurance Law of the PRC, article 58",
     Audience.RESIDENT, 20, 10, 0, True),
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

NEWBORN = {
    "code": "newborn", "workflow_key": "newborn", "audience": Audience.RESIDENT,
    "title_zh": "新生儿出生一件事", "title_zh_hant": "新生兒出生一件事", "title_en": "Register a newborn",
    "summary_zh": "一次申请，卫生健康、公安、医保、人社部门同时办理出生医学证明、户口登记、医保参保和社会保障卡，"
                  "20个工作日内办结。",
    "summary_zh_hant": "一次申請，衞生健康、公安、醫保、人社部門同時辦理出生醫學證明、戶口登記、醫保參保和社會保障卡，"
                       "20個工作日內辦結。",
    "summary_en": "One application for a baby born in Guangzhou: the birth medical certificate, household "
                  "registration, medical insurance enrolment and social security card are handled at the same time, "
                  "finished within 20 working days.",
    "joint_days": 20,
    "items": [
        ("birth_medical_certificate", "", "", ""),
        ("newborn_household_registration", "", "", ""),
        ("newborn_medical_insurance", "", "", ""),
        ("social_security_card", "", "", ""),
    ],
}

# The short check before applying, per bundle: code, question (zh, zh_hant, en), hint (zh, zh_hant, en), the answer
# that lets one apply, why another answer does not (zh, zh_hant, en), what to do instead (zh, zh_hant, en).
ELIGIBILITY = {
    "open_restaurant": [
        ("business_licence", "开办餐馆的企业是否已取得营业执照？", "開辦餐館的企業是否已取得營業執照？",
         "Does the enterprise that will run the restaurant hold a business licence?",
         "个体工商户的营业执照也可以。", "個體工商戶的營業執照也可以。",
         "A sole trader's business licence counts too.", "yes",
         "食品经营许可只发给已登记的市场主体。", "食品經營許可只發給已登記的市場主體。",
         "A food business permit is granted only to a registered enterprise.",
         "请先到市场监督管理局办理企业设立登记，取得营业执照后再来申请。",
         "請先到市場監督管理局辦理企業設立登記，取得營業執照後再來申請。",
         "Register the enterprise with the Market Supervision Administration first (enterprise registration), "
         "then apply here once it holds its business licence."),
        ("premises", "餐馆是否有自有或租赁的固定经营场所？", "餐館是否有自有或租賃的固定經營場所？",
         "Will the restaurant have fixed premises that the enterprise owns or leases?",
         "", "", "", "yes",
         "食品经营许可与固定的经营场所绑定。", "食品經營許可與固定的經營場所綁定。",
         "A food business permit is tied to fixed premises.",
         "请先取得经营场所（房产证或租赁合同）。流动摊贩向所在街道办事处登记。",
         "請先取得經營場所（房產證或租賃合同）。流動攤販向所在街道辦事處登記。",
         "Secure the premises (a property certificate or a lease) first. Mobile food stalls register with their "
         "street office instead."),
    ],
    "residence_permit": [
        ("local_hukou", "您的户籍是否在广州？", "您的戶籍是否在廣州？",
         "Is your household registration (hukou) in Guangzhou?", "", "", "", "no",
         "居住证发给户籍不在本市的居民。", "居住證發給戶籍不在本市的居民。",
         "Residence permits are for people whose household registration is elsewhere.",
         "您不需要居住证：在广州办事使用居民身份证即可。", "您不需要居住證：在廣州辦事使用居民身份證即可。",
         "You do not need a residence permit: your resident identity card is enough for services in Guangzhou."),
        ("six_months", "您在广州居住是否已满6个月？", "您在廣州居住是否已滿6個月？",
         "Have you lived in Guangzhou for six months or more?",
         "从您到派出所办理居住登记之日算起。", "從您到派出所辦理居住登記之日算起。",
         "Count from the day you registered your residence with the police.", "yes",
         "《居住证暂行条例》要求在居住地居住半年以上。", "《居住證暫行條例》要求在居住地居住半年以上。",
         "The Interim Regulation on Residence Permits requires six months' residence.",
         "如尚未办理居住登记，请先到居住地派出所登记，居住满6个月后再申请。",
         "如尚未辦理居住登記，請先到居住地派出所登記，居住滿6個月後再申請。",
         "If you have not done so, register your residence at the local police station now, and apply when you "
         "have lived here for six months."),
        ("stable_basis", "您在广州是否有合法稳定就业、合法稳定住所或连续就读？",
         "您在廣州是否有合法穩定就業、合法穩定住所或連續就讀？",
         "Do you have a stable job, a stable home or full-time study in Guangzhou?", "", "", "", "yes",
         "申领居住证须符合三项条件之一。", "申領居住證須符合三項條件之一。",
         "One of these three is a condition for a residence permit.",
         "符合其中一项条件后再申请；在此之前请保持居住登记有效。",
         "符合其中一項條件後再申請；在此之前請保持居住登記有效。",
         "Apply once one of them is true; until then, keep your residence registration up to date."),
    ],
    "newborn": [
        ("born_in_hospital", "孩子是否在广州的助产医疗机构出生？", "孩子是否在廣州的助產醫療機構出生？",
         "Was the baby born in a maternity hospital or clinic in Guangzhou?", "", "", "", "yes",
         "出生医学证明由孩子出生的助产机构签发，须有医院的出生记录。",
         "出生醫學證明由孩子出生的助產機構簽發，須有醫院的出生記錄。",
         "The birth medical certificate is issued on the hospital's record of the birth.",
         "在医疗机构外出生的，请先到区卫生健康局指定的机构办理出生医学证明，再到派出所办理户口登记。",
         "在醫療機構外出生的，請先到區衞生健康局指定的機構辦理出生醫學證明，再到派出所辦理戶口登記。",
         "For a birth outside a hospital, get the birth medical certificate from the institution the district health "
         "bureau names first, then register the baby at the police station."),
        ("parent_hukou", "父母一方的户籍是否在广州？", "父母一方的戶籍是否在廣州？",
         "Is the household registration (hukou) of the mother or the father in Guangzhou?",
         "新生儿随父或随母在户籍地登记户口。", "新生兒隨父或隨母在戶籍地登記戶口。",
         "A newborn is registered in the household of the mother or the father.", "yes",
         "新生儿户口须在父母一方的户籍地登记。", "新生兒戶口須在父母一方的戶籍地登記。",
         "A newborn's household registration is made where a parent's household is registered.",
         "请向父母户籍所在地的派出所申请新生儿入户；出生医学证明仍可在广州办理。",
         "請向父母戶籍所在地的派出所申請新生兒入戶；出生醫學證明仍可在廣州辦理。",
         "Register the baby with the police station where a parent's household is registered; the birth medical "
         "certificate can still be issued in Guangzhou."),
    ],
}

# What each bundle's application needs: code, title (zh, zh_hant, en), required, most files, the e-licence type that
# satisfies it (attached for a holder, nothing uploaded), the condition on the answers that makes it needed.
MATERIALS = {
    "open_restaurant": [
        ("business_licence", "营业执照", "營業執照", "Business licence of the enterprise", True, 2, "business_licence",
         ""),
        ("premises_proof", "经营场所证明（房产证或租赁合同）", "經營場所證明（房產證或租賃合同）",
         "Proof of premises (property certificate or lease)", True, 5, None, ""),
        ("kitchen_plan", "经营场所平面布局图（含厨房布局）", "經營場所平面佈局圖（含廚房佈局）",
         "Floor plan with the kitchen layout", True, 5, None, ""),
        ("fire_layout", "消防安全布局图", "消防安全佈局圖", "Fire-safety layout drawings", True, 5, None,
         "floor_area >= 50"),
        ("staff_health", "从业人员健康证明", "從業人員健康證明", "Staff health certificates (if staff are hired)",
         False, 10, None, ""),
        ("current_food_permit", "现有食品经营许可证（延续时）", "現有食品經營許可證（延續時）",
         "Current food business permit (when renewing)", False, 1, "food_business_permit", ""),
    ],
    "residence_permit": [
        ("id_card", "居民身份证（正反面）", "居民身份證（正反面）", "Resident identity card (both sides)",
         True, 2, None, ""),
        ("residence_proof", "居住证明（租赁合同或房产证）", "居住證明（租賃合同或房產證）",
         "Proof of residence (lease or property certificate)", True, 5, None, ""),
        ("basis_proof", "就业、经营或就读证明", "就業、經營或就讀證明", "Proof of work, business or study", True, 5,
         None, "basis != 'home'"),
        ("current_permit", "现有居住证（续签时）", "現有居住證（續簽時）", "Current residence permit (when renewing)",
         False, 1, "residence_permit", ""),
    ],
    "newborn": [
        ("birth_record", "医院出生记录（分娩记录）", "醫院出生記錄（分娩記錄）", "The hospital's record of the birth",
         True, 3, None, ""),
        ("parents_id_cards", "父母双方居民身份证（正反面）", "父母雙方居民身份證（正反面）",
         "Both parents' resident identity cards (both sides)", True, 4, None, ""),
        ("household_register", "户口簿（入户一方）", "戶口簿（入戶一方）",
         "Household register of the parent the baby joins", True, 5, None, ""),
        ("marriage_certificate", "父母的结婚证（已婚的）", "父母的結婚證（已婚的）",
         "The parents' marriage certificate (if they are married)", False, 2, None, ""),
        ("baby_photo", "孩子的证件照（社会保障卡用）", "孩子的證件照（社會保障卡用）",
         "A passport-style photo of the baby (for the social security card)", True, 1, None, ""),
    ],
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
    ("clerk.health", Role.CLERK, "许卫健", None, None, "health"),
    ("clerk.medical", Role.CLERK, "邓医保", None, None, "medical"),
    ("clerk.hrss", Role.CLERK, "萧人社", None, None, "hrss"),
    ("lead.hub", Role.CLERK, "孙组长", None, None, "hub"),
    ("lead.market", Role.CLERK, "冯组长", None, None, "market"),
    ("lead.fire", Role.CLERK, "曹组长", None, None, "fire"),
    ("lead.urban", Role.CLERK, "彭组长", None, None, "urban"),
    ("lead.env", Role.CLERK, "蒋组长", None, None, "env"),
    ("lead.police", Role.CLERK, "韩组长", None, None, "police"),
    ("lead.health", Role.CLERK, "谢组长", None, None, "health"),
    ("lead.medical", Role.CLERK, "唐组长", None, None, "medical"),
    ("lead.hrss", Role.CLERK, "董组长", None, None, "hrss"),
    ("supervisor", Role.SUPERVISOR, "郑督查", None, None, "hub"),
    ("supervisor.market", Role.SUPERVISOR, "何科长", None, None, "market"),
    ("supervisor.fire", Role.SUPERVISOR, "罗科长", None, None, "fire"),
    ("supervisor.urban", Role.SUPERVISOR, "梁科长", None, None, "urban"),
    ("supervisor.env", Role.SUPERVISOR, "宋科长", None, None, "env"),
    ("supervisor.police", Role.SUPERVISOR, "韩科长", None, None, "police"),
    ("supervisor.health", Role.SUPERVISOR, "袁科长", None, None, "health"),
    ("supervisor.medical", Role.SUPERVISOR, "潘科长", None, None, "medical"),
    ("supervisor.hrss", Role.SUPERVISOR, "杜科长", None, None, "hrss"),
    ("admin", Role.ADMIN, "管理员", None, None, None),
    ("agent", Role.RESIDENT, "赵六", "440105199506124319", "13600136000", None),  # mandated by the demo enterprise
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


def _seed_applying(session: Session, bundle: Bundle, types: dict[str, LicenceType]) -> None:
    """The bundle's eligibility questions and material items."""
    for position, (code, q_zh, q_hant, q_en, h_zh, h_hant, h_en, answer, r_zh, r_hant, r_en, a_zh, a_hant,
                   a_en) in enumerate(ELIGIBILITY.get(bundle.code, [])):
        _upsert(session, EligibilityQuestion, {"bundle_id": bundle.id, "code": code}, {
            "position": position, "question_zh": q_zh, "question_zh_hant": q_hant, "question_en": q_en,
            "hint_zh": h_zh, "hint_zh_hant": h_hant, "hint_en": h_en, "eligible_answer": answer,
            "reason_zh": r_zh, "reason_zh_hant": r_hant, "reason_en": r_en,
            "advice_zh": a_zh, "advice_zh_hant": a_hant, "advice_en": a_en})
    for position, (code, zh, hant, en, required, max_files, licence_type, when) in enumerate(
            MATERIALS.get(bundle.code, [])):
        _upsert(session, MaterialItem, {"bundle_id": bundle.id, "code": code}, {
            "position": position, "title_zh": zh, "title_zh_hant": hant, "title_en": en, "required": required,
            "max_files": max_files, "accepts_licence_type_id": types[licence_type].id if licence_type else None,
            "applies_when": when})


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
    for bundle_spec in (RESTAURANT, RESIDENCE_PERMIT, NEWBORN):
        spec = dict(bundle_spec)
        items = spec.pop("items")
        bundle = _upsert(session, Bundle, {"code": spec.pop("code")}, spec)
        for position, (matter_code, cond_zh, cond_hant, cond_en) in enumerate(items):
            _upsert(session, BundleItem, {"bundle_id": bundle.id, "matter_id": matters[matter_code].id}, {
                "position": position, "condition_zh": cond_zh, "condition_zh_hant": cond_hant,
                "condition_en": cond_en})
        _seed_applying(session, bundle, types)
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
    name, uscc, representative = ENTERPRISE
    enterprise = _upsert(session, Enterprise, {"uscc": validate_uscc(uscc)},
                         {"name": name, "legal_representative_id": accounts[representative].id})
    _seed_service_pages(session, enterprise, accounts)
    return {"agencies": len(agencies), "matters": len(matters), "accounts": len(accounts)}


# The catalogue's common next steps (services.recommendations): after a licence of this type, this bundle.
NEXT_STEPS = [("business_licence", "open_restaurant")]


def _seed_service_pages(session: Session, enterprise: Enterprise, accounts: dict[str, Account]) -> None:
    """The next-step rules, and the demo agent's mandate: 赵六 may apply for the demo enterprise to open a restaurant,
    for a year (granted again only when no valid mandate is left)."""
    import datetime as dt

    from services.identity.mandates import Mandate
    from services.recommendations import seed_next_steps

    seed_next_steps(session, NEXT_STEPS)
    today = dt.date.today()
    agent = accounts["agent"]
    if session.scalar(select(Mandate.id).where(Mandate.enterprise_id == enterprise.id, Mandate.agent_id == agent.id,
                                               Mandate.revoked_at.is_(None), Mandate.expires_on >= today)) is None:
        session.add(Mandate(enterprise_id=enterprise.id, agent_id=agent.id,
                            granted_by=enterprise.legal_representative_id, all_services=False,
                            bundle_codes=["open_restaurant"],
                            expires_on=today.replace(year=today.year + 1, day=min(today.day, 28))))
        session.flush()
