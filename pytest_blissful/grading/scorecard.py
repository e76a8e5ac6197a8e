"""The resilience scorecard: a score out of 100, the FMEA pass rate, coverage, capability checks, recommendations.

Pure: built from FMEA rows (``FmeaResult.to_dict()`` plus the scenario's ``capabilities``), no I/O.

Everything is computed over the **configured scenario set** (``chaos.scenarios``, default: every known scenario),
not over what happened to run, so running less never scores more:

* **score** = 100 × Σ weight of passed scenarios / Σ weight of configured scenarios. A scenario that did not run
  or was inconclusive earns nothing.
* **FMEA pass rate** = passed / configured scenarios.
* **coverage** = conclusive (pass or fail) / configured scenarios; not run or inconclusive = uncovered.
* **promotable** = pass rate ≥ 80 % **and** coverage ≥ ``chaos.min_coverage`` (default 100 %).

**Capabilities** are judged by their mechanism (``grading.capabilities``): every row carries the findings of its
run; a capability is ❌ when any run saw the failure it prevents, ✅ when a run saw the mechanism acting (and none
saw it fail), "not shown" otherwise. Each check names its rule and the numbers it rests on.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from pytest_blissful.grading.capabilities import (
    CAPABILITIES,
    FAILED,
    CapabilityVerdict,
    Finding,
    Status,
    combine,
)

__all__ = ["CAPABILITIES", "PROMOTION_PASS_RATE", "CapabilityCheck", "Scorecard", "build_scorecard"]

_ADVICE = {
    "circuit_breakers": "add circuit breakers around calls to dependencies",
    "retries": "retry idempotent calls with exponential backoff and jitter",
    "health_checks": "separate liveness from readiness and let readiness reflect dependencies",
    "graceful_shutdown": "on SIGTERM stop taking traffic, finish in-flight requests, then exit",
    "caching": "serve cached or degraded responses when a dependency fails",
    "bulkheads": "isolate each dependency's resources so one slow dependency cannot starve the rest",
    "rate_limiting": "shed excess load with a rate limit before latency explodes",
    "timeouts": "bound every dependency call with a timeout",
}
PROMOTION_PASS_RATE = 80.0
DEFAULT_MIN_COVERAGE = 100.0


@dataclass(frozen=True)
class CapabilityCheck:
    name: str
    title: str
    status: Status
    evidence: tuple[str, ...]  # "db-down: ✅ 100% of 212 requests ... answered successfully ..."
    note: str
    rule: str = ""
    findings: tuple[Mapping[str, Any], ...] = ()  # Finding.to_dict() each, with their numbers


@dataclass(frozen=True)
class Scorecard:
    resilience_score: float
    fmea_pass_rate: float
    coverage: float
    scenarios: tuple[Mapping[str, Any], ...]
    capabilities: tuple[CapabilityCheck, ...]
    recommendations: tuple[str, ...]
    min_score: float = 80.0
    history: tuple[float, ...] = field(default=())  # earlier scores, oldest first
    min_score_enforced: bool = False  # chaos.min_score set: a lower score fails the run
    configured: tuple[str, ...] = ()  # the scenario set the score is computed over
    uncovered: tuple[str, ...] = ()  # configured scenarios not run or inconclusive
    min_coverage: float = DEFAULT_MIN_COVERAGE

    @property
    def passed(self) -> bool:
        return bool(self.scenarios) and self.resilience_score >= self.min_score

    @property
    def promotable(self) -> bool:
        return (bool(self.scenarios) and self.fmea_pass_rate >= PROMOTION_PASS_RATE
                and self.coverage >= self.min_coverage)

    @property
    def trend(self) -> str:
        if not self.history:
            return "first run"
        delta = self.resilience_score - self.history[-1]
        arrow = "↑" if delta > 0.05 else "↓" if delta < -0.05 else "→"
        return f"{arrow} {delta:+.1f} vs previous run ({self.history[-1]:.1f})"

    @property
    def promotion_reason(self) -> str:
        problems = []
        if self.fmea_pass_rate < PROMOTION_PASS_RATE:
            problems.append(f"pass rate {self.fmea_pass_rate:.0f}% < {PROMOTION_PASS_RATE:g}%")
        if self.coverage < self.min_coverage:
            problems.append(f"coverage {self.coverage:.0f}% < {self.min_coverage:g}%")
        if not self.scenarios:
            problems.append("no scenario ran")
        return "yes" if not problems else "no: " + ", ".join(problems)

    def explain(self) -> str:
        shown = sum(c.status == "✅" for c in self.capabilities)
        lines = [
            f"Resilience score: {self.resilience_score:.1f}/100 over {len(self.configured)} configured scenarios "
            f"(minimum {self.min_score:g}; {self.trend})",
            f"FMEA pass rate: {self.fmea_pass_rate:.0f}% · coverage {self.coverage:.0f}% "
            f"(uncovered: {', '.join(self.uncovered) or 'none'}) · promotable: {self.promotion_reason}",
            f"Capabilities ({shown}/{len(self.capabilities)} shown by their mechanism):",
        ]
        width = max((len(c.title) for c in self.capabilities), default=0)
        for check in self.capabilities:
            lines.append(f"  {check.status:<10} {check.title:<{width}}  {check.note}")
            if check.rule:
                lines.append(f"  {'':<10} {'':<{width}}  rule: {check.rule}")
        if self.recommendations:
            lines.append("Recommendations:")
            lines.extend(f"  - {item}" for item in self.recommendations)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {
            "resilience_score": self.resilience_score, "fmea_pass_rate": self.fmea_pass_rate,
            "coverage": self.coverage, "configured": list(self.configured), "uncovered": list(self.uncovered),
            "min_coverage": self.min_coverage, "min_score": self.min_score, "history": list(self.history),
            "min_score_enforced": self.min_score_enforced, "passed": self.passed, "promotable": self.promotable,
            "trend": self.trend, "scenarios": [dict(row) for row in self.scenarios],
            "capabilities": [{"name": c.name, "title": c.title, "status": c.status, "evidence": list(c.evidence),
                              "note": c.note, "rule": c.rule, "findings": [dict(f) for f in c.findings]}
                             for c in self.capabilities],
            "recommendations": list(self.recommendations),
        }


def build_scorecard(rows: Sequence[Mapping[str, Any]], *, configured: Mapping[str, float] | None = None,
                    min_score: float | None = None, history: Sequence[float] = (),
                    min_coverage: float = DEFAULT_MIN_COVERAGE) -> Scorecard:
    """``rows``: ``FmeaResult.to_dict()`` each, with ``capabilities`` (the scenario's metadata) added.

    ``configured``: scenario name → weight of every scenario the score is over (``chaos.scenarios``, default all
    known). ``None`` (a partial view, e.g. one xdist worker's rows so far): the scenarios that ran.
    """
    latest: dict[str, Mapping[str, Any]] = {}
    for row in rows:  # a scenario run twice counts once, by its last run
        latest[str(row["scenario"])] = row
    weights = dict(configured) if configured is not None else {
        name: float(row.get("weight", 1.0)) for name, row in latest.items()}
    for name, row in latest.items():  # ran but not configured (e.g. a custom scenario): counts too
        weights.setdefault(name, float(row.get("weight", 1.0)))
    total_weight = sum(weights.values())
    verdicts = {name: latest[name]["verdict"] if name in latest else "not run" for name in weights}
    passed_weight = sum(w for name, w in weights.items() if verdicts[name] == "pass")
    score = 100.0 * passed_weight / total_weight if total_weight > 0 else 0.0
    count = len(weights)
    pass_rate = 100.0 * sum(v == "pass" for v in verdicts.values()) / count if count else 0.0
    conclusive = sum(v in ("pass", "fail") for v in verdicts.values())
    coverage = 100.0 * conclusive / count if count else 0.0
    findings = [Finding.from_dict(f) for row in latest.values() for f in row.get("findings", ())]
    capabilities = tuple(_check(verdict) for verdict in combine(findings))
    return Scorecard(
        resilience_score=round(min(100.0, max(0.0, score)), 1),
        fmea_pass_rate=round(pass_rate, 1),
        coverage=round(coverage, 1),
        scenarios=tuple(rows),
        capabilities=capabilities,
        recommendations=_recommendations(list(latest.values()), capabilities,
                                         [n for n, v in verdicts.items() if v == "not run"]),
        min_score=80.0 if min_score is None else min_score,
        history=tuple(history),
        min_score_enforced=min_score is not None,
        configured=tuple(weights),
        uncovered=tuple(n for n, v in verdicts.items() if v not in ("pass", "fail")),
        min_coverage=min_coverage,
    )


def _check(verdict: CapabilityVerdict) -> CapabilityCheck:
    return CapabilityCheck(name=verdict.name, title=verdict.title, status=verdict.status,
                           evidence=verdict.evidence, note=verdict.note, rule=verdict.rule,
                           findings=tuple(f.to_dict() for f in verdict.findings))


def _recommendations(rows: Sequence[Mapping[str, Any]], capabilities: Sequence[CapabilityCheck],
                     not_run: Sequence[str]) -> tuple[str, ...]:
    items = []
    for row in rows:
        if row["verdict"] == "fail":
            advice = row.get("mitigation") or "add a mitigation for this failure mode"
            items.append(f"{row['scenario']}: {row['reason']} — {advice}")
        elif row["verdict"] == "inconclusive":
            items.append(f"{row['scenario']}: inconclusive ({row['reason']}) — fix the steady state and run it again")
    if not_run:
        items.append(f"not run (uncovered): {', '.join(not_run)} — run the whole configured set to promote")
    for check in capabilities:
        if check.status == FAILED:
            items.append(f"{check.title}: {_ADVICE[check.name]}")
    return tuple(items)
