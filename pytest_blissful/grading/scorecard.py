"""The resilience scorecard: a score out of 100, the FMEA pass rate, capability checks, gaps and recommendations.

Pure: built from FMEA rows (``FmeaResult.to_dict()`` plus the scenario's ``capabilities``), no I/O.

**Score** = 100 × Σ weightᵢ·creditᵢ / Σ weightᵢ over every scenario that ran, with credit 1 for a pass and 0
for a fail *or an inconclusive run* (nothing was shown, so nothing is credited). It is bounded to [0, 100] by
construction. ``coverage`` says which share of the weight was conclusive, so a low score from inconclusive
runs is told apart from a low score from failures.

**FMEA pass rate** = passes / scenarios run; the spec's promotion gate is ≥ 80 %.

**Capabilities** are judged only from the scenarios that exercise them (their ``capabilities`` metadata):
✅ every such scenario passed, ❌ every one failed, ⚠️ mixed or inconclusive, "not tested" without evidence.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, Literal

CAPABILITIES: dict[str, str] = {
    "circuit_breakers": "circuit breakers",
    "retries": "retry logic (exponential backoff)",
    "health_checks": "health checks (liveness & readiness)",
    "graceful_shutdown": "graceful shutdown (SIGTERM)",
    "caching": "caching / fallbacks",
    "bulkheads": "bulkheads (isolated replicas and resources)",
    "rate_limiting": "rate limiting",
    "timeouts": "timeouts",
}
# scenario metadata may use singular/alias names
_ALIASES = {"circuit_breaker": "circuit_breakers", "retry": "retries", "timeout": "timeouts",
            "cache": "caching", "bulkhead": "bulkheads", "health_check": "health_checks"}
_ADVICE = {
    "circuit_breakers": "add circuit breakers around calls to dependencies",
    "retries": "retry idempotent calls with exponential backoff and jitter",
    "health_checks": "separate liveness from readiness and let readiness reflect dependencies",
    "graceful_shutdown": "on SIGTERM stop taking traffic, finish in-flight requests, then exit",
    "caching": "serve cached or degraded responses when a dependency fails",
    "bulkheads": "run several replicas and bound each dependency's resources",
    "rate_limiting": "shed excess load with a rate limit before latency explodes",
    "timeouts": "bound every dependency call with a timeout",
}
PROMOTION_PASS_RATE = 80.0

Status = Literal["✅", "⚠️", "❌", "not tested"]


@dataclass(frozen=True)
class CapabilityCheck:
    name: str
    title: str
    status: Status
    evidence: tuple[str, ...]  # "db-down: pass", ...
    note: str


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

    @property
    def passed(self) -> bool:
        return bool(self.scenarios) and self.resilience_score >= self.min_score

    @property
    def promotable(self) -> bool:
        return bool(self.scenarios) and self.fmea_pass_rate >= PROMOTION_PASS_RATE

    @property
    def trend(self) -> str:
        if not self.history:
            return "first run"
        delta = self.resilience_score - self.history[-1]
        arrow = "↑" if delta > 0.05 else "↓" if delta < -0.05 else "→"
        return f"{arrow} {delta:+.1f} vs previous run ({self.history[-1]:.1f})"

    def explain(self) -> str:
        lines = [
            f"Resilience score: {self.resilience_score:.1f}/100 (minimum {self.min_score:g}; {self.trend})",
            f"FMEA pass rate: {self.fmea_pass_rate:.0f}% (promotion needs ≥ {PROMOTION_PASS_RATE:g}%: "
            f"{'yes' if self.promotable else 'no'}); conclusive coverage {self.coverage:.0f}% of the weight",
            "Capabilities:",
        ]
        width = max((len(c.title) for c in self.capabilities), default=0)
        for check in self.capabilities:
            lines.append(f"  {check.status:<10} {check.title:<{width}}  {check.note}")
        if self.recommendations:
            lines.append("Recommendations:")
            lines.extend(f"  - {item}" for item in self.recommendations)
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data.update(passed=self.passed, promotable=self.promotable, trend=self.trend)
        data["scenarios"] = [dict(row) for row in self.scenarios]
        return data


def build_scorecard(rows: Sequence[Mapping[str, Any]], *, min_score: float | None = None,
                    history: Sequence[float] = ()) -> Scorecard:
    """``rows``: ``FmeaResult.to_dict()`` each, with ``capabilities`` (the scenario's metadata) added."""
    total_weight = sum(float(r.get("weight", 1.0)) for r in rows)
    passed_weight = sum(float(r.get("weight", 1.0)) for r in rows if r["verdict"] == "pass")
    conclusive_weight = sum(float(r.get("weight", 1.0)) for r in rows if r["verdict"] != "inconclusive")
    score = 100.0 * passed_weight / total_weight if total_weight > 0 else 0.0
    pass_rate = 100.0 * sum(r["verdict"] == "pass" for r in rows) / len(rows) if rows else 0.0
    coverage = 100.0 * conclusive_weight / total_weight if total_weight > 0 else 0.0
    capabilities = tuple(_capability(name, title, rows) for name, title in CAPABILITIES.items())
    return Scorecard(
        resilience_score=round(min(100.0, max(0.0, score)), 1),
        fmea_pass_rate=round(pass_rate, 1),
        coverage=round(coverage, 1),
        scenarios=tuple(rows),
        capabilities=capabilities,
        recommendations=_recommendations(rows, capabilities),
        min_score=80.0 if min_score is None else min_score,
        history=tuple(history),
        min_score_enforced=min_score is not None,
    )


def _capability_names(row: Mapping[str, Any]) -> set[str]:
    return {_ALIASES.get(name, name) for name in row.get("capabilities", ())}


def _capability(name: str, title: str, rows: Sequence[Mapping[str, Any]]) -> CapabilityCheck:
    relevant = [r for r in rows if name in _capability_names(r)]
    evidence = tuple(f"{r['scenario']}: {r['verdict']}" for r in relevant)
    verdicts = {r["verdict"] for r in relevant}
    if not relevant:
        return CapabilityCheck(name, title, "not tested", (), "no scenario exercised it")
    if verdicts == {"pass"}:
        return CapabilityCheck(name, title, "✅", evidence, "held in " + ", ".join(r["scenario"] for r in relevant))
    if verdicts == {"fail"}:
        return CapabilityCheck(name, title, "❌", evidence, "failed in " + ", ".join(r["scenario"] for r in relevant))
    failed = [r["scenario"] for r in relevant if r["verdict"] == "fail"]
    unknown = [r["scenario"] for r in relevant if r["verdict"] == "inconclusive"]
    parts = ([f"failed in {', '.join(failed)}"] if failed else []) + (
        [f"inconclusive in {', '.join(unknown)}"] if unknown else [])
    return CapabilityCheck(name, title, "⚠️", evidence, "; ".join(parts))


def _recommendations(rows: Sequence[Mapping[str, Any]], capabilities: Sequence[CapabilityCheck]) -> tuple[str, ...]:
    items = []
    for row in rows:
        if row["verdict"] == "fail":
            advice = row.get("mitigation") or "add a mitigation for this failure mode"
            items.append(f"{row['scenario']}: {row['reason']} — {advice}")
        elif row["verdict"] == "inconclusive":
            items.append(f"{row['scenario']}: inconclusive ({row['reason']}) — fix the steady state and run it again")
    for check in capabilities:
        if check.status == "❌":
            items.append(f"{check.title}: {_ADVICE[check.name]}")
    return tuple(items)
