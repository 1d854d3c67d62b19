"""`flask gen-data`: realistic volumes for the benchmarks."""

from __future__ import annotations


def register_data_commands(app) -> None:
    """Registered by app.cli.register_commands."""
