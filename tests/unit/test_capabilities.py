"""Each capability rule on observations whose truth is known: the mechanism acting → ✅, the failure it prevents
→ ❌, neither → not shown; and the combination over scenarios."""

from __future__ import annotations

from dataclasses import replace

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_blissful.grading.capabilities import (
    CAPABILITIES,
    RULES,
    EndpointEvidence,
    Figures,
    Finding,
    Observation,
    OverloadEvidence,
    ShutdownEvidence,
    combine,
    judge,
    judge_bulkheads,
    judge_caching,
    judge_circuit_breaker,
    judge_graceful_shutdown,
    judge_health_checks,
    judge_rate_limiting,
    judge_retries,
    judge_timeouts,
)
from pytest_blissful.grading.probes import ProbeSample

T0 = 1_700_000_000.0
FAST = Figures(requests=200, p50_ms=3, p95_ms=6, p99_ms=9, rps=50, statuses={200: 200})


def _slow(ms: float, requests: int = 200, errors: int = 0, timeouts: int = 0) -> Figures:
    return Figures(requests=requests, errors=errors, p50_ms=ms, p95_ms=ms, p99_ms=ms, rps=requests / 5,
                   statuses={200: requests - errors, 503: errors}, timeouts=timeouts)


def _endpoint(name: str = "GET /greetings", *, fault: Figures = FAST, late: Figures | None = None,
              after: Figures = FAST) -> EndpointEvidence:
    return EndpointEvidence(name, FAST, fault, late or fault, after)


def _obs(fault: str = "down", **changes: object) -> Observation:
    base = Observation(scenario="s", fault=fault, fault_start=T0 + 10, fault_end=T0 + 20, dependency="postgres",
                       readiness_checks_dependency=True)
    return replace(base, **changes)  # type: ignore[arg-type]


def _probes(path: str, start: float, end: float, ok: bool = True, status: int | None = None,
            degraded: bool = False, latency_ms: float = 3.0, hz: float = 10) -> tuple[ProbeSample, ...]:
    count = int((end - start) * hz)
    return tuple(ProbeSample(at=start + i / hz, path=path, ok=ok, latency_ms=latency_ms,
                             status=status if status is not None else (200 if ok else 503), degraded=degraded)
                 for i in range(count))


def test_every_capability_has_a_rule_and_a_judge() -> None:
    assert set(RULES) == set(CAPABILITIES)
    findings = judge(_obs(), list(CAPABILITIES))
    assert {f.capability for f in findings} == set(CAPABILITIES)
    assert all(f.rule for f in findings)


# -- timeouts -------------------------------------------------------------------------------------------------


def test_timeouts_bounded_below_the_delay_are_shown() -> None:
    found = judge_timeouts(_obs("latency", injected_delay_ms=2000, affected=(_endpoint(fault=_slow(1050)),)))
    assert found.status == "✅", found.summary
    assert found.evidence["p99_fault_ms"] == 1050


def test_calls_waiting_as_long_as_the_dependency_fail_the_timeouts() -> None:
    found = judge_timeouts(_obs("latency", injected_delay_ms=2000, affected=(_endpoint(fault=_slow(4100)),)))
    assert found.status == "❌"


def test_a_delay_within_the_slo_is_not_a_timeout_failure() -> None:
    found = judge_timeouts(_obs("latency", injected_delay_ms=500, affected=(_endpoint(fault=_slow(520)),)))
    assert found.status == "not shown"


def test_a_hung_dependency_with_client_timeouts_fails_the_timeouts() -> None:
    found = judge_timeouts(_obs("hang", affected=(_endpoint(fault=_slow(5000, errors=50, timeouts=50)),)))
    assert found.status == "❌"
    assert judge_timeouts(_obs("hang", affected=(_endpoint(fault=_slow(1000)),))).status == "✅"


def test_a_down_dependency_does_not_exercise_timeouts() -> None:
    assert judge_timeouts(_obs("down", affected=(_endpoint(),))).status == "not shown"


# -- circuit breaker ------------------------------------------------------------------------------------------


def test_fail_fast_late_in_a_hang_shows_the_breaker() -> None:
    found = judge_circuit_breaker(_obs("hang", affected=(_endpoint(fault=_slow(1000), late=FAST),)))
    assert found.status == "✅", found.summary


def test_calls_still_slow_late_in_a_hang_fail_the_breaker() -> None:
    found = judge_circuit_breaker(_obs("hang", affected=(_endpoint(fault=_slow(1000), late=_slow(1000)),)))
    assert found.status == "❌"
    assert "kept waiting" in found.summary


def test_calls_that_never_slowed_show_no_breaker() -> None:
    assert judge_circuit_breaker(_obs("hang", affected=(_endpoint(),))).status == "not shown"


# -- fallbacks ------------------------------------------------------------------------------------------------


def test_successful_degraded_answers_while_down_show_the_fallback() -> None:
    probes = _probes("/greetings", T0 + 10, T0 + 20, degraded=True)
    found = judge_caching(_obs(affected=(_endpoint(),), endpoint_probes=probes, degraded_marked=True))
    assert found.status == "✅", found.summary
    assert found.evidence["degraded_probe_answers"] == len(probes)


def test_errors_while_down_fail_the_fallback() -> None:
    found = judge_caching(_obs(affected=(_endpoint(fault=_slow(3, errors=150)),)))
    assert found.status == "❌"


def test_success_without_any_degraded_mark_is_not_shown() -> None:
    probes = _probes("/greetings", T0 + 10, T0 + 20)
    found = judge_caching(_obs(affected=(_endpoint(),), endpoint_probes=probes, degraded_marked=True))
    assert found.status == "not shown"


# -- retries --------------------------------------------------------------------------------------------------


def _retry_obs(visible: float) -> Observation:
    total = 100
    good = round(visible * total)
    probes = tuple(ProbeSample(at=T0 + 10 + i * 0.05, path="/dependency", ok=i < good, latency_ms=3,
                               status=200 if i < good else 502) for i in range(total))
    return _obs("partial", attempt_success_rate=0.5, affected=(_endpoint("GET /dependency"),), endpoint_probes=probes)


@given(st.floats(0.0, 1.0))
def test_retries_verdict_follows_the_visible_success_rate(visible: float) -> None:
    status = judge_retries(_retry_obs(visible)).status
    share = round(visible * 100) / 100
    if share >= 0.75:
        assert status == "✅"
    elif share <= 0.575:
        assert status == "❌"
    else:
        assert status == "not shown"


def test_degraded_answers_do_not_count_as_retried_successes() -> None:
    probes = tuple(replace(p, degraded=True) for p in _retry_obs(1.0).endpoint_probes)
    obs = replace(_retry_obs(1.0), endpoint_probes=probes, degraded_marked=True)
    assert judge_retries(obs).status == "❌"


# -- health checks --------------------------------------------------------------------------------------------


def _health(ready_ok_under: bool, live_ok: bool = True, back: bool = True) -> Observation:
    readiness = (_probes("/ready", T0 + 5, T0 + 10) + _probes("/ready", T0 + 10, T0 + 20, ok=ready_ok_under)
                 + _probes("/ready", T0 + 20, T0 + 25, ok=back))
    liveness = _probes("/live", T0 + 5, T0 + 10) + _probes("/live", T0 + 10, T0 + 20, ok=live_ok)
    return _obs(readiness=readiness, liveness=liveness)


def test_readiness_flipping_while_liveness_holds_shows_health_checks() -> None:
    found = judge_health_checks(_health(False))
    assert found.status == "✅", found.summary
    assert found.evidence["ready_503_after_s"] == pytest.approx(0.0, abs=0.01)


def test_readiness_that_never_flips_fails_health_checks() -> None:
    assert judge_health_checks(_health(True)).status == "❌"


def test_liveness_tied_to_a_dependency_fails_health_checks() -> None:
    assert judge_health_checks(_health(False, live_ok=False)).status == "❌"


def test_readiness_that_never_returns_fails_health_checks() -> None:
    assert judge_health_checks(_health(False, back=False)).status == "❌"


def test_a_dependency_readiness_does_not_check_is_not_shown() -> None:
    assert judge_health_checks(replace(_health(True), readiness_checks_dependency=False)).status == "not shown"


# -- graceful shutdown ----------------------------------------------------------------------------------------


def _shutdown(**changes: object) -> Observation:
    base = ShutdownEvidence(sigterm_at=T0, grace_s=10, in_flight=6, in_flight_failed=0, ready_503_at=T0 + 0.05,
                            exited_at=T0 + 0.7, exit_code=0)
    return _obs("instance-stop", shutdown=replace(base, **changes))  # type: ignore[arg-type]


def test_a_drained_exit_shows_graceful_shutdown() -> None:
    assert judge_graceful_shutdown(_shutdown()).status == "✅"


@pytest.mark.parametrize("changes", [
    {"in_flight_failed": 3, "ready_503_at": None, "exited_at": T0 + 0.02, "exit_code": 143},
    {"exit_code": 137, "exited_at": T0 + 10.1},
    {"ready_503_at": None, "exit_code": 143},
])
def test_a_hard_or_late_exit_fails_graceful_shutdown(changes: dict[str, object]) -> None:
    assert judge_graceful_shutdown(_shutdown(**changes)).status == "❌"


def test_nothing_in_flight_shows_nothing() -> None:
    assert judge_graceful_shutdown(_shutdown(in_flight=0)).status == "not shown"
    assert judge_graceful_shutdown(_obs()).status == "not shown"


# -- rate limiting --------------------------------------------------------------------------------------------


def _overload(statuses: dict[int, int], p99: float, **changes: object) -> Observation:
    requests = sum(statuses.values())
    errors = sum(n for code, n in statuses.items() if code >= 400)
    fault = Figures(requests=requests, errors=errors, p50_ms=p99 / 3, p95_ms=p99 / 2, p99_ms=p99, rps=requests / 5,
                    statuses=statuses)
    base = OverloadEvidence(capacity_rps=400, offered_rps=1300, fault=fault, dropped=0, shed_p95_ms=4.0,
                            admitted_p99_ms=p99, probes=50, baseline_p95_ms=8)
    return _obs("overload", overload=replace(base, **changes))  # type: ignore[arg-type]


def test_fast_shedding_with_admitted_requests_in_slo_shows_rate_limiting() -> None:
    found = judge_rate_limiting(_overload({200: 2000, 429: 4000}, p99=40))
    assert found.status == "✅", found.summary


def test_no_shedding_and_exploding_latency_fails_rate_limiting() -> None:
    found = judge_rate_limiting(_overload({200: 1800, 0: 200}, p99=5000, dropped=3000, shed_p95_ms=None))
    assert found.status == "❌"


def test_no_shedding_with_answers_queueing_within_the_slo_fails_rate_limiting() -> None:
    """The excess queued instead of being shed: p95 1200 ms against 200 ms before, still under the 2 s p99 SLO."""
    queued = judge_rate_limiting(_overload({200: 2000}, p99=1900, baseline_p95_ms=200))
    assert queued.status == "❌" and "queued instead" in queued.summary
    kept_up = judge_rate_limiting(_overload({200: 2000}, p99=500, baseline_p95_ms=200))
    assert kept_up.status == "not shown"


def test_an_overload_below_capacity_shows_nothing() -> None:
    assert judge_rate_limiting(_overload({200: 2000}, p99=9, offered_rps=500)).status == "not shown"


# -- bulkheads ------------------------------------------------------------------------------------------------


def test_unaffected_endpoints_holding_show_bulkheads() -> None:
    found = judge_bulkheads(_obs("hang", unaffected=(_endpoint("GET /hello"),)))
    assert found.status == "✅"


def test_starved_unaffected_endpoints_fail_bulkheads() -> None:
    found = judge_bulkheads(_obs("hang", unaffected=(_endpoint("GET /hello", fault=_slow(4800, errors=40)),)))
    assert found.status == "❌"
    assert "GET /hello" in found.summary


# -- combination ----------------------------------------------------------------------------------------------


def test_any_failure_wins_and_findings_round_trip() -> None:
    shown = Finding("caching", "✅", "db-down", "served from cache")
    failed = Finding("caching", "❌", "kafka-down", "503s")
    verdicts = {v.name: v for v in combine([shown, failed, Finding.from_dict(shown.to_dict())])}
    assert verdicts["caching"].status == "❌"
    assert verdicts["caching"].note == "kafka-down: 503s"
    assert verdicts["timeouts"].status == "not shown"


def test_a_rule_that_cannot_compute_is_not_shown_never_a_traceback() -> None:
    broken = _obs("latency", injected_delay_ms=float("nan"), affected=(_endpoint(fault=_slow(10)),))
    findings = judge(broken, ["timeouts", "unknown-capability"])
    assert [f.status for f in findings] == ["not shown"]


def test_a_dependency_failing_fast_shows_no_bulkheads() -> None:
    """A down dependency that refuses at once holds no shared worker: unaffected endpoints keep their SLOs with or
    without bulkheads (the fragile demo did), so the run shows nothing either way."""
    found = judge_bulkheads(_obs("down", unaffected=(_endpoint("GET /hello"),)))
    assert found.status == "not shown" and "fails fast" in found.summary
