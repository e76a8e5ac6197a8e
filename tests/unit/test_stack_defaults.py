"""Defaults come from the user's stack; the demo's knowledge applies to the demo stack only."""

from __future__ import annotations

import pytest

from pytest_blissful.config.schema import DEMO_CHAOS_MIX, BlissfulConfig


def _own(**stack: object) -> BlissfulConfig:
    return BlissfulConfig.model_validate({"stack": {"compose": ["compose.yaml"], **stack}})


def test_the_demo_keeps_its_defaults() -> None:
    demo = BlissfulConfig()
    assert (demo.stack.entry_service, demo.stack.entry_port) == ("lb", 80)
    assert demo.chaos.probe_paths == ["/ready", "/hello"]
    assert demo.chaos.readiness_paths == ["/ready"]
    assert demo.chaos.mix == DEMO_CHAOS_MIX
    assert demo.traffic_mix() is None  # the built-in user's demo mix


def test_another_stack_probes_its_own_paths() -> None:
    own = _own(health_path="/status", readiness_path="/healthz/ready")
    assert own.stack.entry_service is None and own.stack.entry_port is None  # found from what it publishes
    assert own.chaos.probe_paths == ["/healthz/ready", "/status"]
    assert own.chaos.readiness_paths == ["/healthz/ready"]
    assert own.chaos.mix == {}
    assert _own(health_path="/status").chaos.probe_paths == ["/status"]
    assert _own(health_path="/status").chaos.readiness_paths == []


def test_explicit_probe_settings_are_kept() -> None:
    own = BlissfulConfig.model_validate({"stack": {"url": "http://127.0.0.1:1", "readiness_path": "/r"},
                                         "chaos": {"probe_paths": ["/x"], "readiness_paths": []}})
    assert own.chaos.probe_paths == ["/x"]
    assert own.chaos.readiness_paths == []


def test_another_stack_without_a_mix_names_the_key() -> None:
    with pytest.raises(ValueError, match=r"set load\.mix"):
        _own().traffic_mix()
    with pytest.raises(ValueError, match=r"set chaos\.mix or load\.mix"):
        _own().traffic_mix(chaos=True)
    configured = BlissfulConfig.model_validate({"stack": {"compose": ["c.yaml"]}, "load": {"mix": {"GET /a": 1}},
                                                "chaos": {"mix": {"GET /b": 1}}})
    assert configured.traffic_mix() == {"GET /a": 1}
    assert configured.traffic_mix(chaos=True) == {"GET /b": 1}
    with_locustfile = BlissfulConfig.model_validate({"stack": {"compose": ["c.yaml"]}, "load": {"locustfile": "l.py"}})
    assert with_locustfile.traffic_mix() is None


def test_readiness_path_must_be_absolute() -> None:
    with pytest.raises(ValueError, match="must start with '/'"):
        _own(readiness_path="ready")
