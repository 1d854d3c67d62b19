"""The process-wide handles that jobs need: the database and settings of the app that started the process.

``create_app`` registers them; an rq worker process gets them by creating the app once. Services that run inside a
request receive their ``Session`` as an argument instead and never look here.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from services.db import Database


@dataclass
class Runtime:
    db: Database
    settings: dict[str, Any] = field(default_factory=dict)


_current: Runtime | None = None


def configure(db: Database, settings: dict[str, Any]) -> Runtime:
    global _current
    _current = Runtime(db=db, settings=dict(settings))
    return _current


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("OneWindow runtime not configured: create the app first (app.create_app)")
    return _current
