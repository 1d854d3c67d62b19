"""The services the hub offers, each defined once in a folder of its own, and the agencies and licence types they use.

Layout (everything under this package's directory)::

    agencies.yaml              every agency: code, name in three languages, lead window, USCC
    licence_types.yaml         every licence type: code, issuing agency, name, validity
    <service>/service.yaml     the catalogue entry, eligibility, journey, materials, clerks' views, licences' content
    <service>/workflow.vN.yaml the approval process (workflows.definitions), one file per version
    <service>/hooks.py         optional: checks that data cannot express, named by the journey (``check:``)

:func:`load_catalogue` reads and checks all of it; a broken definition fails with the file and the place named
(``flask services check`` runs it, and so does every process when it starts). :func:`catalogue` is the loaded
catalogue of this process. The database's catalogue tables are a projection written by ``sync`` (``flask seed-demo``
and ``flask services sync``), so that queries can join them.
"""

from __future__ import annotations

import importlib.util
import sys
from functools import lru_cache
from pathlib import Path

from services.catalogue.definitions.checks import check_service
from services.catalogue.definitions.model import Catalogue, Service, Texts
from services.catalogue.definitions.parsing import (
    Reader,
    ServiceDefinitionError,
    parse_agencies,
    parse_licence_types,
    parse_service_parts,
    read_yaml,
)
from workflows.definitions import DefinitionError, parse_definition

ROOT = Path(__file__).resolve().parent
# The automatic steps a workflow may name (type: action); services.applications.actions carries them out.
ACTIONS = frozenset({"issue_licences", "register_enterprise"})

__all__ = ["ACTIONS", "ROOT", "Catalogue", "Service", "ServiceDefinitionError", "Texts", "catalogue",
           "load_catalogue", "service"]


def load_catalogue(root: Path = ROOT, *, actions=ACTIONS) -> Catalogue:
    """Read and check every definition under ``root``; ServiceDefinitionError at the first mistake."""
    agencies = parse_agencies(*read_yaml(root / "agencies.yaml", root))
    source, raw = read_yaml(root / "licence_types.yaml", root)
    licence_types = parse_licence_types(source, raw)
    for code, licence_type in licence_types.items():
        if licence_type.agency not in agencies:
            raise ServiceDefinitionError(source, f"licence_types › {code} › agency",
                                         f"unknown agency {licence_type.agency!r}")
    services, workflows, matter_owner = {}, [], {}
    for folder in sorted(p for p in root.iterdir() if (p / "service.yaml").is_file()):
        service, definitions = _load_service(root, folder, agencies, licence_types, actions)
        for matter in service.matters:
            if matter.code in matter_owner:
                raise ServiceDefinitionError(f"{folder.name}/service.yaml", f"matters › {matter.code}",
                                             f"already a matter of {matter_owner[matter.code]}")
            matter_owner[matter.code] = service.code
        if any(d.key == service.workflow for d in workflows):
            raise ServiceDefinitionError(f"{folder.name}/service.yaml", "workflow",
                                         f"{service.workflow!r} is already another service's workflow")
        services[service.code] = service
        workflows += definitions
    if not services:
        raise ServiceDefinitionError(str(root), None, "no service folder (with a service.yaml) found")
    for service in services.values():
        for question in service.eligibility:
            if question.see_also is not None and question.see_also not in services:
                raise ServiceDefinitionError(f"{service.code}/service.yaml",
                                             f"eligibility › {question.code} › see_also",
                                             f"no service {question.see_also!r}")
    return Catalogue(agencies=agencies, licence_types=licence_types, services=services, workflows=workflows)


def _load_service(root: Path, folder: Path, agencies, licence_types, actions) -> tuple[Service, list]:
    source, raw = read_yaml(folder / "service.yaml", root)
    parts = parse_service_parts(Reader(source, raw))
    definitions = []
    for path in sorted(folder.glob("workflow.v*.yaml")):
        wf_source, wf_raw = read_yaml(path, root)
        try:
            definitions.append(parse_definition(wf_raw, wf_source, agencies=set(agencies), actions=set(actions)))
        except DefinitionError as exc:
            raise ServiceDefinitionError(exc.source, f"node {exc.node!r}" if exc.node else None,
                                         str(exc).split(": ", 1)[-1]) from None
    service = Service(folder=folder, hooks=_hooks(folder), **parts)
    check_service(service, source, agencies, licence_types, definitions)
    return service, definitions


def _hooks(folder: Path):
    """The folder's hooks.py as a module of its own (service folders are data, not packages)."""
    path = folder / "hooks.py"
    if not path.is_file():
        return None
    name = f"onewindow_service_hooks.{folder.name}"
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


@lru_cache(maxsize=1)
def catalogue() -> Catalogue:
    """This process's catalogue, loaded and checked once."""
    return load_catalogue()


def service(code: str) -> Service:
    """The definition of service ``code`` (KeyError for a code the catalogue does not have)."""
    return catalogue().service(code)
