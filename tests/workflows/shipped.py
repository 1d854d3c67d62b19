"""The workflow definitions the services ship, for the engine's tests (they live with their services)."""

from __future__ import annotations

from services.catalogue.definitions import ROOT
from workflows.definitions import Registry, load_files

SHIPPED = sorted(ROOT.glob("*/workflow.v*.yaml"))
RESTAURANT = ROOT / "open_restaurant" / "workflow.v1.yaml"


def shipped_registry(**kwargs) -> Registry:
    return load_files(SHIPPED, **kwargs)
