"""Canary analysis with Argo Rollouts' semantics, and the result of one canary rollout or rollback drill.

Pure: no I/O, no clocks.  A driver (Docker here, a Kubernetes/Argo driver later) takes measurements and hands
them to :class:`AnalysisRun`; the run assesses them exactly as Argo's analysis controller does
(``analysis/analysis.go``, ``utils/evaluate/evaluate.go``):

* a measurement is ``Successful``, ``Failed``, ``Inconclusive`` or ``Error``: with only a successCondition, not
  success is Failed; with only a failureCondition, not failure is Successful; with both, neither true is
  Inconclusive; no condition at all is Successful; an evaluation or provider error is Error;
* per metric: ``failed > failureLimit`` (default 0; negative: not applicable) → Failed;
  ``inconclusive > inconclusiveLimit`` (default 0) → Inconclusive;
  ``consecutiveErrors > consecutiveErrorLimit`` (default 4) → Error; Error measurements do not count toward
  ``count``; a metric without ``interval`` and ``count`` measures once;
* the run is the worst metric (Successful < Running < Pending < Inconclusive < Error < Failed), ignoring
  ``dryRun`` metrics; any non-dry-run metric Failed/Error/Inconclusive terminates the run.

A rollout then reacts like Argo's: Failed or Error aborts (canary weight → 0, canary scaled down);
Inconclusive pauses the rollout, which a test reports as *inconclusive*, never as a pass.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from enum import StrEnum
from typing import Any, Final, Literal

from pytest_blissful.grading.expressions import Expression, ExpressionError, parse_expression

__all__ = [
    "DEFAULT_CONSECUTIVE_ERROR_LIMIT",
    "AnalysisRun",
    "AnalysisStep",
    "CanaryResult",
    "DrillRequest",
    "Measurement",
    "MetricResult",
    "MetricSpec",
    "PauseStep",
    "Phase",
    "RollbackTiming",
    "RolloutPlan",
    "RolloutStep",
    "SetWeightStep",
    "StepRecord",
    "TrafficPoint",
    "WeightChange",
    "assess_metric",
    "evaluate_result",
    "worst",
]

DEFAULT_CONSECUTIVE_ERROR_LIMIT: Final = 4
DEFAULT_ROLLBACK_SLO_S: Final = 30.0


class Phase(StrEnum):
    """Argo's AnalysisPhase."""

    PENDING = "Pending"
    RUNNING = "Running"
    SUCCESSFUL = "Successful"
    FAILED = "Failed"
    ERROR = "Error"
    INCONCLUSIVE = "Inconclusive"

    @property
    def completed(self) -> bool:
        return self not in (Phase.PENDING, Phase.RUNNING)


#: best → worst, as Argo's ``analysisStatusOrder``
_ORDER: Final = (Phase.SUCCESSFUL, Phase.RUNNING, Phase.PENDING, Phase.INCONCLUSIVE, Phase.ERROR, Phase.FAILED)


def worst(a: Phase, b: Phase) -> Phase:
    return b if _ORDER.index(b) > _ORDER.index(a) else a


# ------------------------------------------------------------------------------------------- metric spec
@dataclass(frozen=True)
class MetricSpec:
    """One metric of an AnalysisTemplate (or of the spec's ``canary.analysis.metrics``).

    ``provider`` is ``prometheus`` (``query`` is PromQL) or ``blissful`` (``query`` names a figure of the load
    timeline split by version: ``error_rate``, ``success_rate`` (percent), ``p50``..``p99`` (ms), ``rps``).
    """

    name: str
    provider: str
    query: str
    success_condition: str | None = None
    failure_condition: str | None = None
    interval_s: float | None = None
    count: int | None = None
    initial_delay_s: float = 0.0
    failure_limit: int = 0
    inconclusive_limit: int = 0
    consecutive_error_limit: int = DEFAULT_CONSECUTIVE_ERROR_LIMIT
    consecutive_success_limit: int | None = None
    dry_run: bool = False
    source: str = ""  # where it was defined, e.g. "analysis.yaml: spec.metrics[0]"

    def __post_init__(self) -> None:
        # compile now: a condition that does not parse is a configuration error, not a measurement Error
        for text in (self.success_condition, self.failure_condition):
            if text:
                parse_expression(text)

    @property
    def effective_count(self) -> int | None:
        """Argo's ``EffectiveCount``: no count and no interval → measure once; interval only → indefinitely."""
        if not self.count:
            return 1 if self.interval_s is None else None
        return self.count

    def conditions(self) -> tuple[Expression | None, Expression | None]:
        return (parse_expression(self.success_condition) if self.success_condition else None,
                parse_expression(self.failure_condition) if self.failure_condition else None)


def evaluate_result(result: Any, spec: MetricSpec) -> tuple[Phase, str]:
    """Argo's ``EvaluateResult``: the phase of one measurement whose provider returned ``result``."""
    success_expr, failure_expr = spec.conditions()
    success = failure = False
    try:
        if success_expr is not None:
            success = success_expr.condition(result)
        if failure_expr is not None:
            failure = failure_expr.condition(result)
    except ExpressionError as exc:
        which = "successCondition" if success_expr is not None and not success and failure_expr is None else (
            "condition")
        nothing = result is None or (isinstance(result, list | tuple) and not result)
        reason = "metric result is nil or empty: no data returned from the metric provider" if nothing else str(exc)
        return Phase.ERROR, f"could not evaluate {which}: {reason}"
    if success_expr is None and failure_expr is None:
        return Phase.SUCCESSFUL, ""
    if success_expr is not None and failure_expr is None:
        failure = not success
    elif success_expr is None and failure_expr is not None:
        success = not failure
    if failure:
        return Phase.FAILED, ""
    if not success:
        return Phase.INCONCLUSIVE, "neither successCondition nor failureCondition is true"
    return Phase.SUCCESSFUL, ""


# ------------------------------------------------------------------------------------------- measurements
@dataclass(frozen=True)
class Measurement:
    """One measurement; times are seconds since the rollout started (the driver's clock)."""

    metric: str
    phase: Phase
    started_at: float
    finished_at: float
    value: str = ""  # the provider's value as text, as Argo stores it ("[0.53]")
    message: str = ""
    step: int | None = None  # index of the rollout step during which it was taken
    dry_run: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["phase"] = str(self.phase)
        return out


@dataclass
class MetricResult:
    """Argo's MetricResult counters for one metric within one analysis run."""

    name: str
    dry_run: bool = False
    count: int = 0
    successful: int = 0
    failed: int = 0
    inconclusive: int = 0
    error: int = 0
    consecutive_error: int = 0
    consecutive_success: int = 0
    phase: Phase = Phase.PENDING
    message: str = ""
    measurements: list[Measurement] = field(default_factory=list)

    def record(self, m: Measurement) -> None:
        self.measurements.append(m)
        if m.phase is Phase.SUCCESSFUL:
            self.successful += 1
            self.count += 1
            self.consecutive_error = 0
            self.consecutive_success += 1
        elif m.phase is Phase.FAILED:
            self.failed += 1
            self.count += 1
            self.consecutive_error = 0
            self.consecutive_success = 0
        elif m.phase is Phase.INCONCLUSIVE:
            self.inconclusive += 1
            self.count += 1
            self.consecutive_error = 0
            self.consecutive_success = 0
        elif m.phase is Phase.ERROR:
            self.error += 1
            self.consecutive_error += 1
            self.consecutive_success = 0


def _limit_breach(spec: MetricSpec, r: MetricResult) -> tuple[Phase | None, str]:
    """Argo's ``assessMetricFailureInconclusiveOrError`` (later checks win, as there)."""
    phase: Phase | None = None
    message = ""
    if spec.failure_limit >= 0 and r.failed > spec.failure_limit:
        phase, message = Phase.FAILED, f"failed ({r.failed}) > failureLimit ({spec.failure_limit})"
    if r.inconclusive > spec.inconclusive_limit:
        phase, message = (Phase.INCONCLUSIVE,
                          f"inconclusive ({r.inconclusive}) > inconclusiveLimit ({spec.inconclusive_limit})")
    if r.consecutive_error > spec.consecutive_error_limit:
        phase, message = (Phase.ERROR, f"consecutiveErrors ({r.consecutive_error}) > consecutiveErrorLimit "
                                       f"({spec.consecutive_error_limit})")
    return phase, message


def assess_metric(spec: MetricSpec, r: MetricResult, *, terminating: bool = False) -> tuple[Phase, str]:
    """Argo's ``assessMetricStatus`` for one metric (measurements are complete when recorded here)."""
    if r.phase.completed:
        return r.phase, r.message
    if not r.measurements:
        return (Phase.SUCCESSFUL, "run terminated before a measurement") if terminating else (Phase.PENDING, "")
    breach, message = _limit_breach(spec, r)
    if breach is not None:
        return breach, message
    limit = spec.consecutive_success_limit
    if limit and r.consecutive_success >= limit:
        return Phase.SUCCESSFUL, f"consecutiveSuccessLimit ({limit}) reached"
    count = spec.effective_count
    if count is not None and r.count >= count:
        if limit:
            if spec.failure_limit >= 0:
                return Phase.INCONCLUSIVE, f"consecutiveSuccessLimit ({limit}) not reached, failureLimit not violated"
            return Phase.FAILED, f"consecutiveSuccessLimit ({limit}) not reached"
        return Phase.SUCCESSFUL, f"count ({count}) reached"
    if terminating:
        return Phase.SUCCESSFUL, "run terminated"
    return Phase.RUNNING, ""


class AnalysisRun:
    """One analysis run (a step's inline analysis, or the background analysis) and its schedule.

    ``due(now)`` says which metrics should measure now (initialDelay, then every interval, until their count);
    ``record()`` adds a measurement; ``phase`` is the run's assessed phase.  Times: the driver's seconds.
    """

    def __init__(self, name: str, metrics: Sequence[MetricSpec], started_at: float) -> None:
        if not metrics:
            raise ValueError(f"analysis {name!r} has no metrics")
        self.name = name
        self.specs = {m.name: m for m in metrics}
        self.results = {m.name: MetricResult(m.name, dry_run=m.dry_run) for m in metrics}
        self.started_at = started_at
        self.terminated = False
        self.phase = Phase.RUNNING
        self.message = ""

    def due(self, now: float) -> list[MetricSpec]:
        if self.phase.completed:
            return []
        out = []
        for name, spec in self.specs.items():
            r = self.results[name]
            if r.phase.completed:
                continue
            if not r.measurements:
                if now >= self.started_at + spec.initial_delay_s:
                    out.append(spec)
            elif spec.interval_s is not None and now >= r.measurements[-1].finished_at + spec.interval_s:
                out.append(spec)
            elif spec.interval_s is None and r.measurements[-1].phase is Phase.ERROR:
                out.append(spec)  # Argo retries an errored measurement (its error backoff); we retry at once
        return out

    def next_due(self) -> float | None:
        """The earliest time a metric is due (None when the run is complete)."""
        if self.phase.completed:
            return None
        times = []
        for name, spec in self.specs.items():
            r = self.results[name]
            if r.phase.completed:
                continue
            if not r.measurements:
                times.append(self.started_at + spec.initial_delay_s)
            elif spec.interval_s is not None:
                times.append(r.measurements[-1].finished_at + spec.interval_s)
            else:
                times.append(r.measurements[-1].finished_at + 1.0)
        return min(times) if times else None

    def record(self, m: Measurement) -> Phase:
        self.results[m.metric].record(m)
        return self.assess()

    def terminate(self) -> Phase:
        """End the run early (step ended, rollout aborted/promoted): incomplete metrics assess as Argo does."""
        self.terminated = True
        return self.assess()

    def assess(self) -> Phase:
        """Argo's ``assessRunStatus``: the worst non-dry-run metric; any Failed/Error/Inconclusive terminates."""
        if self.phase.completed:
            return self.phase
        statuses: dict[str, tuple[Phase, str]] = {}
        terminating = self.terminated
        for name, spec in self.specs.items():
            statuses[name] = assess_metric(spec, self.results[name], terminating=False)
            if not spec.dry_run and statuses[name][0] in (Phase.FAILED, Phase.ERROR, Phase.INCONCLUSIVE):
                terminating = True
        worst_phase: Phase | None = None
        worst_message = ""
        everything_completed = True
        for name, spec in self.specs.items():
            r = self.results[name]
            phase, message = assess_metric(spec, r, terminating=terminating)
            if phase.completed:
                r.phase, r.message = phase, message
            else:
                everything_completed = False
                continue
            if spec.dry_run:
                worst_phase = worst_phase or Phase.SUCCESSFUL
                continue
            if worst_phase is None or worst(worst_phase, phase) is not worst_phase:
                worst_phase = phase
                if message and phase is not Phase.SUCCESSFUL:
                    worst_message = f'Metric "{name}" assessed {phase} due to {message}'
        if terminating:
            self.phase = worst_phase or Phase.SUCCESSFUL
        elif everything_completed and worst_phase is not None:
            self.phase = worst_phase
        else:
            self.phase = Phase.RUNNING
        self.message = worst_message
        return self.phase

    @property
    def measurements(self) -> list[Measurement]:
        return sorted((m for r in self.results.values() for m in r.measurements), key=lambda m: m.finished_at)


# ------------------------------------------------------------------------------------------- plan
@dataclass(frozen=True)
class SetWeightStep:
    weight: int
    kind: Literal["setWeight"] = "setWeight"


@dataclass(frozen=True)
class PauseStep:
    duration_s: float | None  # None: indefinite (until promote/resume)
    kind: Literal["pause"] = "pause"


@dataclass(frozen=True)
class AnalysisStep:
    """An inline analysis: the rollout waits for it to complete."""

    metrics: tuple[MetricSpec, ...]
    templates: tuple[str, ...] = ()
    kind: Literal["analysis"] = "analysis"


RolloutStep = SetWeightStep | PauseStep | AnalysisStep


@dataclass(frozen=True)
class RolloutPlan:
    """The steps of a rollout plus its background analysis (runs from the first step until the end)."""

    steps: tuple[RolloutStep, ...]
    background: tuple[MetricSpec, ...] = ()
    source: str = ""
    rollback_slo_s: float = DEFAULT_ROLLBACK_SLO_S

    def __post_init__(self) -> None:
        check_weights(self.steps, self.source)

    @property
    def weights(self) -> list[int]:
        return [s.weight for s in self.steps if isinstance(s, SetWeightStep)]

    def with_pauses(self, pause_s: float | None) -> RolloutPlan:
        """The same plan with every timed pause shortened to ``pause_s`` (for quick CI runs)."""
        if pause_s is None:
            return self
        steps = tuple(PauseStep(min(s.duration_s, pause_s)) if isinstance(s, PauseStep) and s.duration_s
                      is not None else s for s in self.steps)
        return RolloutPlan(steps, self.background, self.source, self.rollback_slo_s)


class PlanError(ValueError):
    """A rollout plan that cannot run: names where."""


def check_weights(steps: Iterable[RolloutStep], where: str = "") -> None:
    """Weights must be 0..100 and strictly increasing (a canary only ever gains traffic)."""
    previous: int | None = None
    for i, step in enumerate(steps):
        if not isinstance(step, SetWeightStep):
            continue
        prefix = f"{where}: " if where else ""
        if not 0 <= step.weight <= 100:
            raise PlanError(f"{prefix}steps[{i}].setWeight: {step.weight} is outside 0..100")
        if previous is not None and step.weight <= previous:
            raise PlanError(f"{prefix}steps[{i}].setWeight: {step.weight} does not increase on the previous "
                            f"weight {previous}; canary weights must go up, e.g. 10, 25, 50, 100")
        previous = step.weight


# ------------------------------------------------------------------------------------------- result
@dataclass(frozen=True)
class DrillRequest:
    """What the canary is made to do wrong in a rollback drill."""

    simulate: Literal["error-rate", "p95-latency"]
    value: str  # "5%", "500ms"
    description: str = ""

    @staticmethod
    def parse(spec: str) -> DrillRequest:
        """``error-rate=5%`` or ``p95-latency=500ms`` (the ``--blissful-simulate-failure`` syntax)."""
        name, sep, value = spec.partition("=")
        name, value = name.strip(), value.strip()
        if not sep or name not in ("error-rate", "p95-latency") or not value:
            raise ValueError(f"--blissful-simulate-failure {spec!r}: use error-rate=5% or p95-latency=500ms")
        drill = DrillRequest(name, value)  # type: ignore[arg-type]
        drill.amount()
        return drill

    def amount(self) -> float:
        """The amount as a number: a fraction for error-rate, milliseconds for p95-latency."""
        text = self.value.strip().lower().replace(" ", "")
        try:
            if self.simulate == "error-rate":
                number = float(text[:-1]) / 100 if text.endswith("%") else float(text)
                if not 0 < number <= 1:
                    raise ValueError
                return number
            for unit, factor in (("ms", 1.0), ("s", 1000.0)):
                if text.endswith(unit):
                    number = float(text[: -len(unit)]) * factor
                    break
            else:
                number = float(text)
            if not 0 < number <= 60_000:
                raise ValueError
            return number
        except ValueError:
            example = "'5%'" if self.simulate == "error-rate" else "'500ms'"
            raise ValueError(f"drill {self.simulate}: value {self.value!r} is not understood, e.g. {example}") from None


@dataclass(frozen=True)
class StepRecord:
    """One executed (or skipped) rollout step, as ``canary status`` shows it."""

    index: int
    kind: str
    description: str
    weight: int  # canary weight while the step ran
    status: str  # Completed | Running | Aborted | Paused | Skipped | Pending
    started_at: float | None = None
    finished_at: float | None = None
    analysis: str = ""  # the analysis phase and message for this step, if any

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class WeightChange:
    """A weight change: ``at`` when it was asked for, ``applied_at`` when the router confirmed it (the switch
    happened in between)."""

    at: float
    weight: int
    reason: str  # "step 0", "abort", "promote", ...
    applied_at: float | None = None


@dataclass(frozen=True)
class TrafficPoint:
    """One second of observed traffic, split by version (from the load timeline's X-App-Version split)."""

    at: float
    weight: int
    stable_requests: int
    canary_requests: int
    stable_error_rate: float
    canary_error_rate: float
    stable_p95_ms: float
    canary_p95_ms: float

    @property
    def canary_share(self) -> float:
        total = self.stable_requests + self.canary_requests
        return 100.0 * self.canary_requests / total if total else math.nan


@dataclass(frozen=True)
class RollbackTiming:
    """first failed measurement → rollback start → 100% stable → canary stopped (driver seconds)."""

    first_failed_at: float
    rollback_started_at: float
    stable_full_at: float | None
    canary_stopped_at: float | None

    @property
    def completed_s(self) -> float | None:
        """From the first failed measurement to the canary stopped (None: never finished)."""
        if self.stable_full_at is None or self.canary_stopped_at is None:
            return None
        return max(self.stable_full_at, self.canary_stopped_at) - self.first_failed_at

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "completed_s": self.completed_s}


Outcome = Literal["promoted", "aborted", "paused", "incomplete"]
Verdict = Literal["pass", "fail", "inconclusive"]


@dataclass(frozen=True)
class CanaryResult:
    """The record of one canary rollout or rollback drill, and its verdict.

    * rollout: ``pass`` when every step ran and the analysis was Successful (promoted); ``fail`` when the
      analysis failed (aborted); ``inconclusive`` when an Inconclusive analysis paused the rollout;
    * drill: ``pass`` when the analysis detected the failure (a Failed/Error measurement after the canary started
      misbehaving), the rollout aborted by itself and the rollback completed within ``rollback_slo_s``; ``fail``
      when it was promoted or the rollback was too slow; ``inconclusive`` when paused on an Inconclusive analysis.
    """

    name: str
    driver: str  # "docker", "argo-rollouts"
    outcome: Outcome
    analysis_phase: Phase
    message: str
    steps: tuple[StepRecord, ...]
    measurements: tuple[Measurement, ...]
    weights: tuple[WeightChange, ...]
    traffic: tuple[TrafficPoint, ...] = ()
    drill: DrillRequest | None = None
    rollback: RollbackTiming | None = None
    rollback_slo_s: float = DEFAULT_ROLLBACK_SLO_S
    duration_s: float = 0.0
    versions: Mapping[str, str] = field(default_factory=dict)
    provider: str = ""
    warnings: tuple[str, ...] = ()

    @property
    def detected_at(self) -> float | None:
        """When the analysis first saw the failure: the first Failed measurement (dry runs excluded).

        An Error (no data, provider down) is not a detection: it aborts the rollout as in Argo, but a drill
        that ended on Errors alone did not show that the analysis sees the failure."""
        for m in self.measurements:
            if not m.dry_run and m.phase is Phase.FAILED:
                return m.finished_at
        return None

    @property
    def verdict(self) -> Verdict:
        if self.outcome in ("paused", "incomplete") or self.analysis_phase is Phase.INCONCLUSIVE:
            return "inconclusive"
        if self.drill is None:
            return "pass" if self.outcome == "promoted" and self.analysis_phase is Phase.SUCCESSFUL else "fail"
        if self.outcome == "aborted" and self.detected_at is None:
            return "inconclusive"  # aborted on measurement errors: the failure itself was never measured
        if self.outcome != "aborted" or self.rollback is None:
            return "fail"
        done = self.rollback.completed_s
        return "pass" if done is not None and done <= self.rollback_slo_s else "fail"

    @property
    def passed(self) -> bool:
        return self.verdict == "pass"

    @property
    def reason(self) -> str:
        v = self.verdict
        if v == "inconclusive":
            if self.outcome == "aborted":
                return f"aborted on measurement errors, no Failed measurement: {self.message}"
            return f"paused on an Inconclusive analysis: {self.message or 'no decision'}"
        if self.drill is None:
            if v == "pass":
                return f"promoted to 100% after {len(self.measurements)} successful measurement(s)"
            return f"aborted: {self.message}" if self.outcome == "aborted" else self.message
        what = f"{self.drill.simulate} {self.drill.value}"
        if self.outcome != "aborted":
            return f"drill {what}: the analysis did not detect the failure; the canary was {self.outcome}"
        done = self.rollback.completed_s if self.rollback else None
        if done is None:
            return f"drill {what}: detected, but the rollback did not complete"
        line = f"Rollback completed in {done:.1f} s (SLO {self.rollback_slo_s:g} s)"
        return line if v == "pass" else f"{line}: too slow"

    def status_rows(self) -> list[dict[str, Any]]:
        """Per step: weight, status, analysis (the spec's ``canary status``)."""
        return [s.to_dict() for s in self.steps]

    def explain(self) -> str:
        kind = "rollback drill" if self.drill else "canary"
        lines = [f"{kind} {self.name}: {self.verdict.upper()} — {self.reason}"]
        lines.append(f"  outcome {self.outcome}, analysis {self.analysis_phase}"
                     + (f" ({self.message})" if self.message else ""))
        for s in self.steps:
            lines.append(f"  step {s.index}: {s.description:<24} weight {s.weight:>3}%  {s.status:<9} "
                         f"{s.analysis}".rstrip())
        counts: dict[str, dict[str, int]] = {}
        for m in self.measurements:
            counts.setdefault(m.metric, {}).setdefault(str(m.phase), 0)
            counts[m.metric][str(m.phase)] += 1
        for metric, by_phase in counts.items():
            last = [m for m in self.measurements if m.metric == metric][-1]
            lines.append(f"  metric {metric}: " + ", ".join(f"{k} {v}" for k, v in sorted(by_phase.items()))
                         + f"; last value {last.value or '-'}" + (f" ({last.message})" if last.message else ""))
        if self.rollback is not None:
            r = self.rollback
            stable = "never" if r.stable_full_at is None else f"t={r.stable_full_at:.1f}s"
            stopped = "never" if r.canary_stopped_at is None else f"t={r.canary_stopped_at:.1f}s"
            lines.append(f"  rollback: first failed measurement t={r.first_failed_at:.1f}s → rollback start "
                         f"t={r.rollback_started_at:.1f}s → 100% stable {stable} → canary stopped {stopped}")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "driver": self.driver,
            "verdict": self.verdict,
            "passed": self.passed,
            "reason": self.reason,
            "outcome": self.outcome,
            "analysis_phase": str(self.analysis_phase),
            "message": self.message,
            "provider": self.provider,
            "versions": dict(self.versions),
            "duration_s": round(self.duration_s, 3),
            "steps": [s.to_dict() for s in self.steps],
            "measurements": [m.to_dict() for m in self.measurements],
            "weights": [asdict(w) for w in self.weights],
            "traffic": [_finite({**asdict(t), "canary_share": t.canary_share}) for t in self.traffic],
            "drill": asdict(self.drill) if self.drill else None,
            "detected_at": self.detected_at,
            "rollback": self.rollback.to_dict() if self.rollback else None,
            "rollback_slo_s": self.rollback_slo_s,
            "warnings": list(self.warnings),
        }


def _finite(row: dict[str, Any]) -> dict[str, Any]:
    """JSON has no NaN: a figure that was not observed (no requests that second) is null."""
    return {k: (None if isinstance(v, float) and not math.isfinite(v) else v) for k, v in row.items()}
