"""Moving running cases to a new definition version.

A case keeps the version it started on. When a new version only renames or re-times the parallel branches, the cases
waiting at the join (their branches under way) can move to it, provided every branch maps one to one onto a branch of
the new version handled by the same agency. Cases that do not fit are left on their version and counted.
"""

from __future__ import annotations

from collections import Counter

from sqlalchemy import exists, select

from services.errors import InvalidTransition
from workflows.engine import Engine
from workflows.models import Branch, WorkflowInstance
from workflows.states import InstanceState


def migrate_instances(database, engine: Engine, key: str, from_version: int, to_version: int,
                      mapping: dict[str, str] | None = None, *, progress=None) -> dict:
    """Migrate every running instance of ``key`` at ``from_version`` that waits at a join; one transaction each."""
    engine.registry.get(key, to_version)  # fail early, before touching any case, if the target does not exist
    with database.transaction() as session:
        ids = list(session.scalars(select(WorkflowInstance.id).where(
            WorkflowInstance.definition_key == key, WorkflowInstance.definition_version == from_version,
            WorkflowInstance.state == InstanceState.RUNNING,
            exists().where(Branch.instance_id == WorkflowInstance.id)).order_by(WorkflowInstance.id)))
    migrated, refused = 0, Counter()
    for instance_id in ids:
        try:
            with database.transaction() as session:
                engine.migrate_to_version(session, instance_id, to_version, actor_id=None, mapping=mapping,
                                          command_id=f"migrate:{instance_id}:{from_version}:{to_version}")
            migrated += 1
        except InvalidTransition as exc:
            refused[exc.code] += 1
        if progress:
            progress(1)
    return {"candidates": len(ids), "migrated": migrated, "refused": dict(refused)}
