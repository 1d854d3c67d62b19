"""The timer sweep: fire every due timer once, each in its own transaction.

Run periodically (an rq cron job in production, `flask timers sweep` by hand). A missed sweep catches up because it
takes every timer due on or before today; a repeated sweep does nothing twice because a fired timer is marked under the
instance lock.
"""

from __future__ import annotations

import datetime as dt
import logging

from sqlalchemy import select

from workflows.engine import Engine
from workflows.models import Timer

log = logging.getLogger(__name__)


def due_timer_ids(session, today: dt.date, limit: int = 1000) -> list[int]:
    return list(session.scalars(select(Timer.id).where(Timer.fired_at.is_(None), Timer.cancelled_at.is_(None),
                                                       Timer.due_on <= today)
                                .order_by(Timer.due_on, Timer.id).limit(limit)))


def sweep(database, engine: Engine, today: dt.date, *, batch: int = 1000, progress=None) -> dict[str, int]:
    """Fire the timers due by ``today``; one failing timer is logged and retried on the next sweep."""
    fired = skipped = failed = 0
    while True:
        with database.transaction() as session:
            ids = due_timer_ids(session, today, batch)
        if not ids:
            break
        for timer_id in ids:
            try:
                with database.transaction() as session:
                    acted = engine.fire_timer(session, timer_id, today)
            except Exception:  # noqa: BLE001 - one broken case must not stop the sweep for every other case
                log.exception("timer %s failed; it stays due for the next sweep", timer_id)
                failed += 1
                continue
            fired += acted
            skipped += not acted
            if progress:
                progress(1)
        if failed or len(ids) < batch:
            break
    return {"fired": fired, "skipped": skipped, "failed": failed}
