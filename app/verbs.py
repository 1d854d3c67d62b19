"""Calling a verb whose refusal the view handles itself.

The request boundary commits whatever a request wrote when its response is below 400 (``app._finish_request``), and a
view that catches a verb's ``DomainError`` usually answers 200 or 302: it shows the refusal, or redirects with a
flash. A verb that had already flushed rows before it refused (an outbox row, a material, an event) would then be
committed half done. So such views call the verb inside :func:`attempt`::

    try:
        with attempt(session):
            claim_task(session, clerk, task_id)
    except InvalidTransition:
        flash(...)

The verb runs in a savepoint: when it raises, its writes are rolled back to it and the error goes on to the view;
what the request did before (an access record, say) stays. A verb that succeeds is released into the request's
transaction, which the boundary commits once, as before. Savepoints work on SQLite too: services/db.py turns pysqlite's
own transaction handling off.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy.orm import Session

from services.jobs import outbox


@contextmanager
def attempt(session: Session) -> Iterator[None]:
    """Run the block in a savepoint of ``session``; if it raises, undo its writes (and forget the outbox jobs it
    recorded) and re-raise."""
    pending = outbox.pending_count(session)
    savepoint = session.begin_nested()
    try:
        yield
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        outbox.forget_pending(session, keep=pending)
        raise
    if savepoint.is_active:
        savepoint.commit()
