"""Exact fault windows: verdicts and figures do not depend on where in a second the fault began.

A closed-model world (a fixed set of users, each sending its next request when the previous one answered) meets a
fault whose start falls at an arbitrary sub-second offset: a 500 ms latency, a total freeze, or fast failures.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st

from pytest_blissful.grading.fmea import FmeaExpectation, FmeaTiming, grade
from pytest_blissful.grading.probes import ProbeSample
from pytest_blissful.metrics.timeline import Recorder, Timeline

T0 = 1_700_000_000.0
USERS = 8
BASE_MS = 40.0
END_S = 22.0

# each example grades a whole closed-model world: report the failing example as found rather than shrink it for minutes
_NO_SHRINK = (Phase.explicit, Phase.reuse, Phase.generate)
EXPECT = FmeaExpectation(scenario="x", expected_behaviour="y", max_recovery_time_s=10, hold_s=1.0)


def _answer(kind: str, at: float, start: float, end: float, user: int) -> tuple[float, bool]:
    """Latency (s) and success of a request sent at ``at`` (seconds from T0)."""
    base = (BASE_MS + (user * 7 + int(at * 1000)) % 5) / 1000  # 40..44 ms
    if not start <= at < end:
        return base, True
    if kind == "latency":
        return base + 0.5, True
    if kind == "freeze":
        return (end - at) + base, True  # hangs until the service is thawed, then answers
    return 0.010, False  # fails fast


def _world(kind: str, start: float, length: float) -> tuple[Timeline, list[ProbeSample]]:
    end = start + length
    recorder = Recorder(T0)
    for user in range(USERS):
        at = user * BASE_MS / 1000 / USERS
        while at < END_S:
            latency, ok = _answer(kind, at, start, end, user)
            recorder.record("GET /hello", round(latency * 1e6), T0 + at, status=200 if ok else 503,
                            error=None if ok else "HTTP 503")
            at += latency
    probes = []
    for tick in range(int(END_S * 10)):
        at = tick / 10
        latency, ok = _answer(kind, at, start, end, 99)
        timed_out = latency > 2.0
        probes.append(ProbeSample(at=T0 + at, path="/hello", ok=ok and not timed_out,
                                  latency_ms=min(latency, 2.0) * 1000, status=200 if ok else 503))
    return recorder.flush().with_timing(duration_s=END_S), probes


def _grade(kind: str, start: float, length: float):  # type: ignore[no-untyped-def]
    timeline, probes = _world(kind, start, length)
    timing = FmeaTiming(baseline_start=T0 + 0.5, fault_start=T0 + start, fault_end=T0 + start + length,
                        observe_end=T0 + END_S)
    return grade(EXPECT, timing, timeline, probes)


@settings(max_examples=10, deadline=None, phases=_NO_SHRINK)
@given(offset=st.floats(0, 0.999), other=st.floats(0, 0.999), length=st.floats(2.0, 6.0))
def test_a_500ms_latency_shifts_p50_by_500ms_and_loses_nothing_wherever_it_starts(offset: float, other: float,
                                                                                  length: float) -> None:
    a, b = _grade("latency", 8 + offset, length), _grade("latency", 8 + other, length)
    for result in (a, b):
        assert result.verdict == "pass", result.explain()
        assert result.impact.p50_shift_ms == pytest.approx(500, abs=5)
        assert result.impact.requests_lost == 0
        assert result.impact.summary in {"brief latency spike", "latency degraded"}
    assert a.impact.fault is not None and b.impact.fault is not None
    assert a.impact.fault.p99_ms == pytest.approx(b.impact.fault.p99_ms, rel=0.01)
    assert a.impact.fault.error_rate_percent == b.impact.fault.error_rate_percent == 0.0


@settings(max_examples=10, deadline=None, phases=_NO_SHRINK)
@given(offset=st.floats(0, 0.999), other=st.floats(0, 0.999), length=st.floats(2.5, 6.0))
def test_a_total_freeze_is_an_outage_wherever_it_starts(offset: float, other: float, length: float) -> None:
    a, b = _grade("freeze", 8 + offset, length), _grade("freeze", 8 + other, length)
    for result in (a, b):
        assert result.verdict == "fail", result.explain()
        assert result.impact.summary == "outage"
        assert result.impact.lost_percent >= 95, result.explain()
        # the baseline holds no request that was still in flight when the freeze landed
        assert result.impact.baseline is not None
        assert result.impact.baseline.p99_ms < 50
        assert result.detection_s is not None and result.detection_s <= 0.25
    assert a.impact.lost_percent == pytest.approx(b.impact.lost_percent, abs=3)


@settings(max_examples=10, deadline=None, phases=_NO_SHRINK)
@given(offset=st.floats(0, 0.999), other=st.floats(0, 0.999), length=st.floats(1.0, 6.0))
def test_fast_failures_count_every_request_and_nothing_leaks_into_the_baseline(offset: float, other: float,
                                                                              length: float) -> None:
    a, b = _grade("errors", 8 + offset, length), _grade("errors", 8 + other, length)
    for result in (a, b):
        assert result.verdict == "fail"
        assert result.impact.summary == "outage"
        assert result.impact.error_rate_baseline_percent == 0.0  # never "steady state not met"
        fault = result.impact.fault
        assert fault is not None
        assert fault.errors >= fault.requests - 1  # float noise may put one request sent at the instant on an edge
        assert result.impact.requests_lost >= result.impact.requests_expected * 0.95
    assert a.verdict == b.verdict


@settings(max_examples=15, deadline=None, phases=_NO_SHRINK)
@given(offset=st.floats(0, 0.999), length=st.floats(0.25, 6.0))
def test_window_edges_are_within_one_bucket_of_the_fault(offset: float, length: float) -> None:
    result = _grade("latency", 8 + offset, length)
    fault = result.impact.fault
    assert fault is not None
    start, end = T0 + 8 + offset, T0 + 8 + offset + length
    assert start - 1e-6 <= fault.start < start + 0.1 and end - 0.1 < fault.end <= end + 1e-6
    assert result.impact.baseline is not None and result.impact.baseline.end <= start


@pytest.mark.parametrize(("fault_start", "fault_end", "why"), [
    (9.0, 8.5, "ends before it starts"),
    (9.0, 9.05, "holds no whole 100 ms bucket"),
    (0.3, 3.0, "no baseline"),
    (9.0, math.nan, "no fault end"),
])
def test_a_window_that_cannot_be_computed_is_inconclusive_with_the_reason(fault_start: float, fault_end: float,
                                                                          why: str) -> None:
    timeline, probes = _world("latency", 8, 3)
    timing = FmeaTiming(baseline_start=T0 + 0.5, fault_start=T0 + fault_start, fault_end=T0 + fault_end,
                        observe_end=T0 + END_S)
    result = grade(EXPECT, timing, timeline, probes)
    assert result.verdict == "inconclusive"
    assert why in result.reason
    assert "cannot grade" in result.explain()


def test_no_load_at_all_is_inconclusive() -> None:
    timing = FmeaTiming(baseline_start=T0, fault_start=T0 + 5, fault_end=T0 + 8, observe_end=T0 + 12)
    result = grade(EXPECT, timing, Timeline(T0), [])
    assert result.verdict == "inconclusive"
    assert "no load reached the target before the fault" in result.reason


def test_the_requests_lost_bound_is_the_scenarios_own_when_it_sets_one() -> None:
    """A fault that costs throughput without failing requests (packet loss on one instance) fails on the
    default bound (twice the error-rate SLO), and passes under a scenario's own ``max_requests_lost_percent``;
    failed requests still fail it on the error rate."""
    from dataclasses import replace

    from pytest_blissful.grading.fmea import Impact, _judge

    slowed = Impact(error_rate_baseline_percent=0.0, error_rate_fault_percent=0.2, p99_baseline_ms=270,
                    p99_fault_ms=1850, requests_lost=182, summary="partial outage", requests_expected=1624)
    verdict, reason = _judge(EXPECT, slowed, recovery_s=0.5)
    assert verdict == "fail" and "requests lost under fault 11.2% of those expected > 10%" in reason
    lenient = replace(EXPECT, max_requests_lost_percent=20.0)
    assert _judge(lenient, slowed, recovery_s=0.5)[0] == "pass"
    failing = replace(slowed, error_rate_fault_percent=11.2)
    verdict, reason = _judge(lenient, failing, recovery_s=0.5)
    assert verdict == "fail" and "error rate under fault 11.20% > 5%" in reason


def test_answers_that_get_faster_lose_nothing_when_the_generator_works_between_requests() -> None:
    """A closed-model user also spends time in the load generator between requests. When a fault makes answers
    faster (a breaker answering from its cache), the users send more requests: nothing was lost."""
    from pytest_blissful.grading.fmea import grade

    between_s, start, length = 0.025, 8.0, 4.0
    recorder = Recorder(T0)
    for user in range(USERS):
        at = user * 0.005
        while at < END_S:
            latency = 0.012 if start <= at < start + length else (BASE_MS + user % 5) / 1000
            recorder.record("GET /hello", round(latency * 1e6), T0 + at, status=200)
            at += latency + between_s
    probes = [ProbeSample(at=T0 + tick / 10, path="/hello", ok=True, latency_ms=BASE_MS, status=200)
              for tick in range(int(END_S * 10))]
    timeline = recorder.flush().with_timing(duration_s=END_S)
    timing = FmeaTiming(baseline_start=T0 + 0.5, fault_start=T0 + start, fault_end=T0 + start + length,
                        observe_end=T0 + END_S)
    for users in (USERS, None):  # with the users known or not
        result = grade(EXPECT, timing, timeline, probes, users=users)
        assert result.impact.requests_lost == 0, result.explain()
        assert result.verdict == "pass", result.explain()


def test_more_answers_than_the_baseline_promised_lose_nothing() -> None:
    """A noisy baseline (slow, heavy-tailed: a busy machine) and a fault window in which the service answers
    faster: the users got more answers than expected, so none was lost, whatever the time model estimates."""
    from pytest_blissful.grading.fmea import grade

    start, length = 8.0, 3.0
    recorder = Recorder(T0)
    for user in range(USERS):
        at = user * 0.01
        while at < END_S:
            slow_tail = 0.4 if (int(at * 100) + user) % 7 == 0 else 0.06  # baseline: mean ~110 ms
            latency = 0.03 if start <= at < start + length else slow_tail
            recorder.record("GET /hello", round(latency * 1e6), T0 + at, status=200)
            at += latency + (0.02 if start <= at < start + length else 0.0)  # the generator slower under the fault
    probes = [ProbeSample(at=T0 + tick / 10, path="/hello", ok=True, latency_ms=BASE_MS, status=200)
              for tick in range(int(END_S * 10))]
    timeline = recorder.flush().with_timing(duration_s=END_S)
    timing = FmeaTiming(baseline_start=T0 + 0.5, fault_start=T0 + start, fault_end=T0 + start + length,
                        observe_end=T0 + END_S)
    result = grade(EXPECT, timing, timeline, probes, users=USERS)
    assert result.impact.fault is not None and result.impact.baseline is not None
    assert result.impact.fault.throughput_rps > result.impact.baseline.throughput_rps
    assert result.impact.requests_lost == 0, result.explain()


def test_requests_held_up_from_the_injection_on_are_time_used_not_lost() -> None:
    """The injection takes 0.4 s (the baseline ends when it starts, the fault window when it is done). Each user's
    first call into the fault waits 1.5 s (a timeout, then a fallback), the next ones are normal: every request
    is answered in time, so none is lost, although the first calls were sent before the fault window began and
    held the users for its first second."""
    from pytest_blissful.grading.fmea import grade

    injection, start, length = 7.6, 8.0, 4.0
    recorder = Recorder(T0)
    for user in range(USERS):
        at, held = user * BASE_MS / 1000 / USERS, False
        while at < END_S:
            latency = BASE_MS / 1000
            if injection <= at < start + length:
                latency, held = (BASE_MS / 1000, True) if held else (1.5, True)
            recorder.record("GET /hello", round(latency * 1e6), T0 + at, status=200)
            at += latency
    probes = [ProbeSample(at=T0 + tick / 10, path="/hello", ok=True, latency_ms=BASE_MS, status=200)
              for tick in range(int(END_S * 10))]
    timeline = recorder.flush().with_timing(duration_s=END_S)
    timing = FmeaTiming(baseline_start=T0 + 0.5, fault_start=T0 + start, fault_end=T0 + start + length,
                        observe_end=T0 + END_S, injection_start=T0 + injection)
    result = grade(EXPECT, timing, timeline, probes, users=USERS)
    assert result.impact.requests_lost == 0, result.explain()


def test_a_generator_that_sends_less_on_a_busy_machine_loses_nothing() -> None:
    """The fault (an instance killed behind a retrying balancer) costs the users nothing: every answer is fast and
    200. But the machine is busy under the fault (the injection's own processes), so the load generator works
    longer between requests and sends 25% fewer. That deficit is the generator's, not the service's: nothing lost.
    The same world with answers that hang past the latency SLO loses the users' waiting time."""
    from pytest_blissful.grading.fmea import grade

    start, length = 8.0, 6.0

    def world(hang_s: float) -> Timeline:
        recorder = Recorder(T0)
        for user in range(USERS):
            at, hung = user * 0.005, False
            while at < END_S:
                latency = (BASE_MS + user % 5) / 1000
                if start <= at < start + length and not hung and hang_s:
                    latency, hung = hang_s, True
                recorder.record("GET /hello", round(latency * 1e6), T0 + at, status=200)
                busy = start <= at < start + length
                at += latency + (0.015 if busy else 0.0)  # the generator's own work, longer on a busy machine
        return recorder.flush().with_timing(duration_s=END_S)

    probes = [ProbeSample(at=T0 + tick / 10, path="/hello", ok=True, latency_ms=BASE_MS, status=200)
              for tick in range(int(END_S * 10))]
    timing = FmeaTiming(baseline_start=T0 + 0.5, fault_start=T0 + start, fault_end=T0 + start + length,
                        observe_end=T0 + END_S)
    busy = grade(EXPECT, timing, world(0.0), probes, users=USERS)
    assert busy.impact.fault is not None and busy.impact.baseline is not None
    assert busy.impact.fault.throughput_rps < busy.impact.baseline.throughput_rps * 0.8
    assert busy.impact.requests_lost == 0, busy.explain()
    assert busy.verdict == "pass", busy.explain()
    hung = grade(EXPECT, timing, world(3.0), probes, users=USERS)
    # each user waited 3 s on one answer: 3 s of its 6 s in the window, half the requests expected
    assert 40 <= hung.impact.lost_percent <= 60, hung.explain()
    assert hung.verdict == "fail", hung.explain()


def test_waiting_is_not_lost_when_the_other_users_got_the_answers_anyway() -> None:
    """Two of eight users wait 3 s on one answer (a dropped packet retransmitted), while the others' answers come
    twice as fast: the users as a whole got as many answers in time as the baseline promised. Only the two late
    answers are lost, not the 6 s of waiting."""
    from pytest_blissful.grading.fmea import grade

    start, length = 8.0, 6.0
    recorder = Recorder(T0)
    for user in range(USERS):
        at, hung = user * 0.005, False
        while at < END_S:
            latency = (BASE_MS + user % 5) / 1000
            if start <= at < start + length:
                latency /= 2
                if user < 2 and not hung:
                    latency, hung = 3.0, True
            recorder.record("GET /hello", round(latency * 1e6), T0 + at, status=200)
            at += latency
    probes = [ProbeSample(at=T0 + tick / 10, path="/hello", ok=True, latency_ms=BASE_MS, status=200)
              for tick in range(int(END_S * 10))]
    timing = FmeaTiming(baseline_start=T0 + 0.5, fault_start=T0 + start, fault_end=T0 + start + length,
                        observe_end=T0 + END_S)
    result = grade(EXPECT, timing, recorder.flush().with_timing(duration_s=END_S), probes, users=USERS)
    assert result.impact.requests_late == 2, result.explain()
    assert result.impact.requests_lost == 2, result.explain()
