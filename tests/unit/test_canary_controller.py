"""The rollout controller against a scripted driver (no Docker): step walk, abort/rollback timing, pause on
Inconclusive, controls, and the renderers (terminal table, step summary, JSON schema, chart)."""

from __future__ import annotations

import json
from typing import Any

import jsonschema
import pytest

from pytest_blissful.flows.canary import CanaryControls, RolloutController
from pytest_blissful.flows.canary_prometheus import MeasurementError
from pytest_blissful.grading.canary import (
    DrillRequest,
    MetricSpec,
    PauseStep,
    Phase,
    RolloutPlan,
    SetWeightStep,
    TrafficPoint,
)
from pytest_blissful.report.canary import SCHEMA_PATH, status_table, step_summary_markdown, write_canary_json


class FakeClock:
    def __init__(self) -> None:
        self.t = 100.0

    def __call__(self) -> float:
        return self.t

    def sleep(self, seconds: float) -> None:
        self.t += max(seconds, 0.01)


class ScriptedDriver:
    """Answers measurements from a function of (time, weight); records what the controller did."""

    def __init__(self, clock: FakeClock, value: Any) -> None:
        self.clock = clock
        self.value = value
        self.weights: list[int] = []
        self.stopped = False

    def set_weight(self, weight: int) -> None:
        self.weights.append(weight)
        self.clock.t += 0.3  # a reload takes a moment

    def stop_canary(self) -> None:
        self.stopped = True
        self.clock.t += 1.0

    def tick(self) -> None:
        pass

    def measure(self, spec: MetricSpec, now_s: float, since_s: float) -> Any:
        value = self.value(now_s, self.weights[-1]) if callable(self.value) else self.value
        if isinstance(value, Exception):
            raise value
        return value


def _plan(**metric: Any) -> RolloutPlan:
    spec = MetricSpec(**{"name": "error-rate", "provider": "blissful", "query": "error_rate",
                         "success_condition": "result < 1", "interval_s": 2.0, **metric})
    steps = (SetWeightStep(10), PauseStep(6.0), SetWeightStep(50), PauseStep(6.0), SetWeightStep(100))
    return RolloutPlan(steps, (spec,))


def _run(plan: RolloutPlan, value: Any, drill: DrillRequest | None = None,
         controls: CanaryControls | None = None) -> tuple[Any, ScriptedDriver]:
    clock = FakeClock()
    driver = ScriptedDriver(clock, value)
    controller = RolloutController(plan, driver, controls=controls, drill=drill, clock=clock, sleep=clock.sleep,
                                   deadline_s=300)
    return controller.run(), driver


def test_healthy_canary_is_promoted_through_every_step() -> None:
    result, driver = _run(_plan(), 0.0)
    assert driver.weights == [0, 10, 50, 100]
    assert result.outcome == "promoted" and result.passed
    assert all(m.phase is Phase.SUCCESSFUL for m in result.measurements) and len(result.measurements) >= 5


def test_failing_canary_is_aborted_and_rolled_back() -> None:
    result, driver = _run(_plan(), lambda t, w: 5.0 if w >= 50 else 0.0, DrillRequest("error-rate", "5%"))
    assert driver.weights[-1] == 0 and driver.stopped
    assert result.outcome == "aborted" and result.analysis_phase is Phase.FAILED
    rb = result.rollback
    assert rb is not None and rb.first_failed_at <= rb.rollback_started_at <= rb.stable_full_at  # type: ignore[operator]
    assert rb.completed_s == pytest.approx(1.3, abs=0.05)
    assert result.passed and "Rollback completed in 1.3 s" in result.reason
    assert [s.status for s in result.steps] == ["Completed", "Completed", "Aborted", "Pending", "Pending"]


def test_failure_limit_lets_some_failures_through() -> None:
    flaky = iter([5.0, 0.0] * 50)
    result, _ = _run(_plan(failure_limit=10), lambda t, w: next(flaky))
    assert result.outcome == "promoted"


def test_inconclusive_pauses_and_is_never_a_pass() -> None:
    result, driver = _run(_plan(failure_condition="result > 10", success_condition="result < 1"), 5.0)
    assert result.outcome == "paused" and result.verdict == "inconclusive" and not result.passed
    assert not driver.stopped


def test_provider_errors_count_toward_consecutive_error_limit() -> None:
    result, _ = _run(_plan(), MeasurementError("Prometheus unreachable"))
    errors = [m for m in result.measurements if m.phase is Phase.ERROR]
    assert len(errors) == 5 and "unreachable" in errors[0].message
    assert result.outcome == "aborted" and result.analysis_phase is Phase.ERROR


def test_controls_abort_and_promote() -> None:
    controls = CanaryControls()
    controls.abort()
    result, driver = _run(_plan(), 0.0, controls=controls)
    assert result.outcome == "aborted" and driver.stopped and "canary.abort()" in result.message
    controls = CanaryControls()
    controls.promote()
    result, driver = _run(_plan(), 0.0, controls=controls)
    assert result.outcome == "promoted" and driver.weights[-1] == 100


def test_renderers_and_schema(tmp_path: Any) -> None:
    result, _ = _run(_plan(), lambda t, w: 5.0 if w >= 50 else 0.0, DrillRequest("error-rate", "5%"))
    from dataclasses import replace

    traffic = (TrafficPoint(0.0, 10, 90, 10, 0.0, 0.0, 3.0, 4.0), TrafficPoint(1.0, 10, 100, 0, 0.0, float("nan"),
                                                                               3.0, float("nan")))
    data = replace(result, traffic=traffic).to_dict()
    table = status_table(data)
    assert "STEP" in table and "setWeight 50" in table and "Rollback completed in" in table
    assert "| drill error-rate=5%" not in step_summary_markdown([data])  # name is the result's own
    assert "✅ pass" in step_summary_markdown([data])
    path = write_canary_json(tmp_path / "canary.json", data)
    write_canary_json(path, data)
    document = json.loads(path.read_text())
    assert len(document["results"]) == 2
    jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text()))
    from pytest_blissful.report.canary_allure import canary_chart_svg

    svg = canary_chart_svg(data)
    assert svg.lstrip().startswith(("<?xml", "<svg")) and "series-canary-share" in svg and "marker-detected" in svg


def test_unreachable_prometheus_is_a_measurement_error_not_a_crash() -> None:
    import socket

    from pytest_blissful.flows.canary_prometheus import PrometheusProvider

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with pytest.raises(MeasurementError, match="unreachable"):
        PrometheusProvider(f"http://127.0.0.1:{port}", timeout_s=1.0).query("up")
