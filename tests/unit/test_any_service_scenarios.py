"""Built-in scenarios on a stack that is not the demo: health path, metadata errors, Toxiproxy, helper image."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from pytest_blissful.chaos import _docker
from pytest_blissful.chaos.errors import ChaosError
from pytest_blissful.chaos.scenarios import (
    BUILTIN_SCENARIOS,
    ScenarioError,
    load_scenario,
    scenario_configuration,
)
from pytest_blissful.chaos.targets import toxiproxy_api
from pytest_blissful.config.discovery import ConfigError
from pytest_blissful.config.loader import load_config
from pytest_blissful.config.schema import BlissfulConfig
from pytest_blissful.stack.model import ServiceHandle, Stack

TARGETS = {"app": "orders", "db_proxy": "db", "broker_proxy": "queue", "dependency_proxy": "inventory",
           "memory_stress_size": "100M"}


def _config(**chaos: object) -> BlissfulConfig:
    return BlissfulConfig.model_validate({
        "stack": {"compose": ["compose.yaml"], "entry_service": "orders", "entry_port": 8081,
                  "health_path": "/healthz"},
        "chaos": {"targets": TARGETS, **chaos},
    })


def _stack(**published: dict[int, int]) -> Stack:
    services = {name: (ServiceHandle(name, f"id-{name}", f"proj-{name}-1", ports),)
                for name, ports in published.items()}
    return Stack(name="orders", kind="compose", base_url="http://127.0.0.1:1", project="proj", services=services)


def _probe_urls(experiment: dict[str, object]) -> list[str]:
    probes = experiment["steady-state-hypothesis"]["probes"]  # type: ignore[index]
    return [p["provider"]["arguments"]["url"] for p in probes]  # type: ignore[index]


@pytest.mark.parametrize("name", BUILTIN_SCENARIOS)
def test_built_in_scenarios_probe_the_configured_health_path(name: str) -> None:
    scenario = load_scenario(name, _config())
    assert _probe_urls(scenario.experiment) == ["${blissful_base_url}${blissful_health_path}"]
    assert scenario.experiment["configuration"]["blissful_health_path"] == "/healthz"
    assert "blissful_health_path" not in scenario.targets


def test_the_demo_keeps_its_health_path() -> None:
    assert load_scenario("pod-kill", BlissfulConfig()).experiment["configuration"]["blissful_health_path"] == "/health"


def _custom(tmp_path: Path, meta: dict[str, object]) -> BlissfulConfig:
    experiment = {"title": "t", "description": "d", "method": [],
                  "extensions": [{"name": "blissful", **meta}]}
    path = tmp_path / "mine.json"
    path.write_text(json.dumps(experiment, indent=2))
    return BlissfulConfig.model_validate({"chaos": {"experiments": {"mine": str(path)}}})


def test_a_metadata_typo_names_file_line_and_key(tmp_path: Path) -> None:
    config = _custom(tmp_path, {"severity": "High", "mitigaton": "add a breaker"})
    with pytest.raises(ScenarioError) as info:
        load_scenario("mine", config)
    message = str(info.value)
    assert f"{tmp_path / 'mine.json'}:9: extensions.blissful.mitigaton: unknown key" in message
    assert "mitigation" in message  # the known keys are listed


def test_a_bad_metadata_value_names_the_key(tmp_path: Path) -> None:
    config = _custom(tmp_path, {"severity": "Severe", "slos": {"max_p99_latency_ms": -1}})
    with pytest.raises(ScenarioError) as info:
        load_scenario("mine", config)
    message = str(info.value)
    assert "mine.json:8: extensions.blissful.severity: Input should be 'Critical', 'High', 'Medium' or 'Low'" in message
    assert "extensions.blissful.slos.max_p99_latency_ms: Input should be greater than 0" in message


def test_metadata_values_reach_the_expectation(tmp_path: Path) -> None:
    config = _custom(tmp_path, {"severity": "Medium", "occurrence": 3, "weight": 2, "capabilities": ["caching"],
                                "mitigation": "m", "failure": "f", "slos": {"max_recovery_time_s": 7}})
    scenario = load_scenario("mine", config)
    assert (scenario.failure, scenario.capabilities) == ("f", ("caching",))
    e = scenario.expectation
    assert (e.severity, e.occurrence, e.weight, e.mitigation, e.max_recovery_time_s) == ("Medium", 3, 2.0, "m", 7.0)
    assert e.max_p99_latency_ms == config.chaos.slos.max_p99_latency_ms


# --- Toxiproxy: auto-discovery, chaos.toxiproxy, errors naming the setting ------------------------------------

def test_toxiproxy_is_discovered_from_the_one_service_publishing_8474() -> None:
    assert toxiproxy_api(_stack(orders={8081: 1000}, proxy={8474: 2000})) == "http://127.0.0.1:2000"


def test_no_toxiproxy_names_the_setting() -> None:
    with pytest.raises(ChaosError, match=r"no service of the stack publishes port 8474.*set chaos.toxiproxy"):
        toxiproxy_api(_stack(orders={8081: 1000}))


def test_two_candidates_are_ambiguous() -> None:
    with pytest.raises(ChaosError, match=r"ambiguous: services a, b all publish port 8474.*chaos.toxiproxy"):
        toxiproxy_api(_stack(a={8474: 1}, b={8474: 2}))


def test_the_setting_picks_a_service_and_port() -> None:
    stack = _stack(a={8474: 1}, faults={9000: 3})
    assert toxiproxy_api(stack, service="faults", port=9000) == "http://127.0.0.1:3"
    with pytest.raises(ChaosError, match=r"chaos.toxiproxy: service 'faults' publishes no port 8474 .*9000"):
        toxiproxy_api(stack, service="faults")
    with pytest.raises(ChaosError, match=r"chaos.toxiproxy.service 'nope' is not a service of the stack"):
        toxiproxy_api(stack, service="nope")


def test_scenario_configuration_binds_toxiproxy_only_where_needed() -> None:
    config = _config()
    stack = _stack(orders={8081: 1}, toxiproxy={8474: 2})
    assert scenario_configuration(load_scenario("db-latency", config), config, stack) == {
        "blissful_toxiproxy_url": "http://127.0.0.1:2"}
    bare = _stack(orders={8081: 1})
    assert scenario_configuration(load_scenario("pod-kill", config), config, bare) == {}
    with pytest.raises(ScenarioError, match=r"scenario 'db-latency' needs Toxiproxy: .*set chaos.toxiproxy"):
        scenario_configuration(load_scenario("db-latency", config), config, bare)


def test_chaos_toxiproxy_and_helper_image_from_blissful_yaml(tmp_path: Path) -> None:
    (tmp_path / "blissful.yaml").write_text(
        "stack: {compose: [compose.yaml], entry_service: orders, entry_port: 8081}\n"
        "chaos:\n  targets: {dependency_proxy: inventory}\n  toxiproxy: {service: faults, port: 9000}\n"
        "  helper_image: my/netfault-helper:1\n")
    config = load_config(tmp_path)
    bound = scenario_configuration(load_scenario("dependency-timeout", config), config,
                                   _stack(orders={8081: 1}, faults={9000: 3}, other={8474: 4}))
    assert bound == {"blissful_toxiproxy_url": "http://127.0.0.1:3", "blissful_helper_image": "my/netfault-helper:1"}
    assert _docker.helper_image(bound) == "my/netfault-helper:1"


def test_a_bad_toxiproxy_setting_is_a_config_error_with_line(tmp_path: Path) -> None:
    (tmp_path / "blissful.yaml").write_text("stack: {compose: [c.yaml]}\nchaos:\n  toxiproxy: {port: 9000}\n")
    with pytest.raises(ConfigError, match=r"blissful.yaml:3: chaos.toxiproxy: set either service .* or url"):
        load_config(tmp_path)


def test_helper_image_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("BLISSFUL_HELPER_IMAGE", raising=False)
    assert _docker.helper_image() == "blissful/base:bookworm"
    monkeypatch.setenv("BLISSFUL_HELPER_IMAGE", "env/image:1")
    assert _docker.helper_image() == "env/image:1"
    assert _docker.helper_image({"blissful_helper_image": "cfg/image:1"}) == "cfg/image:1"


def test_without_the_setting_the_env_url_is_the_fallback(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BLISSFUL_TOXIPROXY_URL", "http://127.0.0.1:9")
    config = _config(helper_image="h:1")
    bound = scenario_configuration(load_scenario("db-latency", config), config, _stack(orders={8081: 1}))
    assert bound == {"blissful_helper_image": "h:1"}
