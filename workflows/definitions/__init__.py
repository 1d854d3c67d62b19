"""Approval process definitions: YAML data, validated when loaded, versioned by (key, version). The definitions
themselves live with the services that run them (services/catalogue/definitions/<service>/workflow.vN.yaml).

A definition that does not make sense fails at load time with an error naming the file and the node, never halfway
through somebody's case.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from workflows.conditions import Condition, ConditionError, parse_condition

NODE_TYPES = {"task", "split", "join", "choice", "action", "end"}
END_OUTCOMES = {"approved", "rejected", "withdrawn"}
ROLES = {"clerk", "lead"}


class DefinitionError(ValueError):
    def __init__(self, source: str, node: str | None, message: str):
        self.source, self.node = source, node
        where = f"{source}, node {node!r}" if node else source
        super().__init__(f"{where}: {message}")


@dataclass(frozen=True)
class Node:
    id: str
    type: str
    next: str | None = None
    agency: str | None = None
    role: str | None = None
    limit_days: int | None = None
    # The working days a supervisor's extension adds (art. 42(1): 10, unless the law setting the limit says
    # otherwise); None means the general 10, 0 that no extension is allowed.
    extension_days: int | None = None
    matter: str | None = None
    acceptance: bool = False
    when: Condition | None = None
    branches: tuple[str, ...] = ()
    join: str | None = None
    action: str | None = None
    outcome: str | None = None
    cases: tuple[tuple[Condition, str], ...] = ()  # a choice's (condition, next) pairs, tried in order
    default: str | None = None  # a choice's next node when no condition holds


@dataclass
class Definition:
    key: str
    version: int
    start: str
    joint_limit_days: int
    nodes: dict[str, Node]
    source: str = ""
    split_of_join: dict[str, str] = field(default_factory=dict)

    def node(self, node_id: str) -> Node:
        return self.nodes[node_id]

    @property
    def agencies(self) -> set[str]:
        return {n.agency for n in self.nodes.values() if n.agency}


def _node_from(source: str, node_id: str, raw: dict) -> Node:
    if not isinstance(raw, dict):
        raise DefinitionError(source, node_id, "a node must be a mapping")
    kind = raw.get("type")
    if kind not in NODE_TYPES:
        raise DefinitionError(source, node_id, f"unknown node type {kind!r} (known: {', '.join(sorted(NODE_TYPES))})")
    known = {"type", "next", "agency", "role", "limit_days", "extension_days", "matter", "acceptance", "when",
             "branches", "join", "action", "outcome", "cases", "default"}
    unknown = set(raw) - known
    if unknown:
        raise DefinitionError(source, node_id, f"unknown attribute(s) {', '.join(sorted(unknown))}")
    when = None
    if raw.get("when") is not None:
        try:
            when = parse_condition(raw["when"])
        except ConditionError as exc:
            raise DefinitionError(source, node_id, f"condition does not parse: {exc}") from None
    cases = []
    for position, case in enumerate(raw.get("cases") or ()):
        if not isinstance(case, dict) or "when" not in case or "next" not in case:
            raise DefinitionError(source, node_id, f"case {position + 1} needs 'when' and 'next'")
        try:
            cases.append((parse_condition(case["when"]), str(case["next"])))
        except ConditionError as exc:
            raise DefinitionError(source, node_id, f"condition of case {position + 1} does not parse: {exc}") from None
    limit = raw.get("limit_days")
    if limit is not None and (not isinstance(limit, int) or limit <= 0):
        raise DefinitionError(source, node_id, "limit_days must be a positive whole number of working days")
    extension = raw.get("extension_days")
    if extension is not None and (not isinstance(extension, int) or isinstance(extension, bool) or extension < 0):
        raise DefinitionError(source, node_id, "extension_days must be a whole number of working days, 0 or more")
    return Node(
        id=node_id, type=kind, next=raw.get("next"), agency=raw.get("agency"), role=raw.get("role"),
        limit_days=limit, extension_days=extension, matter=raw.get("matter"),
        acceptance=bool(raw.get("acceptance", False)), when=when,
        branches=tuple(raw.get("branches") or ()), join=raw.get("join"), action=raw.get("action"),
        outcome=raw.get("outcome"), cases=tuple(cases), default=raw.get("default"),
    )


def _check_node(source: str, node: Node, nodes: dict[str, Node], agencies: set[str] | None, actions: set[str] | None):
    def ref(target, what):
        if target not in nodes:
            raise DefinitionError(source, node.id, f"{what} points at unknown node {target!r}")

    if node.type not in ("end", "split", "choice"):
        if not node.next:
            raise DefinitionError(source, node.id, "missing 'next'")
        ref(node.next, "next")
    if node.type == "task":
        if not node.agency or not node.role or not node.limit_days:
            raise DefinitionError(source, node.id, "a task needs agency, role and limit_days")
        if agencies is not None and node.agency not in agencies:
            raise DefinitionError(source, node.id, f"agency {node.agency!r} does not exist")
        if node.role not in ROLES:
            raise DefinitionError(source, node.id, f"role {node.role!r} does not exist")
    elif node.type == "split":
        if not node.branches:
            raise DefinitionError(source, node.id, "a split needs branches")
        if not node.join:
            raise DefinitionError(source, node.id, "split without its join")
        ref(node.join, "join")
        if nodes[node.join].type != "join":
            raise DefinitionError(source, node.id, f"{node.join!r} is not a join")
        for branch in node.branches:
            ref(branch, "branch")
            target = nodes[branch]
            if target.type != "task" or target.next != node.join:
                raise DefinitionError(source, branch,
                                      f"a branch of {node.id!r} must be a task leading to {node.join!r}")
    elif node.type == "choice":
        if not node.cases or not node.default:
            raise DefinitionError(source, node.id, "a choice needs 'cases' and a 'default'")
    elif node.type == "action":
        if not node.action:
            raise DefinitionError(source, node.id, "an action node needs 'action'")
        if actions is not None and node.action not in actions:
            raise DefinitionError(source, node.id, f"action {node.action!r} is not registered")
    elif node.type == "end" and node.outcome not in END_OUTCOMES:
        raise DefinitionError(source, node.id, f"end outcome must be one of {', '.join(sorted(END_OUTCOMES))}")


def parse_definition(raw: dict, source: str, *, agencies: set[str] | None = None,
                     actions: set[str] | None = None) -> Definition:
    """Build and validate a definition from parsed YAML."""
    if not isinstance(raw, dict):
        raise DefinitionError(source, None, "the file must hold a mapping")
    for attr in ("key", "version", "start", "nodes"):
        if attr not in raw:
            raise DefinitionError(source, None, f"missing {attr!r}")
    if not isinstance(raw["nodes"], dict) or not raw["nodes"]:
        raise DefinitionError(source, None, "'nodes' must be a non-empty mapping")
    nodes = {str(nid): _node_from(source, str(nid), spec) for nid, spec in raw["nodes"].items()}
    if raw["start"] not in nodes:
        raise DefinitionError(source, None, f"start node {raw['start']!r} does not exist")
    for node in nodes.values():  # dangling references first: they explain most other errors
        for target in (node.next, node.join, node.default, *node.branches, *(nxt for _c, nxt in node.cases)):
            if target and target not in nodes:
                raise DefinitionError(source, node.id, f"points at unknown node {target!r}")
    for node in nodes.values():
        _check_node(source, node, nodes, agencies, actions)
    split_of_join = {}
    for node in nodes.values():
        if node.type == "split":
            if node.join in split_of_join:
                raise DefinitionError(source, node.id, f"join {node.join!r} already closes another split")
            split_of_join[node.join] = node.id
    for node in nodes.values():
        if node.type == "join" and node.id not in split_of_join:
            raise DefinitionError(source, node.id, "join without a split")
    reachable, todo = set(), [raw["start"]]
    while todo:
        current = todo.pop()
        if current in reachable:
            continue
        reachable.add(current)
        node = nodes[current]
        todo.extend([n for n in (node.next, node.join, node.default) if n] + list(node.branches)
                    + [nxt for _cond, nxt in node.cases])
    unreachable = sorted(set(nodes) - reachable)
    if unreachable:
        raise DefinitionError(source, unreachable[0], "unreachable from the start node")
    return Definition(key=str(raw["key"]), version=int(raw["version"]), start=raw["start"],
                      joint_limit_days=int(raw.get("joint_limit_days", 45)), nodes=nodes, source=source,
                      split_of_join=split_of_join)


class Registry:
    """All definitions by (key, version). Running cases keep their version; new cases take the latest."""

    def __init__(self, definitions: Iterable[Definition] = ()):
        self._by_key: dict[str, dict[int, Definition]] = {}
        for definition in definitions:
            self.add(definition)

    def add(self, definition: Definition) -> None:
        versions = self._by_key.setdefault(definition.key, {})
        if definition.version in versions:
            raise DefinitionError(definition.source, None,
                                  f"{definition.key} version {definition.version} is defined twice")
        versions[definition.version] = definition

    def get(self, key: str, version: int | None = None) -> Definition:
        versions = self._by_key.get(key)
        if not versions:
            raise KeyError(f"no workflow definition {key!r}")
        return versions[max(versions) if version is None else version]

    def keys(self) -> list[str]:
        return sorted(self._by_key)


def load_files(paths: Iterable[Path], *, agencies: set[str] | None = None,
               actions: set[str] | None = None) -> Registry:
    """Load and validate the definitions in ``paths`` (the services' ``workflow.vN.yaml`` files, or test data)."""
    registry = Registry()
    for path in paths:
        try:
            raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        except yaml.YAMLError as exc:
            raise DefinitionError(path.name, None, f"not valid YAML: {exc}") from None
        registry.add(parse_definition(raw, path.name, agencies=agencies, actions=actions))
    return registry


def load_directory(directory: Path, *, agencies: set[str] | None = None,
                   actions: set[str] | None = None) -> Registry:
    """Load and validate every ``*.yaml`` definition in ``directory``."""
    return load_files(sorted(directory.glob("*.yaml")), agencies=agencies, actions=actions)
