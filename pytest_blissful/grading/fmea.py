"""FMEA grading: from what was measured around one injected fault to a verdict and an FMEA row. Pure, no I/O.

Inputs are the 10 Hz steady-state probe samples, the load timeline (100 ms buckets) and the fault window (epoch
seconds, from the Chaos Toolkit run events).

* **windows**: the *baseline* holds the requests sent strictly before the injection (whole buckets, ending a guard
  before it so that requests still in flight when the fault landed are not counted as baseline); the *fault window*
  holds the requests sent from injection to removal (whole buckets inside it). Both are exact to one bucket
  (100 ms), whatever the instant within a second the fault began; their p50/p95/p99, error rate and throughput are
  reported side by side (:class:`WindowFigures`).
* **requests lost**: requests that failed, or were never served in time, because of the fault: the larger of the
  failed-or-late count and the closed-model cost (the fast failures, plus the user time spent waiting on answers
  later than the latency SLO, turned into requests at the baseline's rate per user). A latency-only fault whose
  requests all came back within the SLO loses none; a total freeze loses the baseline rate × its duration; a load
  generator that sends less because the machine is busy loses none (its time is not the service's).

* **detection time**: fault start → the first probe sample that shows the fault (an error, ``/ready`` not
  ready, or latency beyond the baseline bound); falls back to the first whole second of load whose error
  rate or p99 left the baseline when the probes saw nothing.
* **recovery time**: fault removal → the first instant from which every probe sample for ``hold_s`` is
  healthy again and the load over that span meets the SLOs.
* **verdict**: ``inconclusive`` when the baseline did not meet the SLOs or the fault was not really
  injected; ``fail`` when the SLOs broke under the fault or recovery was slower than allowed (or never
  happened); else ``pass``.
* **ratings** (each 1–10, see :data:`DETECTION_TABLE` and ``docs/capabilities.md``): *severity* is the scenario's
  declared severity scaled by the user-facing impact the run observed (no impact → 1, "no effect"); *occurrence*
  comes from the scenario; *detection* rates how well the **service itself** revealed the failure (readiness
  flipping, answers marked degraded, explicit error answers), not how fast the harness's probes saw symptoms.
* **RPN** = severity × occurrence × detection; the **action priority** (high / medium / low) follows the
  AIAG-VDA idea that severity leads: no user-facing impact is never "high".
* **mitigation status** comes from the capability findings (``grading.capabilities``): ✅ only when every
  mechanism the scenario exercises was seen acting.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from pytest_blissful.grading.capabilities import FAILED, NOT_SHOWN, SHOWN, Finding
from pytest_blissful.grading.probes import ProbeSample
from pytest_blissful.metrics.timeline import Timeline, Window

Verdict = Literal["pass", "fail", "inconclusive"]
Severity = Literal["Critical", "High", "Medium", "Low"]

SEVERITY_RATING: dict[str, int] = {"Critical": 9, "High": 7, "Medium": 5, "Low": 3}
#: Cap on the severity rating per observed impact (the declared severity applies in full to an outage).
IMPACT_SEVERITY_CAP: dict[str, int] = {
    "outage": 10, "partial outage": 10, "latency degraded": 5, "brief latency spike": 4, "few errors": 4,
    "no user-facing impact": 1,
}
#: Detection ratings: how well the service itself revealed the failure (1 best, 10 worst).
DETECTION_TABLE: tuple[tuple[int, str], ...] = (
    (2, "readiness turned 503 within 5 s of the fault, and answers were marked degraded or were explicit errors"),
    (3, "readiness turned 503 within 5 s of the fault"),
    (4, "readiness turned 503 later in the fault, or answers were marked degraded (chaos.degraded_header)"),
    (5, "explicit error answers (HTTP 5xx / 429) said requests failed; readiness stayed 200"),
    (8, "the service gave no signal and users saw no impact: the failure was masked, unnoticed"),
    (10, "the service gave no signal while users were affected (slow answers, timeouts, dropped connections)"),
)
BASELINE_GUARD_MAX_S = 1.0  # the baseline ends this much (at most) before the injection: see baseline_guard_s
CONFIRM_S = 1.5  # a second disturbed probe within this confirms a detection signal


@dataclass(frozen=True)
class FmeaExpectation:
    """What a scenario expects of the service and how much its failure matters."""

    scenario: str
    expected_behaviour: str
    severity: Severity = "High"
    occurrence: int = 5  # 1 (remote) .. 10 (almost certain), the FMEA occurrence rating
    max_error_rate_percent: float = 5.0
    max_p99_latency_ms: float = 2000.0
    max_recovery_time_s: float = 60.0
    max_requests_lost_percent: float | None = None  # None: max_error_rate_percent
    critical_error_rate_percent: float = 50.0  # abort bound for abort_on_critical_failure
    mitigation: str = ""  # what to add when this scenario fails
    weight: float = 1.0
    hold_s: float = 2.0


@dataclass(frozen=True)
class FmeaTiming:
    """Instants of one FMEA run, epoch seconds.

    ``fault_start``/``fault_end``: the fault fully in place (applied → removal started): the fault window, and the
    origin of detection times. ``injection_start``: the first injection action started (the baseline ends before
    it; default ``fault_start``). ``removal_done``: the rollbacks ended, the origin of recovery times (default
    ``fault_end``).
    """

    baseline_start: float
    fault_start: float
    fault_end: float
    observe_end: float
    injection_start: float | None = None
    removal_done: float | None = None

    @property
    def baseline_end(self) -> float:
        return self.fault_start if self.injection_start is None else min(self.injection_start, self.fault_start)

    @property
    def recovery_origin(self) -> float:
        return self.fault_end if self.removal_done is None else max(self.removal_done, self.fault_end)


@dataclass(frozen=True)
class WindowFigures:
    """Load figures over one window (the baseline or the fault): the requests *sent* in it, whole buckets."""

    start: float  # epoch of the first bucket counted
    end: float  # epoch of the end of the last bucket counted
    requests: int
    errors: int
    error_rate_percent: float
    throughput_rps: float
    p50_ms: float
    p95_ms: float
    p99_ms: float

    @property
    def duration_s(self) -> float:
        return max(self.end - self.start, 0.0)

    @classmethod
    def of(cls, window: Window, timeline: Timeline) -> WindowFigures:
        first, last = window.covered_s
        return cls(start=timeline.epoch_of(first), end=timeline.epoch_of(last), requests=window.requests,
                   errors=window.errors, error_rate_percent=window.error_rate * 100, throughput_rps=window.rps,
                   p50_ms=window.p50_ms, p95_ms=window.p95_ms, p99_ms=window.p99_ms)

    def describe(self) -> str:
        return (f"{self.requests} requests in {self.duration_s:.1f} s ({self.throughput_rps:.1f}/s), "
                f"error rate {self.error_rate_percent:.2f}%, p50 {self.p50_ms:.1f} / p95 {self.p95_ms:.1f} / "
                f"p99 {self.p99_ms:.1f} ms")


@dataclass(frozen=True)
class Impact:
    error_rate_baseline_percent: float
    error_rate_fault_percent: float
    p99_baseline_ms: float
    p99_fault_ms: float
    requests_lost: int
    summary: str
    probe_error_rate_percent: float = 0.0  # synthetic user probes failing under the fault
    baseline: WindowFigures | None = None
    fault: WindowFigures | None = None
    requests_expected: int = 0  # the baseline rate over the fault window
    requests_failed: int = 0
    requests_late: int = 0  # succeeded, but slower than the latency SLO

    @property
    def lost_percent(self) -> float:
        """Requests lost as a share of those the baseline rate would have sent during the fault (at most 100: fast
        failures make closed-model clients send more requests than the baseline did)."""
        return min(100.0, 100.0 * self.requests_lost / self.requests_expected) if self.requests_expected else 0.0

    @property
    def p50_shift_ms(self) -> float:
        """How much the fault moved the median latency of the requests sent under it."""
        if self.fault is None or self.baseline is None or not self.fault.requests:
            return 0.0
        return self.fault.p50_ms - self.baseline.p50_ms

    @property
    def latency_delta_ms(self) -> float:
        return self.p99_fault_ms - self.p99_baseline_ms

    @property
    def error_rate_delta_percent(self) -> float:
        return self.error_rate_fault_percent - self.error_rate_baseline_percent


@dataclass(frozen=True)
class FmeaResult:
    scenario: str
    verdict: Verdict
    reason: str
    severity: Severity
    detection_s: float | None
    recovery_s: float | None
    impact: Impact
    severity_rating: int
    occurrence_rating: int
    detection_rating: int
    expected_behaviour: str
    mitigation: str = ""
    weight: float = 1.0
    aborted: bool = False
    evidence: dict[str, Any] = field(default_factory=dict)
    findings: tuple[Finding, ...] = ()  # capabilities judged from this run (grading.capabilities)
    detection_signal: str = ""  # why the detection rating is what it is (DETECTION_TABLE)

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    @property
    def rpn(self) -> int:
        return self.severity_rating * self.occurrence_rating * self.detection_rating

    @property
    def action_priority(self) -> Literal["high", "medium", "low"]:
        """Severity first (AIAG-VDA): no user-facing impact (severity 1) is low, or medium when the service did
        not even reveal the failure; high needs a severe effect that is likely or hard to detect."""
        s, o, d = self.severity_rating, self.occurrence_rating, self.detection_rating
        if s <= 1:
            return "medium" if d >= 8 and o >= 4 else "low"
        if (s >= 9 and (o >= 4 or d >= 5)) or (s >= 7 and o >= 6 and d >= 5) or self.rpn >= 200:
            return "high"
        if s >= 7 or self.rpn >= 80 or not self.passed:
            return "medium"
        return "low"

    @property
    def mitigation_status(self) -> str:
        """From the mechanisms observed: ✅ only when every capability the scenario exercises was shown."""
        failed = [f.title for f in self.findings if f.status == FAILED]
        unseen = [f.title for f in self.findings if f.status not in (SHOWN, FAILED)]
        if failed:
            return "❌ missing: " + ", ".join(failed)
        if self.verdict == "inconclusive":
            return "⚠️ unknown"
        if self.verdict == "fail":
            return "❌ none" if not self.findings or unseen else "⚠️ needs work"
        if not self.findings:
            return "⚠️ not shown (no mechanism observed)"
        if unseen:
            return "⚠️ not shown: " + ", ".join(unseen)
        return "✅ in place"

    def row(self) -> dict[str, str]:
        """The FMEA table row (strings, in the spec's column order)."""
        return {
            "failure mode": self.scenario,
            "severity": self.severity,
            "detection": _seconds(self.detection_s, "not detected"),
            "recovery": _seconds(self.recovery_s, "not recovered"),
            "impact": self.impact.summary,
            "mitigation": self.mitigation_status,
            "verdict": self.verdict,
            "RPN": str(self.rpn),
        }

    def explain(self) -> str:
        row = self.row()
        lines = [f"FMEA {self.scenario}: {self.verdict.upper()} — {self.reason}",
                 "  " + " | ".join(f"{k}: {v}" for k, v in row.items()),
                 f"  expected: {self.expected_behaviour}",
                 f"  error rate {self.impact.error_rate_baseline_percent:.2f}% → "
                 f"{self.impact.error_rate_fault_percent:.2f}% under fault, p99 {self.impact.p99_baseline_ms:.1f} → "
                 f"{self.impact.p99_fault_ms:.1f} ms, requests lost {self.impact.requests_lost}, "
                 f"user probes failing {self.impact.probe_error_rate_percent:.1f}%"]
        if self.impact.baseline is not None and self.impact.fault is not None:
            lines.append(f"  baseline: {self.impact.baseline.describe()}")
            lines.append(f"  fault:    {self.impact.fault.describe()}")
            lines.append(f"  requests lost {self.impact.requests_lost} of {self.impact.requests_expected} expected "
                         f"({self.impact.requests_failed} failed, {self.impact.requests_late} late, the rest "
                         "the users' time spent waiting on late answers)")
        if self.verdict == "fail" and self.mitigation:
            lines.append(f"  suggestion: {self.mitigation}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"FmeaResult({self.explain()})"

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["findings"] = [f.to_dict() for f in self.findings]
        data.update(rpn=self.rpn, action_priority=self.action_priority, mitigation_status=self.mitigation_status,
                    passed=self.passed)
        return data


def _seconds(value: float | None, missing: str) -> str:
    return missing if value is None else f"{value:.2f}s"


# -- grading --------------------------------------------------------------------------------------------------


def grade(
    expectation: FmeaExpectation,
    timing: FmeaTiming,
    timeline: Timeline,
    probes: Sequence[ProbeSample],
    *,
    inconclusive_reason: str | None = None,
    aborted_reason: str | None = None,
    readiness_paths: Sequence[str] = ("/ready",),
    users: int | None = None,
) -> FmeaResult:
    """Grade one scenario run.

    Probes of ``readiness_paths`` are signals for detection and recovery only (a dependency fault *should*
    flip readiness); every other probe stands for a user: its failures under the fault count against the
    error-rate SLO. Probes run on a fixed schedule, so they also catch a stall that closed-model load hides
    (stuck clients send no requests, and a request that is never sent is never counted as an error).
    """
    probes = usable_probes(probes, timing, readiness_paths)
    windows = grading_windows(timeline, timing)
    if isinstance(windows, str):  # a window that cannot be computed: say why, never raise
        return _not_computable(expectation, timing, windows, inconclusive_reason, len(probes))
    baseline, fault = windows
    bound_ms = latency_bound_ms(probes, timing)

    detection_s = detect(probes, timeline, timing, bound_ms, baseline)
    recovered_at = recovery_instant(probes, timeline, timing, bound_ms, expectation)
    recovery_s = None if recovered_at is None else max(0.0, recovered_at - timing.recovery_origin)
    impact = measure_impact(baseline, fault, timeline, timing, recovery_s,
                            [p for p in probes if p.path not in readiness_paths],
                            patience_ms=expectation.max_p99_latency_ms, users=users,
                            accounted=timeline.window(baseline.covered_s[1],
                                                      timeline.second_at_epoch(timing.fault_end), edges="inside"))

    baseline_error_pct = baseline.error_rate * 100
    # the users' steady state: readiness / liveness probes are signals, judged by the capability rules
    before = [p for p in probes
              if timing.baseline_start <= p.at < timing.baseline_end and p.path not in readiness_paths]
    baseline_probe_pct = 100.0 * sum(not p.ok for p in before) / len(before) if before else 0.0
    reason: str
    verdict: Verdict
    if inconclusive_reason:
        verdict, reason = "inconclusive", inconclusive_reason
    elif baseline.requests == 0:
        verdict, reason = "inconclusive", "no load reached the target before the fault (no baseline)"
    elif (baseline_error_pct > expectation.max_error_rate_percent or baseline.p99_ms > expectation.max_p99_latency_ms
          or baseline_probe_pct > expectation.max_error_rate_percent):
        verdict, reason = "inconclusive", (
            f"steady state not met before the fault (baseline error rate {baseline_error_pct:.2f}%, "
            f"p99 {baseline.p99_ms:.1f} ms, probes failing {baseline_probe_pct:.1f}%): "
            "nothing can be concluded about the fault")
    else:
        verdict, reason = _judge(expectation, impact, recovery_s)
    if aborted_reason and verdict != "inconclusive":
        verdict, reason = "fail", f"aborted: {aborted_reason}"
    rating, signal = detection_rating(service_signals(probes, fault, timing, readiness_paths), impact)

    return FmeaResult(
        scenario=expectation.scenario,
        verdict=verdict,
        reason=reason,
        severity=expectation.severity,
        detection_s=detection_s,
        recovery_s=recovery_s,
        impact=impact,
        severity_rating=severity_rating(expectation.severity, impact),
        occurrence_rating=min(10, max(1, expectation.occurrence)),
        detection_rating=rating,
        detection_signal=signal,
        expected_behaviour=expectation.expected_behaviour,
        mitigation=expectation.mitigation,
        weight=expectation.weight,
        aborted=aborted_reason is not None,
        evidence={
            "latency_bound_ms": bound_ms,
            "baseline": asdict(impact.baseline) if impact.baseline else None,
            "fault": asdict(impact.fault) if impact.fault else None,
            "resolution_s": timeline.resolution_s,
            "probes": len(probes),
            "timing": asdict(timing),
        },
    )


def usable_probes(probes: Sequence[ProbeSample], timing: FmeaTiming,
                  signal_paths: Sequence[str]) -> list[ProbeSample]:
    """The probes sorted by time, without signal paths (readiness, liveness) that never answered OK before the
    fault: a service without ``/live`` answers 404 throughout, which signals nothing."""
    worked = {p.path for p in probes if p.ok and timing.baseline_start <= p.at < timing.fault_start}
    return sorted((p for p in probes if p.path in worked or p.path not in signal_paths), key=lambda p: p.at)


def baseline_guard_s(timeline: Timeline, timing: FmeaTiming) -> float:
    """How long before the injection the baseline ends: requests sent just before it were still in flight when
    the fault landed (a freeze hangs them, a kill fails them), so they belong to neither window. Three times the
    p99 of the baseline's earlier part, at least one bucket, at most ``BASELINE_GUARD_MAX_S``."""
    start = timeline.second_at_epoch(timing.baseline_start)
    end = timeline.second_at_epoch(timing.baseline_end) - BASELINE_GUARD_MAX_S
    early = timeline.window(start, end, edges="inside") if end > start else None
    p99_s = early.p99_ms / 1000 if early is not None and early.requests else BASELINE_GUARD_MAX_S
    return min(max(3 * p99_s, timeline.resolution_s), BASELINE_GUARD_MAX_S)


def grading_windows(timeline: Timeline, timing: FmeaTiming) -> tuple[Window, Window] | str:
    """The baseline and fault windows (see the module docstring), or why they cannot be computed."""
    instants = {"baseline start": timing.baseline_start, "fault start": timing.fault_start,
                "fault end": timing.fault_end}
    bad = [name for name, value in instants.items() if not math.isfinite(value)]
    if bad:
        return f"cannot grade: no {' and no '.join(bad)} was recorded"
    if timing.fault_end < timing.fault_start:
        early = timing.fault_end - timing.fault_start
        return f"cannot grade: the fault window ends before it starts (removal {early:+.3f} s after injection)"
    if timing.baseline_end <= timing.baseline_start:
        return "cannot grade: no baseline (the fault was injected before the load's baseline started)"
    guard = baseline_guard_s(timeline, timing)
    baseline = timeline.window_epoch(timing.baseline_start, timing.baseline_end - guard, edges="inside")
    fault = timeline.window_epoch(timing.fault_start, timing.fault_end, edges="inside")
    if baseline.duration_s <= 0:
        return (f"cannot grade: no baseline (the fault came {timing.fault_start - timing.baseline_start:.2f} s after "
                f"the load started; the baseline needs whole {timeline.resolution_s * 1000:.0f} ms buckets before it)")
    if fault.duration_s <= 0:
        return (f"cannot grade: the fault window ({timing.fault_end - timing.fault_start:.3f} s) holds no whole "
                f"{timeline.resolution_s * 1000:.0f} ms bucket of the load timeline")
    return baseline, fault


def _not_computable(expectation: FmeaExpectation, timing: FmeaTiming, why: str, inconclusive_reason: str | None,
                    probes: int) -> FmeaResult:
    empty = Impact(error_rate_baseline_percent=0.0, error_rate_fault_percent=0.0, p99_baseline_ms=0.0,
                   p99_fault_ms=0.0, requests_lost=0, summary="not measured")
    return FmeaResult(
        scenario=expectation.scenario, verdict="inconclusive", reason=inconclusive_reason or why,
        severity=expectation.severity, detection_s=None, recovery_s=None, impact=empty,
        severity_rating=SEVERITY_RATING[expectation.severity],
        occurrence_rating=min(10, max(1, expectation.occurrence)),
        detection_rating=10, detection_signal="not measured: the run could not be graded",
        expected_behaviour=expectation.expected_behaviour,
        mitigation=expectation.mitigation,
        weight=expectation.weight, evidence={"not_computable": why, "probes": probes, "timing": asdict(timing)},
    )


def _judge(expectation: FmeaExpectation, impact: Impact, recovery_s: float | None) -> tuple[Verdict, str]:
    problems = []
    if impact.error_rate_fault_percent > expectation.max_error_rate_percent:
        problems.append(f"error rate under fault {impact.error_rate_fault_percent:.2f}% > "
                        f"{expectation.max_error_rate_percent:g}%")
    max_lost = expectation.max_requests_lost_percent
    if max_lost is None:  # the deficit is an estimate, good to about ±5 points on a busy machine
        max_lost = 2 * expectation.max_error_rate_percent
    if impact.lost_percent > max(max_lost, impact.error_rate_fault_percent):
        problems.append(f"requests lost under fault {impact.lost_percent:.1f}% of those expected > "
                        f"{max_lost:g}% ({impact.requests_lost} of {impact.requests_expected})")
    if impact.probe_error_rate_percent > expectation.max_error_rate_percent:
        problems.append(f"user probes failing under fault {impact.probe_error_rate_percent:.1f}% > "
                        f"{expectation.max_error_rate_percent:g}%")
    if impact.p99_fault_ms > expectation.max_p99_latency_ms:
        problems.append(f"p99 under fault {impact.p99_fault_ms:.0f} ms > {expectation.max_p99_latency_ms:g} ms")
    if recovery_s is None:
        problems.append("did not recover after the fault was removed")
    elif recovery_s > expectation.max_recovery_time_s:
        problems.append(f"recovery took {recovery_s:.1f} s > {expectation.max_recovery_time_s:g} s")
    if problems:
        return "fail", "; ".join(problems)
    return "pass", f"{expectation.expected_behaviour} (SLOs held under the fault and after recovery)"


def latency_bound_ms(probes: Sequence[ProbeSample], timing: FmeaTiming) -> float:
    """Latency beyond which a probe counts as disturbed: 3 × the baseline's p95, at least its p95 + 50 ms.

    The p95 rather than the maximum: one slow baseline outlier on a busy machine must not blind detection.
    """
    base = sorted(p.latency_ms for p in probes if timing.baseline_start <= p.at < timing.baseline_end and p.ok)
    typical = base[min(len(base) - 1, int(0.95 * len(base)))] if base else 100.0
    return max(3 * typical, typical + 50.0)


def _disturbed(sample: ProbeSample, bound_ms: float) -> bool:
    return not sample.ok or sample.latency_ms > bound_ms


def detect(probes: Sequence[ProbeSample], timeline: Timeline, timing: FmeaTiming, bound_ms: float,
           baseline: Window) -> float | None:
    """Seconds from the fault being in place to the first request it disturbed; None when nothing showed.

    Like recovery (the first request answered healthily again), detection is placed at a request's *sending*:
    the instant from which requests were affected. The signal is a disturbed probe (an error, or latency past
    the bound) that another disturbed probe confirms within ``CONFIRM_S``: one slow answer on a busy machine is
    noise, not detection. A request already in flight when the fault landed and disturbed by it counts from the
    fault's start (0 s). Only disturbances that showed while the fault was in place count; what happens
    afterwards is recovery.
    """
    disturbed = [p for p in probes if _disturbed(p, bound_ms)]
    for index, sample in enumerate(disturbed):
        # when the disturbance showed: a slow answer (or a timeout) once it passed the bound, a fast error when
        # it came back
        observed_at = sample.at + min(sample.latency_ms, bound_ms) / 1000
        if observed_at < timing.fault_start:
            continue
        if sample.at > timing.fault_end:
            break
        if any(0 < other.at - sample.at <= CONFIRM_S for other in disturbed[index + 1:index + 50]):
            return max(0.0, sample.at - timing.fault_start)
    error_bound = max(baseline.error_rate * 2, 0.01)
    p99_bound = max(baseline.p99_ms * 3, baseline.p99_ms + 50.0)
    lo, hi = timeline.bucket_span(timeline.second_at_epoch(timing.fault_start),
                                  timeline.second_at_epoch(timing.fault_end), "inside")
    step = timeline.resolution_s
    for bucket in range(lo, hi):
        w = timeline.window(bucket * step, (bucket + 1) * step, edges="inside")
        if w.requests and (w.error_rate > error_bound or w.p99_ms > p99_bound):
            return max(0.0, timeline.epoch_of(bucket * step) - timing.fault_start)
    return None


def recovery_instant(probes: Sequence[ProbeSample], timeline: Timeline, timing: FmeaTiming, bound_ms: float,
                     expectation: FmeaExpectation) -> float | None:
    """The first instant after fault removal from which the service stays healthy for ``hold_s``."""
    after = [p for p in probes if p.at >= timing.recovery_origin]
    for index, start in enumerate(after):
        end = start.at + expectation.hold_s
        if end > timing.observe_end + 1e-9:
            return None
        span = [p for p in after[index:] if p.at <= end]
        if any(_disturbed(p, bound_ms) for p in span):
            continue
        # the load sent within the span (whole buckets inside it)
        load = timeline.window_epoch(start.at, end, edges="inside")
        if load is not None and load.requests and (load.error_rate * 100 > expectation.max_error_rate_percent
                              or load.p99_ms > expectation.max_p99_latency_ms):
            continue
        return start.at
    return None


def measure_impact(baseline: Window, fault: Window, timeline: Timeline, timing: FmeaTiming,
                   recovery_s: float | None, user_probes: Sequence[ProbeSample] = (), *,
                   patience_ms: float = 2000.0, users: int | None = None,
                   accounted: Window | None = None) -> Impact:
    """What the fault cost the users; ``patience_ms`` (the latency SLO): a request slower than that was not served
    in time. ``users``: the closed-model load's users, when known: a user's cycle at the baseline (users / rate,
    its latency plus the generator's own work between requests) converts the time it waited on late answers into
    the requests it would have sent; without it the baseline's mean latency is the cycle. ``accounted``: the window
    the waiting is counted over (default: the fault window); :func:`grade` passes the span from the baseline
    window's end to the removal, so that the requests in flight when the fault landed count too."""
    fault_seconds = fault.duration_s
    failed = fault.errors
    patience_us = round(patience_ms * 1000)
    late = max(0, fault.count_above_us(patience_us) - failed)
    expected = baseline.rps * fault_seconds  # what the fault window would have served at the baseline's rate
    # Closed-model load (a fixed set of users): a request that hung is not one request lost but every request the
    # user would have sent meanwhile. The time the users spent waiting on answers later than the latency SLO
    # (hung, timed out) is converted to requests at the baseline's cycle per user. Only time spent *on the
    # service* counts: when the generator itself is slower (a busy machine), fewer requests are sent, none lost.
    span = accounted if accounted is not None and accounted.duration_s >= fault.duration_s else fault
    span_slow = span.count_above_us(patience_us)  # failed or late, and the timed-out failures among them
    failed_fast = max(0, span.errors - span_slow)
    cycle_s = users / baseline.rps if users and baseline.rps > 0 else baseline.mean_ms / 1000
    waited = span.time_above_us(patience_us) / 1e6 / cycle_s if cycle_s > 0 else 0.0
    # ... and never more than the answers really missing: users that got as many answers in time as the baseline's
    # rate promised (the others answered faster meanwhile) lost none
    in_time = span.requests - max(span.errors, span_slow)
    missing = baseline.rps * span.duration_s - in_time
    lost = max(failed + late, min(round(failed_fast + waited), round(missing), round(expected)))
    lost_pct = min(100.0, 100.0 * lost / expected) if expected > 0 else 0.0
    error_pct = fault.error_rate * 100
    under_fault = [p for p in user_probes if timing.fault_start <= p.at < timing.fault_end]
    probe_error_pct = 100.0 * sum(not p.ok for p in under_fault) / len(under_fault) if under_fault else 0.0
    if (fault.requests == 0 and expected >= 1) or lost_pct >= 50 or error_pct >= 50 or probe_error_pct >= 50:
        summary = "outage"
    elif max(error_pct, probe_error_pct, lost_pct) > max(baseline.error_rate * 100 * 2, 1.0):
        summary = "partial outage"
    elif fault.p99_ms > max(baseline.p99_ms * 3, baseline.p99_ms + 50):
        brief = recovery_s is not None and fault_seconds + recovery_s < 15
        summary = "brief latency spike" if brief else "latency degraded"
    elif fault.errors:
        summary = "few errors"
    else:
        summary = "no user-facing impact"
    return Impact(
        error_rate_baseline_percent=baseline.error_rate * 100,
        error_rate_fault_percent=error_pct,
        p99_baseline_ms=baseline.p99_ms,
        p99_fault_ms=fault.p99_ms,
        requests_lost=lost,
        summary=summary,
        probe_error_rate_percent=probe_error_pct,
        baseline=WindowFigures.of(baseline, timeline),
        fault=WindowFigures.of(fault, timeline),
        requests_expected=round(expected),
        requests_failed=failed,
        requests_late=late,
    )


@dataclass(frozen=True)
class ServiceSignals:
    """What the service itself said about the failure while it was in place."""

    readiness_flip_s: float | None = None  # first readiness 503 after the fault start
    degraded_answers: int = 0  # answers marked degraded (probes with chaos.degraded_header)
    explicit_errors: int = 0  # HTTP 5xx / 429 answers under the fault (not timeouts or dropped connections)


def service_signals(probes: Sequence[ProbeSample], fault: Window, timing: FmeaTiming,
                    readiness_paths: Sequence[str]) -> ServiceSignals:
    under = [p for p in probes if timing.fault_start <= p.at < timing.fault_end]
    flips = [p.at + p.latency_ms / 1000 - timing.fault_start for p in under
             if p.path in readiness_paths and p.status == 503]
    explicit = sum(n for code, n in fault.statuses.items() if code >= 500 or code == 429)
    explicit += sum(1 for p in under if p.path not in readiness_paths and p.status is not None
                    and (p.status >= 500 or p.status == 429))
    return ServiceSignals(readiness_flip_s=max(0.0, min(flips)) if flips else None,
                          degraded_answers=sum(p.degraded for p in under), explicit_errors=explicit)


def detection_rating(signals: ServiceSignals, impact: Impact) -> tuple[int, str]:
    """FMEA detection rating from :data:`DETECTION_TABLE`: how well the service revealed the failure."""
    table = dict(DETECTION_TABLE)
    marked = signals.degraded_answers > 0 or signals.explicit_errors > 0
    if signals.readiness_flip_s is not None and signals.readiness_flip_s <= 5.0:
        rating = 2 if marked else 3
    elif signals.readiness_flip_s is not None or signals.degraded_answers:
        rating = 4
    elif signals.explicit_errors:
        rating = 5
    else:
        rating = 8 if impact.summary == "no user-facing impact" else 10
    return rating, table[rating]


def severity_rating(declared: str, impact: Impact) -> int:
    """The declared severity's rating, capped by the user-facing impact observed (none → 1, "no effect")."""
    return max(1, min(SEVERITY_RATING[declared], IMPACT_SEVERITY_CAP.get(impact.summary, 10)))


def apply_findings(result: FmeaResult, findings: Sequence[Finding]) -> FmeaResult:
    """Attach the capability findings; a mechanism the scenario needs that was seen failing fails the run."""
    from dataclasses import replace

    if result.verdict == "inconclusive":  # nothing can be concluded: no mechanism shown, none failed
        findings = [replace(f, status=NOT_SHOWN, summary=f"inconclusive run ({f.summary})") for f in findings]
    failed = [f for f in findings if f.status == FAILED]
    verdict, reason = result.verdict, result.reason
    if failed and verdict != "inconclusive":
        problems = "; ".join(f"{f.title} ❌ {f.summary}" for f in failed)
        reason = problems if verdict == "pass" else f"{reason}; {problems}"
        verdict = "fail"
    return replace(result, findings=tuple(findings), verdict=verdict, reason=reason)
