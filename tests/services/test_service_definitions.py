"""A service is one definition, checked before anything runs: every kind of mistake fails with the file and the
place named, and the shipped definitions pass (`flask services check`)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from services.applications.actions import ACTIONS as ACTION_VERBS
from services.catalogue.definitions import ACTIONS, ROOT, ServiceDefinitionError, load_catalogue


@pytest.fixture
def tree(tmp_path) -> Path:
    """A copy of the shipped definitions to break."""
    shutil.copytree(ROOT, tmp_path / "definitions", ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    for hooks in ROOT.glob("*/hooks.py"):
        shutil.copy(hooks, tmp_path / "definitions" / hooks.parent.name / "hooks.py")
    return tmp_path / "definitions"


def edit(path: Path, change) -> None:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    change(data)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), encoding="utf-8")


def fails(tree: Path, *fragments: str) -> str:
    with pytest.raises(ServiceDefinitionError) as caught:
        load_catalogue(tree)
    message = str(caught.value)
    for fragment in fragments:
        assert fragment in message, message
    return message


def page(data, slug):
    return next(p for s in data["journey"] for p in s["pages"] if p["page"] == slug)


def test_the_shipped_definitions_are_valid():
    loaded = load_catalogue()
    assert set(loaded.services) == {"open_restaurant", "newborn", "residence_permit", "start_business"}
    assert {d.key for d in loaded.workflows} == set(loaded.services)


def test_the_action_names_the_check_knows_are_the_verbs_that_exist():
    assert ACTIONS == set(ACTION_VERBS)


def test_a_workflow_task_naming_an_unknown_matter(tree):
    edit(tree / "open_restaurant/workflow.v1.yaml", lambda d: d["nodes"]["fire"].update(matter="fire_safty"))
    fails(tree, "open_restaurant/workflow.v1.yaml", "node 'fire'", "'fire_safty' is not a matter of open_restaurant")


def test_an_unknown_licence_type(tree):
    edit(tree / "newborn/service.yaml", lambda d: d["matters"][0].update(licence_type="birth_cert"))
    fails(tree, "newborn/service.yaml", "matters[1] (birth_medical_certificate) › licence_type",
          "unknown licence type 'birth_cert'")


def test_an_unknown_agency(tree):
    edit(tree / "start_business/service.yaml", lambda d: d["matters"][2].update(agency="taxes"))
    fails(tree, "start_business/service.yaml", "matters[3] (tax_registration) › agency", "unknown agency 'taxes'")


def test_a_when_naming_no_journey_field(tree):
    edit(tree / "open_restaurant/workflow.v1.yaml", lambda d: d["nodes"]["fire"].update(when="floorarea >= 50"))
    fails(tree, "open_restaurant/workflow.v1.yaml", "node 'fire' › when", "names no journey field: floorarea")


def test_a_licence_field_naming_no_journey_field(tree):
    edit(tree / "newborn/service.yaml",
         lambda d: d["licences"]["birth_medical_certificate"]["fields"][0].update(value="baby_sex"))
    fails(tree, "newborn/service.yaml", "licences › birth_medical_certificate › fields › baby_sex",
          "names no journey field")


def test_a_page_without_a_translation(tree):
    edit(tree / "residence_permit/service.yaml", lambda d: page(d, "moved-in")["heading"].pop("zh_hant"))
    fails(tree, "residence_permit/service.yaml", "journey[1] › you › pages[2] › moved-in › heading",
          "no translation in zh_hant")


def test_an_empty_translation(tree):
    edit(tree / "open_restaurant/service.yaml",
         lambda d: page(d, "size")["fields"][0]["label"].update(en=" "))
    fails(tree, "open_restaurant/service.yaml", "size › fields[1] › floor_area › label", "no translation in en")


def test_a_material_condition_on_a_missing_answer(tree):
    edit(tree / "open_restaurant/service.yaml", lambda d: d["materials"][3].update(when="area >= 50"))
    fails(tree, "open_restaurant/service.yaml", "materials[4] (fire_layout) › when", "names no journey field: area")


def test_an_agency_with_a_task_but_no_clerk_view(tree):
    edit(tree / "newborn/service.yaml", lambda d: d["clerks"].pop("medical"))
    fails(tree, "newborn/service.yaml", "clerks", "agency 'medical' has a task but no list of the answers")


def test_a_clerk_view_naming_no_field(tree):
    edit(tree / "start_business/service.yaml", lambda d: d["clerks"]["tax"]["answers"].append("turnover"))
    fails(tree, "start_business/service.yaml", "clerks › tax › turnover", "names no journey field")


def test_a_clerk_view_naming_no_material(tree):
    edit(tree / "newborn/service.yaml", lambda d: d["clerks"]["medical"]["materials"].append("passport"))
    fails(tree, "newborn/service.yaml", "clerks › medical › materials › passport", "names no material")


def test_a_misspelt_key_is_not_ignored(tree):
    edit(tree / "open_restaurant/service.yaml", lambda d: page(d, "signboard-details").update(whn="signboard == true"))
    fails(tree, "open_restaurant/service.yaml", "signboard-details", "unknown key(s) whn")


def test_a_granted_licence_without_content(tree):
    edit(tree / "residence_permit/service.yaml", lambda d: d.pop("licences"))
    fails(tree, "residence_permit/service.yaml", "licences",
          "licence type 'residence_permit' is granted but has no content")


def test_a_page_check_without_its_hook(tree):
    edit(tree / "newborn/service.yaml", lambda d: page(d, "parents").update(check="parents_are_married"))
    fails(tree, "newborn/service.yaml", "parents › check", "no function 'parents_are_married' in newborn/hooks.py")


def test_a_matter_no_task_handles(tree):
    edit(tree / "open_restaurant/workflow.v1.yaml", lambda d: d["nodes"]["env"].update(matter=None))
    fails(tree, "open_restaurant/service.yaml", "matters › environmental_registration", "no task of")


def test_a_field_option_unknown_to_its_type(tree):
    edit(tree / "open_restaurant/service.yaml", lambda d: page(d, "name-and-address")["fields"][0].update(min=1))
    fails(tree, "open_restaurant/service.yaml", "shop_name", "min do(es) not apply to a text field")


def test_an_enterprise_holder_for_a_personal_service(tree):
    edit(tree / "residence_permit/service.yaml",
         lambda d: d["licences"]["residence_permit"].update(holder="enterprise"))
    fails(tree, "residence_permit/service.yaml", "licences › residence_permit › holder",
          "only an enterprise service, or one that registers an enterprise")


def test_the_cli_names_the_file_and_the_place(app, tree):
    runner = app.test_cli_runner()
    good = runner.invoke(args=["services", "check"])
    assert good.exit_code == 0 and "All 4 service definitions are valid" in good.output, good.output
    assert "start_business: 8 pages" in good.output
    edit(tree / "open_restaurant/workflow.v1.yaml", lambda d: d["nodes"]["urban"].update(when="sign == true"))
    bad = runner.invoke(args=["services", "check", "--directory", str(tree)])
    assert bad.exit_code == 1
    assert "open_restaurant/workflow.v1.yaml, node 'urban' › when: names no journey field: sign" in bad.output


def test_the_catalogue_tables_are_written_from_the_definitions(app, db):
    from sqlalchemy import select

    from services.catalogue.models import Bundle, MaterialItem, Matter
    from services.catalogue.sync import sync_catalogue

    counts = sync_catalogue(db)
    assert counts == {"agencies": 11, "licence_types": 7, "matters": 14, "services": 4}
    assert sync_catalogue(db) == counts  # twice: nothing new
    bundle = db.scalar(select(Bundle).where(Bundle.code == "start_business"))
    assert bundle.joint_days == 20 and bundle.title_en == "Start a business"
    assert db.scalar(select(Matter).where(Matter.code == "tax_registration")).agency.code == "tax"
    renewal = db.scalar(select(MaterialItem).where(MaterialItem.code == "current_food_permit"))
    assert renewal.renewal_only and renewal.accepts_licence_type.code == "food_business_permit"


@pytest.mark.parametrize(("id_number", "field"), [("440106198803151235", "father_id"),
                                                  ("440104199206074560", "mother_id")])
def test_an_applicant_who_is_not_named_a_parent_is_told_at_their_own_field(id_number, field):
    """张三 (a man: odd 17th digit) typed the father's number wrongly: the message stands under the father's field,
    not under the mother's correct one."""
    from types import SimpleNamespace

    from services import clock
    from services.catalogue.answers import check_page
    from services.catalogue.definitions import catalogue
    from services.licences.demo import demo_answers

    service = catalogue().service("newborn")
    page = next(p for p in service.pages if p.check == "applicant_is_a_parent")
    answers = demo_answers("newborn", mother_id="440103199001011244", father_id="440105198001011234")
    raw = {f.name: answers.get(f.name) for f in page.fields}
    _values, errors = check_page(service, page, raw, answers=answers, account=SimpleNamespace(id_number=id_number),
                                 today=clock.today())
    assert [(e.field, e.code) for e in errors] == [(field, "not_a_parent")]


# -- time limits: the catalogue, the definition and the clock agree (issue 19, point 9) -----------------------------

def test_a_task_whose_limit_disagrees_with_its_matter_is_refused(tree):
    """The fire inspection has 10 working days (Fire Protection Law art. 15): a workflow giving it 20 is refused."""
    edit(tree / "open_restaurant/workflow.v1.yaml", lambda d: d["nodes"]["fire"].update(limit_days=20))
    fails(tree, "open_restaurant/workflow.v1.yaml", "node 'fire' › limit_days",
          "20 working days, but the catalogue gives fire_safety_inspection 10", "Fire Protection Law")


def test_a_task_whose_extension_disagrees_with_its_matter_is_refused(tree):
    edit(tree / "open_restaurant/workflow.v1.yaml", lambda d: d["nodes"]["market"].pop("extension_days"))
    fails(tree, "node 'market' › extension_days", "10 working days, but the catalogue gives food_business_permit 5")


def test_a_matter_without_the_basis_of_its_time_limit_is_refused(tree):
    edit(tree / "newborn/service.yaml", lambda d: d["matters"][0].pop("time_limit_basis"))
    fails(tree, "newborn/service.yaml", "time_limit_basis", "missing")


def test_a_joint_limit_beyond_art_42_2_or_shorter_than_a_branch_is_refused(tree):
    edit(tree / "open_restaurant/workflow.v1.yaml", lambda d: d.update(joint_limit_days=46))
    fails(tree, "joint_limit_days", "more than the 45 working days of art. 42(2)")
    edit(tree / "open_restaurant/workflow.v1.yaml", lambda d: d.update(joint_limit_days=15))
    fails(tree, "joint_limit_days", "shorter than a branch's own limit (20 working days)")


def test_every_shipped_matter_states_its_limit_and_its_basis():
    for service in load_catalogue().services.values():
        for matter in service.matters:
            assert matter.time_limit_basis is not None and matter.statutory_days >= 1, matter.code
    restaurant = load_catalogue().services["open_restaurant"]
    assert (restaurant.matter("fire_safety_inspection").statutory_days,
            restaurant.matter("fire_safety_inspection").extension_days) == (10, 0)
    assert (restaurant.matter("food_business_permit").statutory_days,
            restaurant.matter("food_business_permit").extension_days) == (10, 5)
