"""Cross-checks of a loaded service against the shared catalogue, its own journey and its workflow.

What the parser cannot see one key at a time: a matter of an unknown agency, a licence type nobody defines, a
``when:`` naming no journey field, a licence field reading an answer that does not exist, an agency with a task but
no clerk view. Each is a ServiceDefinitionError naming the file and the place, raised before anything runs.
"""

from __future__ import annotations

import re

from services.catalogue.definitions.model import AgencySpec, LicenceTypeSpec, Service
from services.catalogue.definitions.parsing import ServiceDefinitionError
from workflows.definitions import Definition

# Where a licence line may take its value from, besides the journey's answers.
LICENCE_SOURCES = ("applicant.name", "enterprise.name", "enterprise.uscc", "case.reference")
MASKABLE = ("resident_id", "mobile")
_PLACEHOLDER = re.compile(r"{([a-z_][a-z0-9_]*)}")


def _fail(source: str, place: str, message: str):
    raise ServiceDefinitionError(source, place, message)


def check_service(service: Service, source: str, agencies: dict[str, AgencySpec],
                  licence_types: dict[str, LicenceTypeSpec], workflows: list[Definition]) -> None:
    """Raise ServiceDefinitionError for the first thing in ``service`` that does not hold together."""
    if service.code != service.folder.name:
        _fail(source, "code", f"{service.code!r} differs from its folder's name {service.folder.name!r}")
    _check_matters(service, source, agencies, licence_types)
    fields = _check_journey(service, source)
    _check_materials(service, source, fields, licence_types)
    latest = _check_workflows(service, source, fields, workflows)
    _check_clerks(service, source, fields, latest)
    _check_licences(service, source, fields)
    if service.registers_enterprise is not None:
        reg = service.registers_enterprise
        for key in ("name", "address"):
            if getattr(reg, key) not in fields:
                _fail(source, f"registers_enterprise › {key}", f"names no journey field ({getattr(reg, key)!r})")
    actions = {n.action for definition in workflows for n in definition.nodes.values() if n.type == "action"}
    if ("register_enterprise" in actions) != (service.registers_enterprise is not None):
        _fail(source, "registers_enterprise", "the workflow's register_enterprise action and this section go "
                                              "together: give both or neither")


def _check_matters(service: Service, source: str, agencies, licence_types) -> None:
    seen = set()
    for i, matter in enumerate(service.matters):
        place = f"matters[{i + 1}] ({matter.code})"
        if matter.code in seen:
            _fail(source, place, "this matter is listed twice")
        seen.add(matter.code)
        if matter.agency not in agencies:
            _fail(source, f"{place} › agency", f"unknown agency {matter.agency!r}")
        if matter.licence_type is not None:
            licence_type = licence_types.get(matter.licence_type)
            if licence_type is None:
                _fail(source, f"{place} › licence_type", f"unknown licence type {matter.licence_type!r}")
            if licence_type.agency != matter.agency:
                _fail(source, f"{place} › licence_type", f"{matter.licence_type!r} is issued by "
                                                           f"{licence_type.agency!r}, not by {matter.agency!r}")


def _check_journey(service: Service, source: str) -> dict:
    slugs, fields = set(), {}
    enterprise_pages = 0
    for section in service.journey:
        for page in section.pages:
            place = f"journey › {section.slug} › {page.slug}"
            if page.slug in slugs:
                _fail(source, place, "two pages have this slug")
            slugs.add(page.slug)
            enterprise_pages += page.kind == "enterprise"
            for field in page.fields:
                if field.name in fields:
                    _fail(source, f"{place} › {field.name}", "two fields have this name")
                fields[field.name] = field
            if page.check is not None and not callable(getattr(service.hooks, page.check, None)):
                _fail(source, f"{place} › check", f"no function {page.check!r} in {service.code}/hooks.py")
    for section in service.journey:
        for page in section.pages:
            place = f"journey › {section.slug} › {page.slug}"
            _names_fields(source, f"{place} › when", page.when, fields)
            for field in page.fields:
                _names_fields(source, f"{place} › {field.name} › required_when", field.required_when, fields)
                if field.differs_from is not None and field.differs_from not in fields:
                    _fail(source, f"{place} › {field.name} › differs_from",
                          f"names no journey field ({field.differs_from!r})")
    wants = 1 if service.audience == "enterprise" else 0
    if enterprise_pages != wants:
        _fail(source, "journey", "an enterprise service has one page of kind: enterprise (the applying enterprise), "
                                 "and only an enterprise service has one")
    return fields


def _names_fields(source: str, place: str, condition, fields: dict) -> None:
    if condition is None:
        return
    unknown = sorted(condition.fields - set(fields))
    if unknown:
        _fail(source, place, f"names no journey field: {', '.join(unknown)}")


def _check_materials(service: Service, source: str, fields: dict, licence_types) -> None:
    seen = set()
    for i, item in enumerate(service.materials):
        place = f"materials[{i + 1}] ({item.code})"
        if item.code in seen:
            _fail(source, place, "two materials have this code")
        seen.add(item.code)
        if item.accepts_licence is not None and item.accepts_licence not in licence_types:
            _fail(source, f"{place} › accepts_licence", f"unknown licence type {item.accepts_licence!r}")
        _names_fields(source, f"{place} › when", item.when, fields)


JOINT_LIMIT_CEILING = 45  # art. 42(2) of the Administrative Licensing Law: a joint approval within 45 working days


def _check_time_limits(service: Service, definition: Definition) -> None:
    """The catalogue, the definition and the clock agree (issue 19, point 9): the task handling a matter runs the
    matter's time limit and extension, which the catalogue states with their legal basis; a joint limit within the
    45 working days of art. 42(2) and no shorter than a branch's own limit."""
    by_code = {m.code: m for m in service.matters}
    longest = 0
    for node in definition.nodes.values():
        matter = by_code.get(node.matter) if node.type == "task" else None
        if matter is None:
            continue
        place = f"node {node.id!r}"
        if node.limit_days != matter.statutory_days:
            _fail(definition.source, f"{place} › limit_days",
                  f"{node.limit_days} working days, but the catalogue gives {matter.code} {matter.statutory_days} "
                  f"({matter.time_limit_basis.en})")
        extension = 10 if node.extension_days is None else node.extension_days
        if extension != matter.extension_days:
            _fail(definition.source, f"{place} › extension_days",
                  f"{extension} working days, but the catalogue gives {matter.code} {matter.extension_days} "
                  f"({matter.time_limit_basis.en})")
        longest = max(longest, node.limit_days)
    if definition.joint_limit_days > JOINT_LIMIT_CEILING:
        _fail(definition.source, "joint_limit_days", f"more than the {JOINT_LIMIT_CEILING} working days of art. 42(2)")
    if definition.joint_limit_days < longest:
        _fail(definition.source, "joint_limit_days", f"shorter than a branch's own limit ({longest} working days)")


def _check_workflows(service: Service, source: str, fields: dict, workflows: list[Definition]) -> Definition:
    if not workflows:
        _fail(source, "workflow", f"no workflow.v*.yaml in {service.code}/")
    for definition in workflows:
        if definition.key != service.workflow:
            _fail(definition.source, "key", f"{definition.key!r} is not this service's workflow "
                                            f"({service.workflow!r})")
    latest = max(workflows, key=lambda d: d.version)
    matters = {m.code for m in service.matters}
    _check_time_limits(service, latest)
    for definition in workflows:
        for node in definition.nodes.values():
            place = f"node {node.id!r}"
            if node.type == "task" and node.matter is not None and node.matter not in matters:
                _fail(definition.source, f"{place} › matter", f"{node.matter!r} is not a matter of {service.code}")
            if node.when is not None:
                unknown = sorted(node.when.fields - set(fields))
                if unknown:
                    _fail(definition.source, f"{place} › when", f"names no journey field: {', '.join(unknown)}")
            for condition, _next in node.cases:
                unknown = sorted(condition.fields - set(fields))
                if unknown:
                    _fail(definition.source, f"{place} › cases", f"names no journey field: {', '.join(unknown)}")
    handled = {n.matter for n in latest.nodes.values() if n.matter}
    for matter in service.matters:
        if matter.code not in handled:
            _fail(source, f"matters › {matter.code}", f"no task of {latest.source} handles this matter")
    return latest


def _check_clerks(service: Service, source: str, fields: dict, workflow: Definition) -> None:
    working = {n.agency for n in workflow.nodes.values() if n.type == "task"}
    for agency, shown in service.clerks.items():
        if agency not in working:
            _fail(source, f"clerks › {agency}", f"{agency!r} has no task in {workflow.source}")
        for entry in shown:
            field = fields.get(entry.field)
            if field is None:
                _fail(source, f"clerks › {agency} › {entry.field}", "names no journey field")
            if entry.show == "masked" and field.type not in MASKABLE:
                _fail(source, f"clerks › {agency} › {entry.field}", "only identity and mobile numbers are masked")
    for agency in sorted(working - set(service.clerks)):
        _fail(source, "clerks", f"agency {agency!r} has a task but no list of the answers its clerks see")
    codes = {m.code for m in service.materials}
    for agency, visible in service.clerk_materials.items():
        for code in visible or ():
            if code not in codes:
                _fail(source, f"clerks › {agency} › materials › {code}", "names no material of this service")


def _check_licences(service: Service, source: str, fields: dict) -> None:
    granted = {m.licence_type for m in service.matters if m.licence_type}
    for type_code in sorted(granted - set(service.licences)):
        _fail(source, "licences", f"licence type {type_code!r} is granted but has no content (holder, fields)")
    for type_code, spec in service.licences.items():
        place = f"licences › {type_code}"
        if type_code not in granted:
            _fail(source, place, "no matter of this service grants this licence type")
        holder = spec.holder
        if holder.kind == "enterprise" and service.audience != "enterprise" and service.registers_enterprise is None:
            _fail(source, f"{place} › holder", "only an enterprise service, or one that registers an enterprise, has "
                                               "an enterprise holder")
        for key in ("name", "identifier"):
            name = getattr(holder, key)
            if name is not None and name not in fields:
                _fail(source, f"{place} › holder › {key}", f"names no journey field ({name!r})")
        if holder.identifier is not None and fields[holder.identifier].type != "resident_id":
            _fail(source, f"{place} › holder › identifier", "must be a resident identity number field")
        for line in spec.fields:
            if line.source not in fields and line.source not in LICENCE_SOURCES:
                _fail(source, f"{place} › fields › {line.source}",
                      f"names no journey field (nor one of {', '.join(LICENCE_SOURCES)})")
            if line.show == "masked" and (line.source not in fields or fields[line.source].type not in MASKABLE):
                _fail(source, f"{place} › fields › {line.source}", "only identity and mobile numbers are masked")
        if spec.scope is not None:
            for text in (spec.scope.zh, spec.scope.zh_hant, spec.scope.en):
                for name in _PLACEHOLDER.findall(text):
                    if name not in fields:
                        _fail(source, f"{place} › scope", f"{{{name}}} names no journey field")
        for name in spec.unique_by:
            if name not in fields:
                _fail(source, f"{place} › unique_by", f"names no journey field ({name!r})")
