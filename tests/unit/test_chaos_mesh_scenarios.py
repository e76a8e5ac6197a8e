"""``chaos.tool: chaos-mesh``: which experiment each scenario name runs, the Chaos Mesh variants' files and the
metadata they take from their Docker twins (``extends``). The key's configuration errors: test_config_loader.py."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from pytest_blissful.chaos.scenarios import (
    BUILTIN_SCENARIOS,
    CHAOS_MESH_SCENARIOS,
    ScenarioError,
    experiments_dir,
    known_scenarios,
    load_scenario,
)
from pytest_blissful.config.schema import BlissfulConfig

KUBERNETES = {"kubernetes": {"manifests": ["k8s"]}}
CHAOS_MESH = BlissfulConfig.model_validate({"stack": KUBERNETES, "chaos": {"tool": "chaos-mesh",
                                                                            "targets": {"app": "web"}}})
TOOLKIT = BlissfulConfig.model_validate({"stack": KUBERNETES, "chaos": {"targets": {
    "app": "web", "db_proxy": "postgres", "broker_proxy": "redis", "dependency_proxy": "upstream",
    "memory_stress_size": "460M"}}})
KINDS = {"network_chaos": "NetworkChaos", "stress_chaos": "StressChaos", "dns_chaos": "DNSChaos"}
CHAOS_MESH_ACTIONS = "pytest_blissful.chaos.actions.chaos_mesh"
# what a variant may say differently from its twin: its own failure text, and what its fault does (the evidence)
OWN_KEYS = {"name", "extends", "failure", "evidence"}


def _blissful(path: Path) -> dict[str, Any]:
    experiment = json.loads(path.read_text())
    meta: dict[str, Any] = next(e for e in experiment["extensions"] if e["name"] == "blissful")
    return meta


def test_chaos_mesh_switches_exactly_its_scenarios_to_the_variants() -> None:
    variants = experiments_dir() / "chaos-mesh"
    assert sorted(p.stem for p in variants.glob("*")) == sorted(CHAOS_MESH_SCENARIOS)
    default, switched = known_scenarios(TOOLKIT), known_scenarios(CHAOS_MESH)
    assert set(default) == set(switched) == set(BUILTIN_SCENARIOS)
    for name in BUILTIN_SCENARIOS:
        if name in CHAOS_MESH_SCENARIOS:
            assert switched[name] == variants / f"{name}.json" and default[name] == experiments_dir() / f"{name}.json"
        else:  # pod-kill, the Toxiproxy dependency faults ...: the same file with either tool
            assert switched[name] == default[name] == experiments_dir() / f"{name}.json"
    assert known_scenarios(BlissfulConfig())["cpu-stress"] == default["cpu-stress"]  # the demo: chaostoolkit


def test_a_custom_experiment_still_wins_over_a_variant(tmp_path: Path) -> None:
    mine = tmp_path / "latency.json"
    mine.write_text('{"title": "mine", "description": "d", "method": []}')
    config = CHAOS_MESH.model_copy(update={"chaos": CHAOS_MESH.chaos.model_copy(
        update={"experiments": {"network-latency": mine}})})
    assert known_scenarios(config)["network-latency"] == mine.resolve()


@pytest.mark.parametrize("name", CHAOS_MESH_SCENARIOS)
def test_a_variant_has_its_twins_fmea_metadata_and_acts_through_chaos_mesh(name: str) -> None:
    from chaoslib.experiment import ensure_experiment_is_valid

    path = known_scenarios(CHAOS_MESH)[name]
    own = _blissful(path)
    assert own["extends"] == name and set(own) <= OWN_KEYS, "the FMEA metadata is the twin's, not a copy"
    variant, twin = load_scenario(name, CHAOS_MESH), load_scenario(name, TOOLKIT)
    assert variant.path == path and twin.path == experiments_dir() / f"{name}.json"
    assert variant.expectation == twin.expectation  # severity, expected behaviour, SLOs, weight, mitigation ...
    assert variant.capabilities == twin.capabilities
    assert variant.failure == own["failure"] != twin.failure
    assert variant.targets == ("app",)
    ensure_experiment_is_valid(variant.experiment)

    fault, hold = variant.experiment["method"]
    assert fault["provider"]["module"] == CHAOS_MESH_ACTIONS
    assert fault["provider"]["arguments"]["target"] == "${app}"
    assert hold["provider"]["func"] == "hold" and hold["provider"]["arguments"] == {"seconds": "${fault_duration}"}
    (rollback,) = variant.experiment["rollbacks"]
    assert rollback["provider"]["module"] == CHAOS_MESH_ACTIONS and rollback["provider"]["func"] == "delete_chaos"
    assert rollback["provider"]["arguments"] == {"kind": KINDS[fault["provider"]["func"]]}
    assert "docker" not in json.dumps(variant.experiment["method"] + variant.experiment["rollbacks"])


def test_the_network_latency_variant_asks_for_500ms_on_the_apps_pods() -> None:
    (fault, _) = load_scenario("network-latency", CHAOS_MESH).experiment["method"]
    assert fault["provider"]["func"] == "network_chaos"
    assert fault["provider"]["arguments"] == {"target": "${app}", "action": "delay", "latency": "500ms",
                                              "duration": "10m"}


def test_extends_takes_the_twins_metadata_and_the_keys_given_win(tmp_path: Path) -> None:
    mine = tmp_path / "mine.json"
    mine.write_text(json.dumps({"title": "t", "description": "d", "method": [], "extensions": [
        {"name": "blissful", "extends": "db-down", "severity": "Medium", "slos": {"max_error_rate_percent": 50}}]}))
    config = BlissfulConfig.model_validate({"chaos": {"experiments": {"mine": str(mine)}}})
    scenario, twin = load_scenario("mine", config), load_scenario("db-down", config)
    assert scenario.expectation.severity == "Medium" != twin.expectation.severity
    assert scenario.expectation.max_error_rate_percent == 50
    assert scenario.expectation.mitigation == twin.expectation.mitigation and scenario.failure == twin.failure
    assert scenario.capabilities == twin.capabilities
    # the evidence rules read the merged extension: the twin's faulted dependency (${db_proxy}) is a target now
    assert scenario.targets == ("db_proxy",)


def test_extends_a_scenario_that_is_not_built_in_names_file_line_and_key(tmp_path: Path) -> None:
    mine = tmp_path / "mine.json"
    mine.write_text('{\n  "title": "t",\n  "method": [],\n  "extensions": [\n    {\n      "name": "blissful",\n'
                    '      "extends": "db-donw"\n    }\n  ]\n}\n')
    config = BlissfulConfig.model_validate({"chaos": {"experiments": {"mine": str(mine)}}})
    with pytest.raises(ScenarioError, match=rf"^{mine}:7: extensions\.blissful\.extends: 'db-donw' is not a "
                                            r"built-in scenario \(one of network-latency, .*db-down"):
        load_scenario("mine", config)
