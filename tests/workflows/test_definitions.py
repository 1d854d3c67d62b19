"""Definitions are validated when loaded, with errors naming the file and the node."""

from __future__ import annotations

import copy

import pytest
import yaml

from services.catalogue.definitions import ACTIONS
from tests.workflows.shipped import RESTAURANT, shipped_registry
from workflows.conditions import ConditionError, parse_condition
from workflows.definitions import DefinitionError, parse_definition

AGENCIES = {"hub", "market", "fire", "urban", "env", "police", "health", "medical", "hrss", "tax", "housingfund"}
BASE = yaml.safe_load((RESTAURANT).read_text(encoding="utf-8"))


def broken(change) -> dict:
    raw = copy.deepcopy(BASE)
    change(raw)
    return raw


def test_the_shipped_definitions_load():
    registry = shipped_registry(agencies=AGENCIES, actions=ACTIONS)
    definition = registry.get("open_restaurant")
    assert definition.version == 1 and set(definition.node("fan_out").branches) == {"market", "fire", "urban", "env"}
    newborn = registry.get("newborn")
    assert set(newborn.node("fan_out").branches) == {"health", "police", "medical", "hrss"}


@pytest.mark.parametrize("change, node, words", [
    (lambda r: r["nodes"]["market"].update(type="magic"), "market", "unknown node type"),
    (lambda r: r["nodes"].update(orphan={"type": "end", "outcome": "approved"}), "orphan", "unreachable"),
    (lambda r: r["nodes"]["fan_out"].pop("join"), "fan_out", "split without its join"),
    (lambda r: r["nodes"]["fire"].update(agency="police_dogs"), "fire", "agency 'police_dogs' does not exist"),
    (lambda r: r["nodes"]["fire"].update(role="janitor"), "fire", "role 'janitor' does not exist"),
    (lambda r: r["nodes"]["fire"].update(when="__import__('os').system('x')"), "fire", "condition does not parse"),
    (lambda r: r["nodes"]["market"].update(next="nowhere"), "market", "unknown node 'nowhere'"),
    (lambda r: r["nodes"]["issue"].update(action="launch_rockets"), "issue", "not registered"),
    (lambda r: r["nodes"]["market"].update(limit_days=-3), "market", "positive whole number"),
])
def test_bad_definitions_name_file_and_node(change, node, words):
    with pytest.raises(DefinitionError) as error:
        parse_definition(broken(change), "open_restaurant.v1.yaml", agencies=AGENCIES, actions={"issue_licences"})
    assert error.value.source == "open_restaurant.v1.yaml" and error.value.node == node
    assert words in str(error.value)


@pytest.mark.parametrize("source, data, expected", [
    ("floor_area >= 50", {"floor_area": 50}, True),
    ("floor_area >= 50", {"floor_area": 49}, False),
    ("floor_area >= 50", {}, False),
    ("floor_area >= 50", {"floor_area": "lots"}, False),
    ("signboard == true", {"signboard": True}, True),
    ("category == 'hot_food' or seats > 75", {"category": "cold", "seats": 80}, True),
    ("category == 'hot_food' and seats > 75", {"category": "hot_food", "seats": 10}, False),
])
def test_conditions_evaluate_without_eval(source, data, expected):
    assert parse_condition(source).evaluate(data) is expected


@pytest.mark.parametrize("source", ["", "floor_area >=", "1 == 1", "a == b", "x == 'unterminated", "os.system()"])
def test_conditions_that_do_not_parse(source):
    with pytest.raises(ConditionError):
        parse_condition(source)
