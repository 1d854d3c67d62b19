"""A running case keeps its version; cases waiting at a join move to a new version when branches map one to one."""

from __future__ import annotations

import shutil

import pytest
import yaml

from services.errors import InvalidTransition
from tests.workflows.shipped import RESTAURANT, shipped_registry
from tests.workflows.test_engine import MONDAY, accept, open_tasks
from workflows.calendar import WeekdayCalendar
from workflows.definitions import load_directory
from workflows.engine import Engine
from workflows.versions import migrate_instances


@pytest.fixture
def registry_dir(tmp_path):
    shutil.copy(RESTAURANT, tmp_path)
    raw = yaml.safe_load((RESTAURANT).read_text(encoding="utf-8"))
    raw["version"] = 2
    nodes = raw["nodes"]
    nodes["fan_out"]["branches"] = ["food", "fire", "urban", "env"]  # market's branch renamed to food
    nodes["food"] = nodes.pop("market") | {"limit_days": 15}
    (tmp_path / "open_restaurant.v2.yaml").write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return tmp_path


def test_new_cases_take_the_new_version_and_running_ones_keep_theirs(db, registry_dir):
    old_engine = Engine(shipped_registry(), WeekdayCalendar())
    running = old_engine.start(db, "open_restaurant", subject_id=1, data={"floor_area": 10}, actor_id=1,
                               command_id="old", today=MONDAY)
    engine = Engine(load_directory(registry_dir), WeekdayCalendar())
    fresh = engine.start(db, "open_restaurant", subject_id=2, data={"floor_area": 10}, actor_id=1,
                         command_id="new", today=MONDAY)
    assert (running.definition_version, fresh.definition_version) == (1, 2)
    accept(db, engine, running)  # runs on version 1's nodes
    assert {t.node_id for t in open_tasks(db, running)} == {"market", "env"}


def test_cases_at_the_join_move_when_branches_map_one_to_one(db, database, registry_dir):
    engine = Engine(load_directory(registry_dir), WeekdayCalendar())
    instance = Engine(shipped_registry(), WeekdayCalendar()).start(
        db, "open_restaurant", subject_id=1, data={"floor_area": 80, "signboard": True}, actor_id=1,
        command_id="s", today=MONDAY)
    waiting = engine.start(db, "open_restaurant", subject_id=3, data={}, actor_id=1, command_id="w", today=MONDAY)
    instance.definition_version = 1
    accept(db, engine, instance)
    with pytest.raises(InvalidTransition):  # "market" has no counterpart without a mapping
        engine.migrate_to_version(db, instance.id, 2, actor_id=None, command_id="m0")
    db.flush()
    result = migrate_instances(database, engine, "open_restaurant", 1, 2, {"market": "food"})
    db.expire_all()
    assert result == {"candidates": 1, "migrated": 1, "refused": {}}
    assert instance.definition_version == 2
    assert {t.node_id for t in open_tasks(db, instance)} == {"food", "fire", "urban", "env"}
    for task in open_tasks(db, instance):
        engine.complete_task(db, task.id, actor_id=2, outcome="approve", command_id=f"a{task.id}", today=MONDAY)
    assert instance.state == "approved"
    assert waiting.definition_version == 2  # never touched


def test_mapping_must_be_one_to_one_and_keep_the_agency(db, registry_dir):
    engine = Engine(load_directory(registry_dir), WeekdayCalendar())
    instance = Engine(shipped_registry(), WeekdayCalendar()).start(
        db, "open_restaurant", subject_id=1, data={"floor_area": 80, "signboard": True}, actor_id=1,
        command_id="s", today=MONDAY)
    accept(db, engine, instance)
    with pytest.raises(InvalidTransition):
        engine.migrate_to_version(db, instance.id, 2, actor_id=None, command_id="m1",
                                  mapping={"market": "food", "fire": "food"})
    with pytest.raises(InvalidTransition):  # fire's agency is not urban's
        engine.migrate_to_version(db, instance.id, 2, actor_id=None, command_id="m2",
                                  mapping={"market": "food", "fire": "urban", "urban": "fire"})
    assert instance.definition_version == 1
