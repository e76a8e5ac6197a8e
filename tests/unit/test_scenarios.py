"""The built-in scenarios: files, metadata, placeholders, and validity for Chaos Toolkit itself."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_blissful.chaos.scenarios import (
    BUILTIN_SCENARIOS,
    ScenarioError,
    known_scenarios,
    load_scenario,
    selected_scenarios,
)
from pytest_blissful.config.schema import BlissfulConfig
from pytest_blissful.grading.scorecard import CAPABILITIES

DEMO = BlissfulConfig()
ALIASES = {"circuit_breaker": "circuit_breakers"}


def test_every_built_in_scenario_has_an_experiment_and_nothing_else_is_there() -> None:
    assert set(known_scenarios(DEMO)) == set(BUILTIN_SCENARIOS)
    assert selected_scenarios(DEMO) == sorted(BUILTIN_SCENARIOS)


@pytest.mark.parametrize("name", BUILTIN_SCENARIOS)
def test_scenario_metadata_is_complete_and_valid_for_chaos_toolkit(name: str) -> None:
    from chaoslib.experiment import ensure_experiment_is_valid

    scenario = load_scenario(name, DEMO)
    assert scenario.expectation.expected_behaviour
    assert scenario.expectation.mitigation
    assert scenario.expectation.severity in ("Critical", "High", "Medium")
    assert scenario.capabilities
    assert {ALIASES.get(c, c) for c in scenario.capabilities} <= set(CAPABILITIES)
    assert set(scenario.targets) <= set(DEMO.chaos.targets)
    assert scenario.experiment["rollbacks"], "every fault needs its removal"
    assert scenario.experiment["method"][-1]["provider"]["func"] == "hold"
    ensure_experiment_is_valid(scenario.experiment)


def test_unknown_scenario_lists_the_known_ones() -> None:
    with pytest.raises(ScenarioError, match=r"unknown scenario 'db-donw'; known: .*db-down.*chaos.experiments"):
        selected_scenarios(DEMO, ["db-donw"])


def test_a_stack_without_targets_is_told_which_one_to_set(tmp_path: Path) -> None:
    config = BlissfulConfig.model_validate({"stack": {"compose": ["compose.yaml"]}})
    with pytest.raises(ScenarioError, match=r"acts on db_proxy: set chaos.targets.db_proxy in blissful.yaml"):
        load_scenario("db-down", config)


def test_custom_scenario_joins_the_suite(tmp_path: Path) -> None:
    (tmp_path / "mine.json").write_text('{"title": "x", "description": "y", "method": []}')
    config = BlissfulConfig.model_validate({"chaos": {"experiments": {"mine": str(tmp_path / "mine.json")}}})
    assert "mine" in selected_scenarios(config)
    assert load_scenario("mine", config).expectation.expected_behaviour == "y"


def test_broken_custom_experiment_names_file_and_line(tmp_path: Path) -> None:
    (tmp_path / "bad.json").write_text('{\n  "title": "x",\n  oops\n}')
    config = BlissfulConfig.model_validate({"chaos": {"experiments": {"bad": str(tmp_path / "bad.json")}}})
    with pytest.raises(ScenarioError, match=r"bad\.json:3:3: invalid JSON"):
        load_scenario("bad", config)
