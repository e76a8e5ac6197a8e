"""Unit-level tests of how a Chaos Mesh resource's status is read (``chaos_mesh.injection_state``), on status
documents written here by hand in the shape Chaos Mesh's controller writes. No controller and no cluster: this is
the parsing only. Whether a fault was really in place is never decided from a status a test wrote (the
control-plane tests in tests/kubernetes/test_chaos_mesh.py run without a controller and must stay inconclusive;
tests/kubernetes/test_chaos_mesh_tool.py writes such a status only to show that the grade turns on it)."""

from __future__ import annotations

from typing import Any

import pytest

from pytest_blissful.chaos.actions.chaos_mesh import _duration, _percent
from pytest_blissful.chaos.chaos_mesh import crd_name, injection_state
from pytest_blissful.chaos.errors import ChaosError


def _resource(status: dict[str, Any] | None) -> dict[str, Any]:
    resource: dict[str, Any] = {"kind": "NetworkChaos", "metadata": {"name": "n"}, "spec": {"action": "delay"}}
    if status is not None:
        resource["status"] = status
    return resource


def _record(pod: str, phase: str, failure: str | None = None) -> dict[str, Any]:
    events = [{"type": "Failed", "operation": "Apply", "message": failure}] if failure else []
    return {"id": f"ns/{pod}/main", "selectorKey": ".", "phase": phase, "injectedCount": int(phase == "Injected"),
            "recoveredCount": 0, "events": events}


def _conditions(**values: bool) -> list[dict[str, str]]:
    return [{"type": name, "status": str(value)} for name, value in values.items()]


def test_parsing_no_status_means_no_controller_acted() -> None:
    for status in (None, {}, {"conditions": [], "experiment": {}}):
        seen = injection_state(_resource(status))
        assert not seen.injected and not seen.acted and seen.exists
        assert "no Chaos Mesh controller has acted on it" in seen.evidence


def test_parsing_every_record_injected_is_in_effect() -> None:
    status = {"conditions": _conditions(Selected=True, AllInjected=True, AllRecovered=False, Paused=False),
              "experiment": {"desiredPhase": "Run",
                             "containerRecords": [_record("web-1", "Injected"), _record("web-2", "Injected")]}}
    seen = injection_state(_resource(status))
    assert seen.injected and seen.acted
    assert seen.evidence.startswith("2/2 container record(s) Injected (ns/web-1/main Injected, ns/web-2/main Injected)")
    assert "AllInjected=True" in seen.evidence and "desiredPhase Run" in seen.evidence


def test_parsing_one_record_not_injected_is_not_in_effect_and_says_why() -> None:
    status = {"conditions": _conditions(Selected=True, AllInjected=False, Paused=False),
              "experiment": {"desiredPhase": "Run", "containerRecords": [
                  _record("web-1", "Injected"), _record("web-2", "Not Injected", "unable to flush ip sets")]}}
    seen = injection_state(_resource(status))
    assert not seen.injected and seen.acted
    assert "1/2 container record(s) Injected" in seen.evidence
    assert "last failure: unable to flush ip sets" in seen.evidence


def test_parsing_all_injected_without_any_record_selected_nothing() -> None:
    """Chaos Mesh computes AllInjected over the records: with none it is vacuously True."""
    status = {"conditions": _conditions(Selected=False, AllInjected=True, Paused=False),
              "experiment": {"desiredPhase": "Run"}}
    seen = injection_state(_resource(status))
    assert not seen.injected and seen.acted and "selected no container" in seen.evidence


@pytest.mark.parametrize(("status", "said"), [
    ({"conditions": _conditions(Selected=True, AllInjected=True, Paused=True),
      "experiment": {"desiredPhase": "Run", "containerRecords": [_record("w", "Injected")]}}, "is paused"),
    ({"conditions": _conditions(Selected=True, AllInjected=True, Paused=False),
      "experiment": {"desiredPhase": "Stop", "containerRecords": [_record("w", "Injected")]}}, "is being stopped"),
])
def test_parsing_paused_or_stopping_is_not_in_effect(status: dict[str, Any], said: str) -> None:
    seen = injection_state(_resource(status))
    assert not seen.injected and said in seen.evidence


def test_parsing_records_disagreeing_with_the_condition_are_not_in_effect() -> None:
    status = {"conditions": _conditions(Selected=True, AllInjected=False),
              "experiment": {"desiredPhase": "Run", "containerRecords": [_record("w", "Injected")]}}
    assert not injection_state(_resource(status)).injected


def test_parsing_a_resource_gone() -> None:
    seen = injection_state(None)
    assert not seen.injected and not seen.exists and "gone" in seen.evidence


def test_argument_parsing() -> None:
    where = "network_chaos(action='delay')"
    assert _duration("500ms", "latency", where) == "500ms"
    assert _duration(250, "latency", where, "ms") == "250ms"
    assert _duration("1m30s", "duration", where) == "1m30s"
    assert _duration("30", "duration", where) == "30s"
    assert _duration(None, "duration", where) is None
    for bad in ("0s", "-1s", "soon", True, 0):
        with pytest.raises(ChaosError, match=r"network_chaos\(action='delay'\): (latency=.* is not a duration|"
                                             r"latency=0 must be above 0)"):
            _duration(bad, "latency", where)  # type: ignore[arg-type]
    assert _percent("50%", "loss", where) == "50" and _percent(12.5, "loss", where) == "12.5"
    with pytest.raises(ChaosError, match="loss='half' is not a percentage"):
        _percent("half", "loss", where)
    assert crd_name("DNSChaos") == "dnschaos.chaos-mesh.org"
    with pytest.raises(ChaosError, match="unknown Chaos Mesh kind 'IOChaos'"):
        crd_name("IOChaos")
