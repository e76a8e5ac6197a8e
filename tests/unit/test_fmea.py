"""FMEA grading on synthetic measurements whose truth is known (fault times, outage, recovery)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_blissful.grading.fmea import FmeaExpectation, FmeaTiming, grade
from pytest_blissful.grading.probes import ProbeSample
from pytest_blissful.metrics.timeline import Recorder, Timeline

T0 = 1_700_000_000.0


def _world(fault_start: float, fault_end: float, *, outage_until: float | None = None,
           baseline_error: bool = False, slow_ms: float | None = None, end: float = 30.0,
           ) -> tuple[Timeline, list[ProbeSample]]:
    """100 req/s of load and 10 Hz probes; during ``[fault_start, outage_until)`` requests fail (or are slow)."""
    outage_until = fault_end if outage_until is None else outage_until
    recorder = Recorder(T0)
    probes = []
    for tick in range(int(end * 100)):
        at = T0 + tick / 100
        broken = fault_start <= at - T0 < outage_until
        failing = (broken and slow_ms is None) or (baseline_error and at - T0 < fault_start and tick % 5 == 0)
        latency_us = int((slow_ms or 5) * 1000) if broken and slow_ms else 5000
        recorder.record("GET /hello", latency_us, at, status=500 if failing else 200,
                        error="HTTP 500" if failing else None)
        if tick % 10 == 0:
            probes.append(ProbeSample(at=at, path="/hello", ok=not failing, latency_ms=latency_us / 1000,
                                      status=500 if failing else 200))
    return recorder.flush().with_timing(duration_s=end), probes


def _timing(fault_start: float, fault_end: float, end: float = 30.0) -> FmeaTiming:
    return FmeaTiming(baseline_start=T0, fault_start=T0 + fault_start, fault_end=T0 + fault_end,
                      observe_end=T0 + end)


EXPECT = FmeaExpectation(scenario="db-down", expected_behaviour="cached responses served", severity="Critical",
                         occurrence=4, mitigation="add a cache fallback for reads", max_recovery_time_s=10)


@settings(max_examples=60, deadline=None)
@given(start=st.floats(5, 10), length=st.floats(2, 8), lag=st.floats(0, 5))
def test_detection_and_recovery_match_the_truth_within_a_probe_interval(start: float, length: float,
                                                                        lag: float) -> None:
    timeline, probes = _world(start, start + length, outage_until=start + length + lag)
    result = grade(EXPECT, _timing(start, start + length), timeline, probes)
    assert result.detection_s is not None
    assert result.detection_s == pytest.approx(0.0, abs=0.11)  # next probe after the fault starts
    assert result.recovery_s is not None
    assert result.recovery_s == pytest.approx(lag, abs=0.11)


def test_an_outage_under_fault_fails_with_the_reason_and_a_suggestion() -> None:
    timeline, probes = _world(8, 14)
    result = grade(EXPECT, _timing(8, 14), timeline, probes)
    assert result.verdict == "fail"
    assert "error rate under fault 100.00% > 5%" in result.reason
    assert result.impact.summary == "outage"
    assert result.mitigation_status == "❌ none"
    assert "suggestion: add a cache fallback for reads" in result.explain()
    assert result.action_priority == "high"


def test_a_masked_fault_passes_with_no_impact() -> None:
    timeline, probes = _world(8, 14, outage_until=8)  # nothing breaks
    result = grade(EXPECT, _timing(8, 14), timeline, probes)
    assert result.verdict == "pass", result.explain()
    assert result.detection_s is None
    # the service gave no signal at all: masked, not "certain detection" (DETECTION_TABLE)
    assert result.detection_rating == 8
    assert result.severity_rating == 1  # no user-facing impact: no effect
    assert result.action_priority != "high"
    assert result.mitigation_status.startswith("⚠️ not shown")  # no mechanism was observed
    assert result.impact.summary == "no user-facing impact"
    assert result.recovery_s == pytest.approx(0.0, abs=0.11)


def test_latency_beyond_the_slo_fails() -> None:
    timeline, probes = _world(8, 14, slow_ms=2500)
    result = grade(EXPECT, _timing(8, 14), timeline, probes)
    assert result.verdict == "fail"
    assert "p99 under fault" in result.reason
    assert result.detection_s is not None
    assert result.detection_s < 0.25


def test_slow_recovery_fails() -> None:
    timeline, probes = _world(8, 10, outage_until=25)
    result = grade(EXPECT, _timing(8, 10), timeline, probes)
    assert result.verdict == "fail"
    assert "recovery took 15.0 s > 10 s" in result.reason


def test_no_recovery_within_the_observation_fails() -> None:
    timeline, probes = _world(8, 10, outage_until=40)
    result = grade(EXPECT, _timing(8, 10), timeline, probes)
    assert result.recovery_s is None
    assert "did not recover" in result.reason
    assert result.row()["recovery"] == "not recovered"


def test_steady_state_broken_before_the_fault_is_inconclusive_never_pass() -> None:
    timeline, probes = _world(8, 14, outage_until=8, baseline_error=True)
    result = grade(EXPECT, _timing(8, 14), timeline, probes)
    assert result.verdict == "inconclusive"
    assert "steady state not met before the fault" in result.reason
    assert not result.passed


def test_chaos_runner_inconclusive_wins() -> None:
    timeline, probes = _world(8, 14, outage_until=8)
    result = grade(EXPECT, _timing(8, 14), timeline, probes, inconclusive_reason="fault action failed")
    assert result.verdict == "inconclusive"
    assert result.reason == "fault action failed"


@given(st.integers(1, 10), st.sampled_from(["Critical", "High", "Medium", "Low"]))
def test_rpn_is_bounded_and_the_product_of_its_ratings(occurrence: int, severity: str) -> None:
    timeline, probes = _world(8, 14)
    expectation = FmeaExpectation(scenario="x", expected_behaviour="y", severity=severity,  # type: ignore[arg-type]
                                  occurrence=occurrence)
    result = grade(expectation, _timing(8, 14), timeline, probes)
    assert result.rpn == result.severity_rating * result.occurrence_rating * result.detection_rating
    assert 1 <= result.rpn <= 1000
    assert result.to_dict()["rpn"] == result.rpn


def test_a_stall_that_closed_model_load_hides_fails_through_the_user_probes() -> None:
    """Stuck clients send nothing, so the load shows no errors; the fixed-schedule probes time out."""
    timeline, probes = _world(8, 14, outage_until=8)  # the load saw nothing wrong
    stalled = [ProbeSample(at=p.at, path=p.path, ok=not (T0 + 8 <= p.at < T0 + 14), latency_ms=p.latency_ms)
               for p in probes]
    result = grade(EXPECT, _timing(8, 14), timeline, stalled)
    assert result.verdict == "fail"
    assert "user probes failing under fault 100.0% > 5%" in result.reason
    assert result.impact.summary == "outage"


def test_readiness_probes_signal_detection_but_are_not_user_errors() -> None:
    timeline, probes = _world(8, 14, outage_until=8)
    not_ready = [ProbeSample(at=p.at + 0.05, path="/ready", ok=not (T0 + 8 <= p.at < T0 + 14), latency_ms=3.0)
                 for p in probes]
    result = grade(EXPECT, _timing(8, 14), timeline, [*probes, *not_ready])
    assert result.verdict == "pass", result.explain()
    assert result.detection_s == pytest.approx(0.05, abs=0.11)
    assert result.impact.probe_error_rate_percent == 0.0


def test_a_single_slow_probe_is_noise_not_detection() -> None:
    timeline, probes = _world(8, 14, outage_until=8)
    blip = [ProbeSample(at=p.at, path=p.path, ok=True, latency_ms=900.0 if abs(p.at - T0 - 9.0) < 0.01 else 5.0)
            for p in probes]
    result = grade(EXPECT, _timing(8, 14), timeline, blip)
    assert result.detection_s is None


def test_signals_after_the_fault_is_removed_are_recovery_not_detection() -> None:
    timeline, probes = _world(8, 14, outage_until=8)
    late = [ProbeSample(at=p.at, path=p.path, ok=not (T0 + 14.2 <= p.at < T0 + 14.6), latency_ms=5.0)
            for p in probes]
    result = grade(EXPECT, _timing(8, 14), timeline, late)
    assert result.detection_s is None
    assert result.recovery_s == pytest.approx(0.6, abs=0.11)


@given(st.integers(1, 10), st.sampled_from(["Critical", "High", "Medium", "Low"]))
def test_no_user_facing_impact_is_never_high_priority(occurrence: int, severity: str) -> None:
    timeline, probes = _world(8, 14, outage_until=8)  # nothing breaks
    expectation = FmeaExpectation(scenario="x", expected_behaviour="y", severity=severity,  # type: ignore[arg-type]
                                  occurrence=occurrence)
    result = grade(expectation, _timing(8, 14), timeline, probes)
    assert result.impact.summary == "no user-facing impact"
    assert result.severity_rating == 1
    assert result.action_priority != "high"


def _with_readiness(probes: list[ProbeSample], ready_ok: bool) -> list[ProbeSample]:
    ready = [ProbeSample(at=p.at + 0.05, path="/ready", ok=ready_ok or not (T0 + 8 <= p.at < T0 + 14),
                         latency_ms=2, status=200 if ready_ok or not (T0 + 8 <= p.at < T0 + 14) else 503)
             for p in probes]
    return sorted([*probes, *ready], key=lambda p: p.at)


def test_detection_rates_what_the_service_itself_revealed() -> None:
    timeline, probes = _world(8, 14, outage_until=8)  # masked: users see nothing
    silent = grade(EXPECT, _timing(8, 14), timeline, _with_readiness(probes, ready_ok=True))
    flipped = grade(EXPECT, _timing(8, 14), timeline, _with_readiness(probes, ready_ok=False))
    assert silent.detection_rating == 8, silent.detection_signal  # masked and unnoticed is not "certain"
    assert flipped.detection_rating == 3, flipped.detection_signal  # readiness said so within 5 s
    timeline, probes = _world(8, 14)  # an outage with explicit 500s, readiness silent
    assert grade(EXPECT, _timing(8, 14), timeline, probes).detection_rating == 5


def test_a_failed_mechanism_fails_the_run_and_sets_the_mitigation_status() -> None:
    from pytest_blissful.grading.capabilities import Finding
    from pytest_blissful.grading.fmea import apply_findings

    timeline, probes = _world(8, 14, outage_until=8)
    result = grade(EXPECT, _timing(8, 14), timeline, probes)
    shown = apply_findings(result, [Finding("caching", "✅", "db-down", "served from cache")])
    assert shown.passed and shown.mitigation_status == "✅ in place"
    failed = apply_findings(result, [Finding("circuit_breakers", "❌", "db-down", "calls kept waiting")])
    assert failed.verdict == "fail" and "circuit breakers ❌ calls kept waiting" in failed.reason
    assert failed.mitigation_status == "❌ missing: circuit breakers"
    inconclusive = grade(EXPECT, _timing(8, 14), timeline, probes, inconclusive_reason="fault not verified")
    ignored = apply_findings(inconclusive, [Finding("caching", "❌", "db-down", "503s")])
    assert ignored.verdict == "inconclusive" and ignored.findings[0].status == "not shown"
