"""`flask licence ...`: administrators' commands for e-licences."""

from __future__ import annotations


def register_licence_commands(app) -> None:
    """Registered by app.cli.register_commands."""
