"""The workflow definitions the services ship, for the engine's tests (they live with their services)."""

from __future__ import annotations

import yaml

from services.catalogue.definitions import ROOT
from workflows.definitions import Registry, load_files, parse_definition

SHIPPED = sorted(ROOT.glob("*/workflow.v*.yaml"))
RESTAURANT = ROOT / "open_restaurant" / "workflow.v1.yaml"


def shipped_registry(**kwargs) -> Registry:
    return load_files(SHIPPED, **kwargs)


def uniform_restaurant_registry(days: int = 20, **kwargs) -> Registry:
    """The restaurant's workflow with every agency on the same limit (the general 20 working days of art. 42(1)),
    for tests of the clocks' arithmetic that want one due date per case, whatever the matters' own limits are."""
    raw = yaml.safe_load(RESTAURANT.read_text(encoding="utf-8"))
    for node in raw["nodes"].values():
        if node.get("type") == "task" and not node.get("acceptance"):
            node["limit_days"] = days
            node.pop("extension_days", None)
    registry = Registry()
    registry.add(parse_definition(raw, RESTAURANT.name, **kwargs))
    return registry
