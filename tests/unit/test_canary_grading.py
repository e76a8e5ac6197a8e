"""Argo Rollouts' analysis semantics (utils/evaluate, analysis/analysis.go) and the canary verdict."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_blissful.grading.canary import (
    AnalysisRun,
    CanaryResult,
    DrillRequest,
    Measurement,
    MetricSpec,
    PauseStep,
    Phase,
    PlanError,
    RollbackTiming,
    RolloutPlan,
    SetWeightStep,
    evaluate_result,
    worst,
)
from pytest_blissful.grading.expressions import ExpressionSyntaxError


def spec(**kw: object) -> MetricSpec:
    base: dict[str, object] = {"name": "error-rate", "provider": "prometheus", "query": "q",
                               "success_condition": "result[0] < 1", "interval_s": 5.0}
    base.update(kw)
    return MetricSpec(**base)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("success", "failure", "value", "phase"),
    [
        (None, None, [5.0], Phase.SUCCESSFUL),              # no condition: always Successful
        ("result[0] < 1", None, [0.5], Phase.SUCCESSFUL),
        ("result[0] < 1", None, [5.0], Phase.FAILED),        # only success: not success is Failed
        (None, "result[0] > 3", [5.0], Phase.FAILED),
        (None, "result[0] > 3", [2.0], Phase.SUCCESSFUL),    # only failure: not failure is Successful
        ("result[0] < 1", "result[0] > 3", [2.0], Phase.INCONCLUSIVE),  # both, neither true
        ("result[0] < 1", "result[0] > 3", [0.5], Phase.SUCCESSFUL),
        ("result[0] < 1", "result[0] > 3", [5.0], Phase.FAILED),
        ("result[0] < 1", None, [], Phase.ERROR),             # no data: index error → Error
        ("result[0] < 1", None, None, Phase.ERROR),
    ],
)
def test_evaluate_result(success: str | None, failure: str | None, value: object, phase: Phase) -> None:
    got, message = evaluate_result(value, spec(success_condition=success, failure_condition=failure))
    assert got is phase
    if phase is Phase.ERROR:
        assert "no data" in message


def test_unparseable_condition_is_rejected_when_the_spec_is_built() -> None:
    with pytest.raises(ExpressionSyntaxError):
        spec(success_condition="result[0] <")


def _m(phase: Phase, t: float, metric: str = "error-rate", dry_run: bool = False) -> Measurement:
    return Measurement(metric, phase, t, t, dry_run=dry_run)


def run_with(phases: list[Phase], **kw: object) -> AnalysisRun:
    run = AnalysisRun("a", [spec(**kw)], 0.0)
    for i, p in enumerate(phases):
        run.record(_m(p, float(i)))
    return run


def test_default_failure_limit_is_zero() -> None:
    assert run_with([Phase.FAILED]).phase is Phase.FAILED


def test_failure_limit_allows_that_many() -> None:
    assert run_with([Phase.FAILED] * 3, failure_limit=3).phase is Phase.RUNNING
    assert run_with([Phase.FAILED] * 4, failure_limit=3).phase is Phase.FAILED


def test_negative_failure_limit_is_not_applicable() -> None:
    assert run_with([Phase.FAILED] * 10, failure_limit=-1, count=10).phase is Phase.SUCCESSFUL


def test_default_inconclusive_limit_is_zero() -> None:
    assert run_with([Phase.INCONCLUSIVE]).phase is Phase.INCONCLUSIVE


def test_consecutive_error_limit_default_four() -> None:
    assert run_with([Phase.ERROR] * 4).phase is Phase.RUNNING
    assert run_with([Phase.ERROR] * 5).phase is Phase.ERROR
    # a good measurement resets the streak, and errors do not count toward `count`
    run = run_with([Phase.ERROR] * 4 + [Phase.SUCCESSFUL] + [Phase.ERROR] * 4, count=2)
    assert run.phase is Phase.RUNNING
    assert run.results["error-rate"].count == 1


def test_count_reached_is_successful() -> None:
    assert run_with([Phase.SUCCESSFUL] * 3, count=3).phase is Phase.SUCCESSFUL
    assert run_with([Phase.SUCCESSFUL, Phase.FAILED, Phase.SUCCESSFUL], count=3, failure_limit=1).phase \
        is Phase.SUCCESSFUL


def test_no_interval_no_count_measures_once() -> None:
    assert run_with([Phase.SUCCESSFUL], interval_s=None).phase is Phase.SUCCESSFUL


def test_dry_run_failures_do_not_fail_the_run() -> None:
    run = AnalysisRun("a", [spec(name="real", count=2), spec(name="dry", dry_run=True, count=2)], 0.0)
    for t in (0.0, 1.0):
        run.record(_m(Phase.SUCCESSFUL, t, "real"))
        run.record(_m(Phase.FAILED, t, "dry", dry_run=True))
    assert run.phase is Phase.SUCCESSFUL
    assert run.results["dry"].phase is Phase.FAILED


def test_worst_metric_wins_and_terminates_run() -> None:
    run = AnalysisRun("a", [spec(name="a"), spec(name="b")], 0.0)
    run.record(_m(Phase.INCONCLUSIVE, 0.0, "a"))
    assert run.phase is Phase.INCONCLUSIVE
    run2 = AnalysisRun("a", [spec(name="a"), spec(name="b")], 0.0)
    run2.record(_m(Phase.INCONCLUSIVE, 0.0, "a"))  # already terminated by the inconclusive metric
    assert worst(Phase.INCONCLUSIVE, Phase.FAILED) is Phase.FAILED
    assert worst(Phase.ERROR, Phase.INCONCLUSIVE) is Phase.ERROR
    assert worst(Phase.SUCCESSFUL, Phase.RUNNING) is Phase.RUNNING


def test_terminating_without_measurements_is_successful_as_in_argo() -> None:
    run = AnalysisRun("a", [spec()], 0.0)
    assert run.terminate() is Phase.SUCCESSFUL


def test_schedule_initial_delay_and_interval() -> None:
    run = AnalysisRun("a", [spec(initial_delay_s=3.0, interval_s=5.0)], 10.0)
    assert run.due(12.0) == []
    assert [s.name for s in run.due(13.0)] == ["error-rate"]
    run.record(_m(Phase.SUCCESSFUL, 13.0))
    assert run.due(17.9) == []
    assert run.due(18.0)
    assert run.next_due() == 18.0


_PHASES = st.sampled_from([Phase.SUCCESSFUL, Phase.FAILED, Phase.INCONCLUSIVE, Phase.ERROR])


@settings(max_examples=200, deadline=None)
@given(phases=st.lists(_PHASES, max_size=20), failure_limit=st.integers(-1, 5),
       inconclusive_limit=st.integers(0, 5), error_limit=st.integers(0, 6), count=st.integers(0, 8))
def test_limits_behave_like_argo(phases: list[Phase], failure_limit: int, inconclusive_limit: int,
                                 error_limit: int, count: int) -> None:
    run = AnalysisRun("a", [spec(failure_limit=failure_limit, inconclusive_limit=inconclusive_limit,
                                 consecutive_error_limit=error_limit, count=count or None)], 0.0)
    failed = inconclusive = streak = counted = 0
    expected = Phase.RUNNING
    for i, p in enumerate(phases):
        if run.phase.completed:
            break
        run.record(_m(p, float(i)))
        failed += p is Phase.FAILED
        inconclusive += p is Phase.INCONCLUSIVE
        counted += p is not Phase.ERROR
        streak = streak + 1 if p is Phase.ERROR else 0
        if streak > error_limit:
            expected = Phase.ERROR
        elif inconclusive > inconclusive_limit:
            expected = Phase.INCONCLUSIVE
        elif failure_limit >= 0 and failed > failure_limit:
            expected = Phase.FAILED
        elif count and counted >= count:
            expected = Phase.SUCCESSFUL
        else:
            expected = Phase.RUNNING
        assert run.phase is expected


def _result(outcome: str, phase: Phase, drill: DrillRequest | None = None,
            rollback: RollbackTiming | None = None, measurements: tuple[Measurement, ...] = ()) -> CanaryResult:
    return CanaryResult("demo", "test", outcome, phase, "", (), measurements, (), drill=drill,  # type: ignore[arg-type]
                        rollback=rollback, rollback_slo_s=30.0)


@settings(max_examples=100, deadline=None)
@given(outcome=st.sampled_from(["promoted", "aborted", "paused", "incomplete"]), drill=st.booleans(),
       done=st.floats(0, 100))
def test_inconclusive_never_passes(outcome: str, drill: bool, done: float) -> None:
    request = DrillRequest("error-rate", "5%") if drill else None
    rollback = RollbackTiming(1.0, 1.0, 1.0 + done, 1.0 + done)
    result = _result(outcome, Phase.INCONCLUSIVE, request, rollback, (_m(Phase.FAILED, 1.0),))
    assert not result.passed
    assert result.verdict == "inconclusive"


def test_rollout_verdicts() -> None:
    assert _result("promoted", Phase.SUCCESSFUL).passed
    assert _result("aborted", Phase.FAILED).verdict == "fail"
    assert _result("paused", Phase.RUNNING).verdict == "inconclusive"


def test_drill_verdict_needs_detection_abort_and_fast_rollback() -> None:
    drill = DrillRequest("error-rate", "5%")
    failed = (_m(Phase.FAILED, 10.0),)
    fast = RollbackTiming(10.0, 10.2, 11.0, 12.0)
    slow = RollbackTiming(10.0, 10.2, 11.0, 45.0)
    assert _result("aborted", Phase.FAILED, drill, fast, failed).passed
    assert "Rollback completed in 2.0 s" in _result("aborted", Phase.FAILED, drill, fast, failed).reason
    assert _result("aborted", Phase.FAILED, drill, slow, failed).verdict == "fail"
    # switched off: the analysis never detects the failure → the drill fails
    assert _result("promoted", Phase.SUCCESSFUL, drill).verdict == "fail"
    # aborted on Errors alone (no data): not a detection → inconclusive, never a pass
    errors = (_m(Phase.ERROR, 10.0),) * 5
    assert _result("aborted", Phase.ERROR, drill, fast, errors).verdict == "inconclusive"


def test_weights_must_increase_and_stay_within_100() -> None:
    RolloutPlan((SetWeightStep(10), PauseStep(1.0), SetWeightStep(50), SetWeightStep(100)))
    with pytest.raises(PlanError, match=r"f.yaml: steps\[1\].setWeight: 10 does not increase"):
        RolloutPlan((SetWeightStep(20), SetWeightStep(10)), source="f.yaml")
    with pytest.raises(PlanError, match=r"steps\[0\].setWeight: 120 is outside"):
        RolloutPlan((SetWeightStep(120),))


@pytest.mark.parametrize(("text", "amount"), [("error-rate=5%", 0.05), ("p95-latency=500ms", 500.0),
                                              ("p95-latency=0.5s", 500.0)])
def test_drill_request_parse(text: str, amount: float) -> None:
    assert DrillRequest.parse(text).amount() == pytest.approx(amount)


@pytest.mark.parametrize("text", ["cpu=5", "error-rate", "error-rate=150%", "p95-latency=fast"])
def test_drill_request_errors(text: str) -> None:
    with pytest.raises(ValueError, match=r"error-rate|p95-latency"):
        DrillRequest.parse(text)
