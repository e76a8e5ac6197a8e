"""chaos.dependencies: which endpoints use which dependency, validated where the user wrote it."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_blissful.chaos.scenarios import BUILTIN_SCENARIOS, ScenarioError, load_scenario
from pytest_blissful.config import ConfigError, load_config
from pytest_blissful.config.schema import DEMO_CHAOS_DEPENDENCIES, BlissfulConfig
from pytest_blissful.flows.evidence import evidence_spec, probe_path

DEMO = BlissfulConfig()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "blissful.yaml"
    path.write_text(text)
    return path


def test_the_demo_ships_its_dependency_map() -> None:
    assert DEMO.chaos.dependencies == DEMO_CHAOS_DEPENDENCIES
    assert DEMO.chaos.degraded_header == "X-Degraded"
    for endpoints in DEMO.chaos.dependencies.values():
        assert set(endpoints) <= set(DEMO.chaos.mix)


def test_an_unknown_endpoint_is_a_usage_error_with_file_and_line(tmp_path: Path) -> None:
    path = _write(tmp_path, """chaos:
  dependencies:
    postgres:
      - GET /greetings
      - GET /nope
""")
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, path)
    message = str(info.value)
    assert f"{path.resolve()}:5: chaos.dependencies.postgres.1: unknown endpoint 'GET /nope'" in message \
        or f"{path}:5: chaos.dependencies.postgres.1: unknown endpoint 'GET /nope'" in message
    assert "GET /greetings" in message  # the known endpoints are listed


def test_an_endpoint_that_is_not_method_and_path_is_rejected(tmp_path: Path) -> None:
    path = _write(tmp_path, "chaos:\n  dependencies:\n    postgres: [greetings]\n")
    with pytest.raises(ConfigError, match=r"blissful\.yaml:2: chaos\.dependencies: .*'METHOD /path'"):
        load_config(tmp_path, path)


def test_a_scenario_whose_dependency_has_no_mapping_names_the_key_to_add() -> None:
    config = DEMO.model_copy(update={"chaos": DEMO.chaos.model_copy(update={"dependencies": {"redis": []}})})
    with pytest.raises(ScenarioError, match=r"add chaos\.dependencies\.postgres: \['METHOD /path', \.\.\.\]"):
        evidence_spec(load_scenario("db-down", config), config)


@pytest.mark.parametrize("name", BUILTIN_SCENARIOS)
def test_every_builtin_scenario_has_its_evidence_needs_on_the_demo(name: str) -> None:
    needs = evidence_spec(load_scenario(name, DEMO), DEMO)
    if needs.dependency:
        assert needs.affected, f"{name}: no endpoint uses {needs.dependency}"
        assert not set(needs.affected) & set(needs.unaffected)
    if needs.fault == "partial":
        assert needs.attempt_success_rate is not None
    if needs.fault == "latency":
        assert needs.injected_delay_ms


def test_db_down_knows_affected_and_unaffected_endpoints() -> None:
    needs = evidence_spec(load_scenario("db-down", DEMO), DEMO)
    assert needs.fault == "down" and needs.dependency == "postgres"
    assert needs.affected == ("GET /greetings", "GET /hello/{name}")
    assert "GET /hello" in needs.unaffected and "GET /health" not in needs.unaffected
    assert needs.readiness_checks_dependency


def test_probe_paths_for_endpoints() -> None:
    assert probe_path("GET /hello/{name}") == "/hello/blissful"
    assert probe_path("POST /echo") is None
