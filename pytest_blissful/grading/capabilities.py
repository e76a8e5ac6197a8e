"""Capabilities shown by their mechanism: one rule per capability, judged from what one scenario run observed.

Pure: no I/O. The FMEA flow collects an :class:`Observation` (per-endpoint figures of the baseline and of the
fault window, readiness / liveness / endpoint probe samples, an instance's shutdown, an overload); each rule
returns a :class:`Finding`:

* **✅ shown** — the run observed the mechanism acting;
* **❌ failed** — the run observed the failure the mechanism prevents;
* **not shown** — neither (the scenario did not exercise it, or the evidence was too thin).

Each finding carries the numbers it rests on and the text of its rule (:data:`RULES`, also in
``docs/capabilities.md``). The rules are black-box first (latency and status per endpoint, probes), so they work
on any service; which endpoints use which dependency comes from ``chaos.dependencies``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from pytest_blissful.grading.probes import ProbeSample

Status = Literal["✅", "❌", "not shown"]
SHOWN: Status = "✅"
FAILED: Status = "❌"
NOT_SHOWN: Status = "not shown"

#: What a scenario's fault does to its dependency (``extensions.blissful.evidence.fault``).
FaultKind = Literal["latency", "hang", "down", "partial", "instance-stop", "instance-kill", "overload", "other"]
DEPENDENCY_FAULTS = ("latency", "hang", "down", "partial")

MIN_REQUESTS = 20  # fewer requests in a window than this: too thin to judge
MIN_PROBES = 10
READINESS_BOUND_S = 5.0  # readiness must flip within this after the dependency is lost
SHED_STATUSES = (429, 503)

CAPABILITIES: dict[str, str] = {
    "timeouts": "timeouts",
    "circuit_breakers": "circuit breakers",
    "caching": "fallbacks / caching",
    "retries": "retry logic (exponential backoff)",
    "health_checks": "health checks (liveness & readiness)",
    "graceful_shutdown": "graceful shutdown (SIGTERM)",
    "rate_limiting": "rate limiting / load shedding",
    "bulkheads": "bulkheads",
}
ALIASES = {"circuit_breaker": "circuit_breakers", "retry": "retries", "timeout": "timeouts", "cache": "caching",
           "fallbacks": "caching", "fallback": "caching", "bulkhead": "bulkheads", "health_check": "health_checks",
           "load_shedding": "rate_limiting"}

RULES: dict[str, str] = {
    "timeouts": (
        "Under a slow or hung dependency, the p99 latency of the endpoints that use it stays at most 75% of the "
        "injected delay (for a hang: within the p99 SLO and half the client's request timeout) → ✅. "
        "p99 at 90% of the delay or more and above the p99 SLO, or client-side timeouts over 1% → ❌."),
    "circuit_breakers": (
        "While a dependency keeps hanging, the affected endpoints' p50 and p95 latency in the second half of the "
        "fault window are back near the baseline (≤ max(3 × baseline, baseline + 50 ms)) although the first calls "
        "were slow (p99 over the fault above twice the second half's p95), and they answer without errors after "
        "removal → ✅. The second half's p50 still far above the baseline (calls keep waiting on the failing "
        "dependency) → ❌."),
    "caching": (
        "While a dependency is down or hung (or slow, when the service marks degraded answers), the endpoints that "
        "use it keep answering successfully (error rate within the SLO); when the service marks degraded answers "
        "(chaos.degraded_header) at least one marked answer is seen → ✅. Their error rate above the SLO → ❌."),
    "retries": (
        "Under a partial dependency failure with a known per-attempt success rate a, the share of plain "
        "(successful, not degraded) answers of the affected endpoints is at least a + (1 − a)/2 → ✅; at most "
        "a + 0.15·(1 − a) (failures reach users at the per-attempt rate) → ❌."),
    "health_checks": (
        "When a dependency that readiness checks is lost, readiness answers 503 within 5 s, is ready again after "
        "the fault is removed, and liveness stays 200 throughout → ✅. Readiness stays 200 for the whole outage, "
        "liveness fails (half of its probes or more), or readiness never returns → ❌."),
    "graceful_shutdown": (
        "SIGTERM to one instance, measured at that instance: every request in flight at the signal completes "
        "successfully, readiness answers 503 before the process exits, and it exits within the grace period "
        "(not killed) → ✅. An in-flight request fails, or the process is killed at the end of the grace period "
        "→ ❌."),
    "rate_limiting": (
        "With an open-model arrival rate at least 1.5 × the measured capacity, the service sheds at least 5% of "
        "requests with 429/503 answered fast (p95 ≤ max(250 ms, 3 × baseline p95)) while the admitted requests "
        "keep the p99 and error-rate SLOs → ✅. No shedding (< 1%) while admitted requests break an SLO or the "
        "answers queue (p95 ≥ max(3 × baseline p95, baseline p95 + 500 ms)), or shedding with admitted requests "
        "over the p99 SLO → ❌."),
    "bulkheads": (
        "While one dependency is slow or hung (holding the callers' resources), every endpoint that does not use "
        "it (chaos.dependencies) keeps the scenario's error-rate and p99 SLOs → ✅. One of them breaks an SLO → "
        "❌. A dependency that fails fast shows nothing."),
}


# -- what a run observed --------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Figures:
    """Latency, errors and throughput of one endpoint (or a group) over one window."""

    requests: int = 0
    errors: int = 0
    p50_ms: float = 0.0
    p95_ms: float = 0.0
    p99_ms: float = 0.0
    rps: float = 0.0
    statuses: Mapping[int, int] = field(default_factory=dict)
    timeouts: int = 0  # client-side timeouts (error kinds naming a timeout)

    @property
    def error_rate(self) -> float:
        return self.errors / self.requests if self.requests else 0.0

    def count(self, codes: Sequence[int]) -> int:
        return sum(n for code, n in self.statuses.items() if code in codes)

    def to_dict(self) -> dict[str, Any]:
        return {"requests": self.requests, "errors": self.errors, "error_rate": round(self.error_rate, 4),
                "p50_ms": round(self.p50_ms, 1), "p95_ms": round(self.p95_ms, 1), "p99_ms": round(self.p99_ms, 1),
                "rps": round(self.rps, 1), "statuses": {str(k): v for k, v in sorted(self.statuses.items())},
                "timeouts": self.timeouts}


@dataclass(frozen=True)
class EndpointEvidence:
    """One endpoint's figures: before the fault, under it, in its second half, and after its removal."""

    endpoint: str
    baseline: Figures
    fault: Figures
    fault_late: Figures
    after: Figures

    def to_dict(self) -> dict[str, Any]:
        return {"endpoint": self.endpoint, "baseline": self.baseline.to_dict(), "fault": self.fault.to_dict(),
                "fault_late": self.fault_late.to_dict(), "after": self.after.to_dict()}


@dataclass(frozen=True)
class ShutdownEvidence:
    """SIGTERM to one instance, observed at that instance (not through the load balancer). Epoch seconds."""

    sigterm_at: float
    grace_s: float
    in_flight: int  # requests sent to the instance before the signal and still unanswered at it
    in_flight_failed: int
    ready_503_at: float | None  # first readiness 503 at the instance after the signal
    exited_at: float | None
    exit_code: int | None

    def to_dict(self) -> dict[str, Any]:
        def rel(at: float | None) -> float | None:
            return None if at is None else round(at - self.sigterm_at, 3)

        return {"in_flight": self.in_flight, "in_flight_failed": self.in_flight_failed,
                "ready_503_after_s": rel(self.ready_503_at), "exited_after_s": rel(self.exited_at),
                "exit_code": self.exit_code, "grace_s": self.grace_s}


@dataclass(frozen=True)
class OverloadEvidence:
    """An open-model arrival rate above the measured capacity, and how the service answered it."""

    capacity_rps: float  # successful requests per second the service served in the baseline
    offered_rps: float  # arrival rate sent during the fault window (overload + background load)
    fault: Figures  # every request in the fault window
    dropped: int  # arrivals the generator could not even send (the service did not take them)
    shed_p95_ms: float | None  # latency of shed answers (429/503) among the probes
    admitted_p99_ms: float | None  # latency of admitted (2xx) answers among the probes
    probes: int = 0
    baseline_p95_ms: float = 0.0

    def to_dict(self) -> dict[str, Any]:
        return {"capacity_rps": round(self.capacity_rps, 1), "offered_rps": round(self.offered_rps, 1),
                "baseline_p95_ms": round(self.baseline_p95_ms, 1),
                "fault": self.fault.to_dict(), "dropped": self.dropped,
                "shed_p95_ms": None if self.shed_p95_ms is None else round(self.shed_p95_ms, 1),
                "admitted_p99_ms": None if self.admitted_p99_ms is None else round(self.admitted_p99_ms, 1),
                "probes": self.probes}


@dataclass(frozen=True)
class Observation:
    """Everything one scenario run observed that the capability rules look at."""

    scenario: str
    fault: str  # a FaultKind
    fault_start: float
    fault_end: float
    dependency: str | None = None
    injected_delay_ms: float | None = None  # latency faults
    attempt_success_rate: float | None = None  # partial faults: the fault's per-attempt success rate
    readiness_checks_dependency: bool = False  # the dependency is one readiness checks (stack.dependencies)
    affected: tuple[EndpointEvidence, ...] = ()
    unaffected: tuple[EndpointEvidence, ...] = ()
    readiness: tuple[ProbeSample, ...] = ()
    liveness: tuple[ProbeSample, ...] = ()
    endpoint_probes: tuple[ProbeSample, ...] = ()  # probes of the affected endpoints (with the degraded mark)
    degraded_marked: bool = False  # the service marks degraded answers (chaos.degraded_header is set)
    slo_error_rate_percent: float = 5.0
    slo_p99_ms: float = 2000.0
    client_timeout_ms: float = 5000.0
    shutdown: ShutdownEvidence | None = None
    overload: OverloadEvidence | None = None
    service_metrics: Mapping[str, float] = field(default_factory=dict)  # counter deltas over the fault

    @property
    def fault_s(self) -> float:
        return max(self.fault_end - self.fault_start, 0.0)


@dataclass(frozen=True)
class Finding:
    """One capability judged from one scenario run."""

    capability: str
    status: Status
    scenario: str
    summary: str  # what was seen, with the numbers
    evidence: Mapping[str, Any] = field(default_factory=dict)

    @property
    def title(self) -> str:
        return CAPABILITIES.get(self.capability, self.capability)

    @property
    def rule(self) -> str:
        return RULES.get(self.capability, "")

    def to_dict(self) -> dict[str, Any]:
        return {"capability": self.capability, "status": self.status, "scenario": self.scenario,
                "summary": self.summary, "evidence": dict(self.evidence), "rule": self.rule}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Finding:
        return cls(capability=str(data["capability"]), status=data["status"], scenario=str(data["scenario"]),
                   summary=str(data.get("summary", "")), evidence=dict(data.get("evidence", {})))


def canonical(name: str) -> str:
    """The capability key for a name used in scenario metadata (``circuit_breaker`` → ``circuit_breakers``)."""
    return ALIASES.get(name, name)


# -- helpers --------------------------------------------------------------------------------------------------


def near_baseline_ms(baseline_ms: float) -> float:
    """Latency still "near" a baseline figure: 3 × it, at least it + 50 ms."""
    return max(3 * baseline_ms, baseline_ms + 50.0)


def _pooled(endpoints: Sequence[EndpointEvidence], pick: Callable[[EndpointEvidence], Figures]) -> Figures:
    """Requests, errors and the worst percentile over several endpoints (percentiles cannot be added)."""
    figures = [pick(e) for e in endpoints]
    statuses: dict[int, int] = {}
    for f in figures:
        for code, n in f.statuses.items():
            statuses[code] = statuses.get(code, 0) + n
    judged = [f for f in figures if f.requests]
    return Figures(
        requests=sum(f.requests for f in figures), errors=sum(f.errors for f in figures),
        p50_ms=max((f.p50_ms for f in judged), default=0.0), p95_ms=max((f.p95_ms for f in judged), default=0.0),
        p99_ms=max((f.p99_ms for f in judged), default=0.0), rps=sum(f.rps for f in figures), statuses=statuses,
        timeouts=sum(f.timeouts for f in figures),
    )


def _percentile(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, math.ceil(q / 100 * len(ordered)) - 1))]


def _names(endpoints: Sequence[EndpointEvidence]) -> str:
    return ", ".join(e.endpoint for e in endpoints)


def _finding(capability: str, status: Status, obs: Observation, summary: str, **evidence: Any) -> Finding:
    return Finding(capability, status, obs.scenario, summary, evidence)


def _affected_or_none(capability: str, obs: Observation, kinds: Sequence[str]) -> Finding | None:
    if obs.fault not in kinds:
        return _finding(capability, NOT_SHOWN, obs, f"not exercised: a {obs.fault} fault does not call on it")
    if not obs.affected:
        return _finding(capability, NOT_SHOWN, obs,
                        f"no load reached the endpoints that use {obs.dependency or 'the faulted dependency'}")
    return None


# -- the rules ------------------------------------------------------------------------------------------------


def judge_timeouts(obs: Observation) -> Finding:
    cap = "timeouts"
    if (skip := _affected_or_none(cap, obs, ("latency", "hang"))) is not None:
        return skip
    fault = _pooled(obs.affected, lambda e: e.fault)
    if fault.requests < MIN_REQUESTS:
        return _finding(cap, NOT_SHOWN, obs, f"only {fault.requests} requests to {_names(obs.affected)} under the "
                        f"fault (need {MIN_REQUESTS})", requests=fault.requests)
    timeout_share = fault.timeouts / fault.requests
    numbers = {"affected": _names(obs.affected), "p99_fault_ms": round(fault.p99_ms, 1), "requests": fault.requests,
               "client_timeouts": fault.timeouts, "slo_p99_ms": obs.slo_p99_ms}
    if obs.fault == "latency" and obs.injected_delay_ms:
        delay = obs.injected_delay_ms
        numbers["injected_delay_ms"] = delay
        if fault.p99_ms <= 0.75 * delay and timeout_share <= 0.01:
            return _finding(cap, SHOWN, obs, f"p99 {fault.p99_ms:.0f} ms of {_names(obs.affected)} stayed below "
                            f"75% of the injected {delay:.0f} ms delay", **numbers)
        if timeout_share > 0.01 or (fault.p99_ms >= 0.9 * delay and fault.p99_ms > obs.slo_p99_ms):
            return _finding(cap, FAILED, obs, f"calls waited as long as the dependency: p99 {fault.p99_ms:.0f} ms "
                            f"under a {delay:.0f} ms delay (SLO {obs.slo_p99_ms:g} ms), {fault.timeouts} client "
                            "timeouts", **numbers)
        return _finding(cap, NOT_SHOWN, obs, f"p99 {fault.p99_ms:.0f} ms under a {delay:.0f} ms delay: not bounded "
                        "well below the delay, but within the SLO", **numbers)
    bound = min(obs.slo_p99_ms, 0.5 * obs.client_timeout_ms)
    numbers["bound_ms"] = bound
    if fault.p99_ms <= bound and timeout_share <= 0.01:
        return _finding(cap, SHOWN, obs, f"p99 {fault.p99_ms:.0f} ms of {_names(obs.affected)} stayed bounded "
                        f"(≤ {bound:.0f} ms) while the dependency hung", **numbers)
    if fault.p99_ms > obs.slo_p99_ms or timeout_share > 0.01:
        return _finding(cap, FAILED, obs, f"calls hung with the dependency: p99 {fault.p99_ms:.0f} ms "
                        f"(SLO {obs.slo_p99_ms:g} ms), {fault.timeouts} client timeouts", **numbers)
    return _finding(cap, NOT_SHOWN, obs, f"p99 {fault.p99_ms:.0f} ms: within the SLO but above {bound:.0f} ms",
                    **numbers)


def judge_circuit_breaker(obs: Observation) -> Finding:
    cap = "circuit_breakers"
    if (skip := _affected_or_none(cap, obs, ("hang",))) is not None:
        return skip
    base = _pooled(obs.affected, lambda e: e.baseline)
    fault = _pooled(obs.affected, lambda e: e.fault)
    late = _pooled(obs.affected, lambda e: e.fault_late)
    after = _pooled(obs.affected, lambda e: e.after)
    if late.requests < MIN_REQUESTS // 2 or base.requests < 5:
        return _finding(cap, NOT_SHOWN, obs, f"too few requests to judge ({late.requests} in the fault's second "
                        f"half, {base.requests} in the baseline)", late_requests=late.requests)
    bound_p50, bound_p95 = near_baseline_ms(base.p50_ms), near_baseline_ms(base.p95_ms)
    numbers = {"affected": _names(obs.affected), "baseline_p50_ms": round(base.p50_ms, 1),
               "baseline_p95_ms": round(base.p95_ms, 1), "fault_p99_ms": round(fault.p99_ms, 1),
               "late_p50_ms": round(late.p50_ms, 1), "late_p95_ms": round(late.p95_ms, 1),
               "late_requests": late.requests, "after_error_rate": round(after.error_rate, 4)}
    if late.p50_ms > bound_p50:
        return _finding(cap, FAILED, obs, f"calls kept waiting on the failing dependency: p50 {late.p50_ms:.0f} ms "
                        f"in the fault's second half vs {base.p50_ms:.0f} ms before", **numbers)
    # the first calls waited (slow tail over the whole fault), the later ones did not
    slowed = fault.p99_ms > max(bound_p50, 2 * late.p95_ms)
    if late.p95_ms <= bound_p95 and slowed:
        if after.requests and after.error_rate * 100 > max(obs.slo_error_rate_percent, base.error_rate * 200):
            return _finding(cap, NOT_SHOWN, obs, f"failed fast (p95 {late.p95_ms:.0f} ms late in the fault) but "
                            f"{after.error_rate:.0%} errors after removal: recovery not shown", **numbers)
        return _finding(cap, SHOWN, obs, f"failed fast while the dependency still hung: p95 {late.p95_ms:.0f} ms in "
                        f"the fault's second half (baseline {base.p95_ms:.0f} ms, first calls p99 "
                        f"{fault.p99_ms:.0f} ms)", **numbers)
    if not slowed:
        return _finding(cap, NOT_SHOWN, obs, "calls never slowed down: nothing for a breaker to trip on", **numbers)
    return _finding(cap, NOT_SHOWN, obs, f"p50 back near the baseline but p95 {late.p95_ms:.0f} ms late in the "
                    "fault: some calls still waited", **numbers)


def judge_caching(obs: Observation) -> Finding:
    cap = "caching"
    kinds = ("down", "hang", "latency") if obs.degraded_marked else ("down", "hang")
    if (skip := _affected_or_none(cap, obs, kinds)) is not None:
        return skip
    fault = _pooled(obs.affected, lambda e: e.fault)
    if fault.requests < MIN_REQUESTS:
        return _finding(cap, NOT_SHOWN, obs, f"only {fault.requests} requests to {_names(obs.affected)} under the "
                        "fault", requests=fault.requests)
    under = [p for p in obs.endpoint_probes if obs.fault_start <= p.at < obs.fault_end]
    degraded = sum(bool(getattr(p, "degraded", False)) for p in under)
    numbers = {"affected": _names(obs.affected), "requests": fault.requests,
               "error_rate_percent": round(fault.error_rate * 100, 2), "degraded_probe_answers": degraded,
               "probes": len(under), "slo_error_rate_percent": obs.slo_error_rate_percent}
    if fault.error_rate * 100 > obs.slo_error_rate_percent:
        return _finding(cap, FAILED, obs, f"{fault.error_rate:.0%} of {fault.requests} requests to "
                        f"{_names(obs.affected)} failed while {obs.dependency or 'the dependency'} was {obs.fault}",
                        **numbers)
    if obs.degraded_marked and degraded == 0:
        return _finding(cap, NOT_SHOWN, obs, "answers stayed successful but none was marked degraded: the "
                        "dependency may not have been needed", **numbers)
    marked = f", {degraded}/{len(under)} probe answers marked degraded" if obs.degraded_marked else ""
    return _finding(cap, SHOWN, obs, f"{1 - fault.error_rate:.1%} of {fault.requests} requests to "
                    f"{_names(obs.affected)} answered successfully while {obs.dependency or 'the dependency'} was "
                    f"{obs.fault}{marked}", **numbers)


def judge_retries(obs: Observation) -> Finding:
    cap = "retries"
    if (skip := _affected_or_none(cap, obs, ("partial",))) is not None:
        return skip
    attempt = obs.attempt_success_rate
    if attempt is None:
        return _finding(cap, NOT_SHOWN, obs, "the fault's per-attempt success rate is unknown "
                        "(extensions.blissful.evidence.attempt_success_rate)")
    under = [p for p in obs.endpoint_probes if obs.fault_start <= p.at < obs.fault_end]
    if len(under) >= MIN_PROBES:
        plain = sum(p.ok and not getattr(p, "degraded", False) for p in under)
        total, source = len(under), "probe answers"
    else:
        fault = _pooled(obs.affected, lambda e: e.fault)
        if obs.degraded_marked or fault.requests < MIN_REQUESTS:
            return _finding(cap, NOT_SHOWN, obs, f"too few answers to judge ({len(under)} probes, "
                            f"{fault.requests} requests)")
        plain, total, source = fault.requests - fault.errors, fault.requests, "requests"
    visible = plain / total
    numbers = {"affected": _names(obs.affected), "attempt_success_rate": attempt,
               "visible_success_rate": round(visible, 3), "answers": total, "source": source}
    if visible >= attempt + 0.5 * (1 - attempt):
        return _finding(cap, SHOWN, obs, f"{visible:.0%} of {total} {source} succeeded although each attempt "
                        f"succeeded only {attempt:.0%} of the time", **numbers)
    if visible <= attempt + 0.15 * (1 - attempt):
        return _finding(cap, FAILED, obs, f"failures reached users at the per-attempt rate: {visible:.0%} of "
                        f"{total} {source} succeeded (per attempt {attempt:.0%})", **numbers)
    return _finding(cap, NOT_SHOWN, obs, f"{visible:.0%} of {total} {source} succeeded (per attempt "
                    f"{attempt:.0%}): not clearly above", **numbers)


def judge_health_checks(obs: Observation) -> Finding:
    cap = "health_checks"
    if obs.fault not in ("down", "hang"):
        return _finding(cap, NOT_SHOWN, obs, f"not exercised: a {obs.fault} fault takes no dependency away")
    if not obs.readiness_checks_dependency:
        return _finding(cap, NOT_SHOWN, obs, f"readiness does not check {obs.dependency or 'this dependency'} "
                        "(stack.dependencies)")
    under = [p for p in obs.readiness if obs.fault_start <= p.at < obs.fault_end]
    after = [p for p in obs.readiness if p.at >= obs.fault_end]
    if len(under) < MIN_PROBES // 2:
        return _finding(cap, NOT_SHOWN, obs, f"only {len(under)} readiness probes under the fault")
    flipped = next((p for p in under if not p.ok), None)
    flip_s = None if flipped is None else flipped.at + flipped.latency_ms / 1000 - obs.fault_start
    back = next((p for p in after if p.ok), None)
    live_before = [p for p in obs.liveness if p.at < obs.fault_start]
    live_under = [p for p in obs.liveness if obs.fault_start <= p.at < obs.fault_end]
    live_known = any(p.ok for p in live_before)
    live_failed = sum(not p.ok for p in live_under) if live_known else 0
    numbers = {"readiness_probes": len(under), "ready_503_after_s": None if flip_s is None else round(flip_s, 2),
               "ready_again_after_removal_s": None if back is None else round(back.at - obs.fault_end, 2),
               "liveness_probes": len(live_under) if live_known else 0, "liveness_failed": live_failed}
    if flipped is None:
        return _finding(cap, FAILED, obs, f"readiness answered 200 for the whole {obs.fault_s:.1f} s outage of "
                        f"{obs.dependency or 'the dependency'} ({len(under)} probes)", **numbers)
    if live_failed >= 2 and live_failed >= 0.5 * len(live_under):
        return _finding(cap, FAILED, obs, f"liveness failed {live_failed}/{len(live_under)} times while only a "
                        "dependency was down: the instance would be restarted for it", **numbers)
    if after and back is None:
        return _finding(cap, FAILED, obs, "readiness never returned after the dependency came back", **numbers)
    assert flip_s is not None
    if flip_s > READINESS_BOUND_S:
        return _finding(cap, NOT_SHOWN, obs, f"readiness flipped only after {flip_s:.1f} s "
                        f"(bound {READINESS_BOUND_S:g} s)", **numbers)
    if back is None:
        return _finding(cap, NOT_SHOWN, obs, "readiness flipped but its return was not observed", **numbers)
    live = f", liveness 200 in {len(live_under)} probes" if live_known else " (no liveness endpoint seen)"
    return _finding(cap, SHOWN, obs, f"readiness 503 {flip_s:.2f} s after {obs.dependency or 'the dependency'} was "
                    f"lost, ready again {back.at - obs.fault_end:.2f} s after removal{live}", **numbers)


def judge_graceful_shutdown(obs: Observation) -> Finding:
    cap = "graceful_shutdown"
    s = obs.shutdown
    if s is None:
        return _finding(cap, NOT_SHOWN, obs, "no instance was sent SIGTERM and observed in this scenario")
    numbers = s.to_dict()
    if s.in_flight_failed:
        return _finding(cap, FAILED, obs, f"{s.in_flight_failed} of {s.in_flight} requests in flight at SIGTERM "
                        "failed at the instance", **numbers)
    if s.exit_code == 137 or (s.exited_at is not None and s.exited_at - s.sigterm_at > s.grace_s + 0.5):
        return _finding(cap, FAILED, obs, f"the instance did not exit within its {s.grace_s:g} s grace period "
                        f"(exit code {s.exit_code})", **numbers)
    if s.in_flight == 0:
        return _finding(cap, NOT_SHOWN, obs, "no request was in flight at the instance when SIGTERM arrived",
                        **numbers)
    if s.exited_at is None:
        return _finding(cap, NOT_SHOWN, obs, "the instance's exit was not observed", **numbers)
    if s.ready_503_at is None or s.ready_503_at > s.exited_at:
        return _finding(cap, NOT_SHOWN if s.exit_code == 0 else FAILED, obs,
                        "in-flight requests finished but readiness did not answer 503 before the exit", **numbers)
    return _finding(cap, SHOWN, obs, f"{s.in_flight} in-flight requests finished, readiness 503 "
                    f"{s.ready_503_at - s.sigterm_at:.2f} s after SIGTERM, exit {s.exit_code} after "
                    f"{s.exited_at - s.sigterm_at:.2f} s (grace {s.grace_s:g} s)", **numbers)


def judge_rate_limiting(obs: Observation) -> Finding:
    cap = "rate_limiting"
    o = obs.overload
    if o is None:
        return _finding(cap, NOT_SHOWN, obs, "no overload was offered in this scenario (see the overload scenario)")
    f = o.fault
    numbers = o.to_dict()
    if o.capacity_rps <= 0 or f.requests < MIN_REQUESTS:
        return _finding(cap, NOT_SHOWN, obs, f"capacity or load not measured ({f.requests} requests)", **numbers)
    if o.offered_rps < 1.5 * o.capacity_rps:
        return _finding(cap, NOT_SHOWN, obs, f"offered {o.offered_rps:.0f} req/s is not well above the measured "
                        f"capacity {o.capacity_rps:.0f} req/s", **numbers)
    shed = f.count(SHED_STATUSES)
    shed_share = shed / f.requests
    other_errors = max(f.errors - shed, 0) + o.dropped
    other_share = other_errors / max(f.requests + o.dropped, 1)
    admitted_p99 = o.admitted_p99_ms if o.admitted_p99_ms is not None else f.p99_ms
    numbers.update(shed=shed, shed_share=round(shed_share, 3), other_error_share=round(other_share, 3))
    slo_broken = admitted_p99 > obs.slo_p99_ms or other_share * 100 > obs.slo_error_rate_percent
    if shed_share < 0.01:
        if slo_broken:
            return _finding(cap, FAILED, obs, f"no shedding ({shed} of {f.requests} answers 429/503) at "
                            f"{o.offered_rps:.0f} req/s vs capacity {o.capacity_rps:.0f}: admitted p99 "
                            f"{admitted_p99:.0f} ms, {other_share:.0%} failed or never served", **numbers)
        queued_at = max(3 * o.baseline_p95_ms, o.baseline_p95_ms + 500.0)
        if o.baseline_p95_ms > 0 and f.p95_ms >= queued_at:
            # within the SLO, but the answers slowed to several times the baseline: the excess queued instead of
            # being shed, which is what admission control prevents
            return _finding(cap, FAILED, obs, f"no shedding ({shed} of {f.requests} answers 429/503): the excess "
                            f"queued instead, p95 {f.p95_ms:.0f} ms vs {o.baseline_p95_ms:.0f} ms before the "
                            f"overload, at {o.offered_rps:.0f} req/s vs capacity {o.capacity_rps:.0f}", **numbers)
        return _finding(cap, NOT_SHOWN, obs, f"no shedding, but the service kept its SLOs at {o.offered_rps:.0f} "
                        "req/s (capacity under-measured?)", **numbers)
    if admitted_p99 > obs.slo_p99_ms:
        return _finding(cap, FAILED, obs, f"shed {shed_share:.0%} but admitted requests' p99 {admitted_p99:.0f} ms > "
                        f"{obs.slo_p99_ms:g} ms", **numbers)
    fast_ms = max(250.0, 3 * o.baseline_p95_ms)
    numbers["fast_bound_ms"] = fast_ms
    if shed_share >= 0.05 and not slo_broken and (o.shed_p95_ms is None or o.shed_p95_ms <= fast_ms):
        shed_latency = "" if o.shed_p95_ms is None else f" in p95 {o.shed_p95_ms:.0f} ms"
        return _finding(cap, SHOWN, obs, f"shed {shed_share:.0%} of {f.requests} requests with 429/503{shed_latency} "
                        f"at {o.offered_rps:.0f} req/s (capacity {o.capacity_rps:.0f}); admitted p99 "
                        f"{admitted_p99:.0f} ms", **numbers)
    return _finding(cap, NOT_SHOWN, obs, f"shed {shed_share:.1%} (admitted p99 {admitted_p99:.0f} ms, "
                    f"{other_share:.1%} other failures): not clearly shedding fast", **numbers)


HOLDING_FAULTS = ("latency", "hang")  # dependency faults that hold the caller's resources while they last


def judge_bulkheads(obs: Observation) -> Finding:
    cap = "bulkheads"
    if obs.fault not in DEPENDENCY_FAULTS:
        return _finding(cap, NOT_SHOWN, obs, f"not exercised: a {obs.fault} fault is not confined to a dependency")
    if obs.fault not in HOLDING_FAULTS:
        # a dependency that fails fast holds no worker, connection or thread: every design keeps the others
        # serving, so this run cannot tell a bulkhead from none
        return _finding(cap, NOT_SHOWN, obs, f"not exercised: a {obs.fault} dependency that fails fast holds no "
                        "shared resource (bulkheads are shown under a slow or hung dependency)")
    judged = [e for e in obs.unaffected if e.fault.requests >= 5 and e.baseline.requests >= 5]
    if not judged or sum(e.fault.requests for e in judged) < MIN_REQUESTS:
        return _finding(cap, NOT_SHOWN, obs, "too few requests to endpoints that do not use "
                        f"{obs.dependency or 'the faulted dependency'}")
    broken = [e for e in judged
              if e.fault.error_rate * 100 > obs.slo_error_rate_percent or e.fault.p99_ms > obs.slo_p99_ms]
    numbers = {"unaffected": {e.endpoint: {"p99_ms": round(e.fault.p99_ms, 1),
                                           "error_rate_percent": round(e.fault.error_rate * 100, 2),
                                           "requests": e.fault.requests} for e in judged},
               "slo_p99_ms": obs.slo_p99_ms, "slo_error_rate_percent": obs.slo_error_rate_percent}
    if broken:
        worst = ", ".join(f"{e.endpoint} p99 {e.fault.p99_ms:.0f} ms / {e.fault.error_rate:.0%} errors"
                          for e in broken)
        return _finding(cap, FAILED, obs, f"endpoints that do not use {obs.dependency or 'it'} broke their SLOs: "
                        f"{worst}", **numbers)
    worst_p99 = max(e.fault.p99_ms for e in judged)
    return _finding(cap, SHOWN, obs, f"{len(judged)} endpoints that do not use {obs.dependency or 'it'} kept their "
                    f"SLOs (worst p99 {worst_p99:.0f} ms)", **numbers)


JUDGES: dict[str, Callable[[Observation], Finding]] = {
    "timeouts": judge_timeouts,
    "circuit_breakers": judge_circuit_breaker,
    "caching": judge_caching,
    "retries": judge_retries,
    "health_checks": judge_health_checks,
    "graceful_shutdown": judge_graceful_shutdown,
    "rate_limiting": judge_rate_limiting,
    "bulkheads": judge_bulkheads,
}


def judge(obs: Observation, capabilities: Sequence[str]) -> tuple[Finding, ...]:
    """The findings for the capabilities a scenario exercises (a rule that cannot compute → not shown)."""
    findings = []
    for name in dict.fromkeys(canonical(c) for c in capabilities):
        rule = JUDGES.get(name)
        if rule is None:
            continue
        try:
            findings.append(rule(obs))
        except (ArithmeticError, ValueError, KeyError) as exc:  # never a traceback for a grade
            findings.append(_finding(name, NOT_SHOWN, obs, f"could not be judged: {exc}"))
    return tuple(findings)


@dataclass(frozen=True)
class CapabilityVerdict:
    """A capability over the whole run: ❌ if any scenario showed the failure, ✅ if one showed the mechanism."""

    name: str
    title: str
    status: Status
    rule: str
    findings: tuple[Finding, ...]

    @property
    def note(self) -> str:
        if not self.findings:
            return "not exercised by any scenario that ran"
        decisive = [f for f in self.findings if f.status == self.status] or list(self.findings)
        return "; ".join(f"{f.scenario}: {f.summary}" for f in decisive)

    @property
    def evidence(self) -> tuple[str, ...]:
        return tuple(f"{f.scenario}: {f.status} {f.summary}" for f in self.findings)


def combine(findings: Sequence[Finding]) -> tuple[CapabilityVerdict, ...]:
    """One verdict per capability (all eight, in :data:`CAPABILITIES` order)."""
    verdicts = []
    for name, title in CAPABILITIES.items():
        mine = tuple(f for f in findings if canonical(f.capability) == name)
        statuses = {f.status for f in mine}
        status = FAILED if FAILED in statuses else SHOWN if SHOWN in statuses else NOT_SHOWN
        verdicts.append(CapabilityVerdict(name, title, status, RULES[name], mine))
    return tuple(verdicts)
