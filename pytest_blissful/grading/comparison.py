"""Old-vs-new version comparison: a Kayenta-style judge on block aggregates, and the recommendation.

Pure: numbers in, a :class:`ComparisonResult` out (no I/O; scipy is imported when a metric is judged).

**Why blocks.** Per-request samples are autocorrelated (a slow second slows every request in it), so a test on
them declares identical services "different" far too often. The run is cut into blocks (e.g. 5 s) and each
block gives one value per metric and version (its p95, its error rate, its throughput, the mean CPU % ...).
Blocks of the two versions come from the same instants of one interleaved load, so a machine hiccup hits both.

**The judge (per metric).** Mann-Whitney U, two-sided, on the two sets of block values; the Hodges-Lehmann
estimate of the shift (median of all pairwise differences new − old) with its distribution-free confidence
interval (Moses / Bauer, from the normal approximation of U). A metric is *different* only when all of these
hold: p < α, the interval excludes 0, and the shift is practically relevant — larger than ``tolerance``
(relative, of the old median) and than the metric's absolute floor. Then it is **better** or **worse** by the
metric's direction; otherwise **no significant difference**. Too few blocks → **inconclusive**.

**98 % is the whole table's confidence.** A comparison tests m rows at once (p50/p95/p99, throughput, error
rate, CPU, memory, one p50 and one p95 per endpoint); at 2 % each, two identical versions would show *some*
difference far more often than 2 % of the time. Each of the m rows is therefore judged at α = 2 %/m (Bonferroni)
and its interval is the 1 − 2 %/m one: together the intervals hold with at least 98 % confidence, and so does
the winner.

**Recommendation.** "Inconclusive — run longer" when the evidence is void (too few blocks of a critical
metric, a saturated load generator, a side that broke its steady state); else "Keep old version" when a
critical metric is significantly worse; else "Promote new version" when every threshold holds for the new
version; else "Keep old version" (the new version breaks a threshold).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Final, Literal

CONFIDENCE: Final = 0.98
ALPHA: Final = 1.0 - CONFIDENCE
MIN_BLOCKS: Final = 5  # per side; below this the 98 % interval cannot exclude anything
#: Note of a metric that was not measured in this run (e.g. the resilience score without include_chaos): shown as
#: such, and it neither blocks nor supports a promotion.
NOT_MEASURED: Final = "not measured"
#: Critical unless the config names others. p50 is here because a regression that adds work to one endpoint
#: moves that endpoint's whole latency distribution: its per-block median shows the shift with far less sampling
#: noise than a per-block p95 of the few requests a block holds (bench/compare_power.py).
DEFAULT_CRITICAL_METRICS: Final = ("p50_latency_ms", "p95_latency_ms", "error_rate_percent", "resilience_score")

Outcome = Literal["better", "worse", "no significant difference", "inconclusive"]
Recommendation = Literal["Promote new version", "Keep old version", "Inconclusive — run longer"]
PROMOTE: Final[Recommendation] = "Promote new version"
KEEP: Final[Recommendation] = "Keep old version"
INCONCLUSIVE: Final[Recommendation] = "Inconclusive — run longer"


class ComparisonError(ValueError):
    """A metric, threshold or critical metric that the comparison does not know."""


@dataclass(frozen=True)
class MetricSpec:
    """What a metric is: its label and unit, which direction is better, its threshold and practical floor."""

    name: str
    label: str
    unit: str
    higher_is_better: bool
    threshold_key: str | None  # key in comparison.thresholds
    floor: float  # smallest absolute shift that matters (in the metric's unit)


METRICS: Final[dict[str, MetricSpec]] = {
    spec.name: spec
    for spec in (
        MetricSpec("p50_latency_ms", "p50 latency", "ms", False, None, 0.2),
        MetricSpec("p95_latency_ms", "p95 latency", "ms", False, "p95_latency_ms", 0.5),
        MetricSpec("p99_latency_ms", "p99 latency", "ms", False, "p99_latency_ms", 1.0),
        MetricSpec("throughput_rps", "throughput", "req/s", True, "min_throughput_rps", 1.0),
        MetricSpec("error_rate_percent", "error rate", "%", False, "max_error_rate_percent", 0.1),
        MetricSpec("cpu_percent", "CPU usage", "%", False, "max_cpu_percent", 2.0),
        MetricSpec("memory_mb", "memory usage", "MB", False, "max_memory_mb", 5.0),
        MetricSpec("resilience_score", "resilience score", "/100", True, "min_resilience_score", 1.0),
    )
}
#: Threshold keys of ``comparison.thresholds`` → (metric, "max" or "min").
THRESHOLD_KEYS: Final[dict[str, tuple[str, str]]] = {
    "p95_latency_ms": ("p95_latency_ms", "max"),
    "p99_latency_ms": ("p99_latency_ms", "max"),
    "min_throughput_rps": ("throughput_rps", "min"),
    "max_error_rate_percent": ("error_rate_percent", "max"),
    "max_cpu_percent": ("cpu_percent", "max"),
    "max_memory_mb": ("memory_mb", "max"),
    "min_resilience_score": ("resilience_score", "min"),
}


def base_metric(name: str) -> str:
    """``"p95_latency_ms[GET /greetings]"`` → ``"p95_latency_ms"`` (per-endpoint rows share their metric)."""
    return name.split("[", 1)[0]


def check_metric_names(names: Sequence[str]) -> None:
    unknown = [n for n in names if base_metric(n) not in METRICS]
    if unknown:
        raise ComparisonError(f"unknown metric {', '.join(map(repr, unknown))}; known metrics: {', '.join(METRICS)}")


# --------------------------------------------------------------------------------------------- the judge
@dataclass(frozen=True)
class Shift:
    """Hodges-Lehmann shift new − old with its confidence interval, and the Mann-Whitney p-value."""

    estimate: float
    ci_low: float
    ci_high: float
    p_value: float


def hodges_lehmann(old: Sequence[float], new: Sequence[float], confidence: float = CONFIDENCE) -> Shift:
    """Shift of ``new`` against ``old``: HL estimate, distribution-free CI, two-sided Mann-Whitney p-value."""
    import numpy as np
    from scipy import stats

    x, y = np.asarray(old, dtype=float), np.asarray(new, dtype=float)
    m, n = len(x), len(y)
    if m == 0 or n == 0:
        raise ValueError("both versions need at least one block")
    diffs = np.sort((y[:, None] - x[None, :]).ravel())
    estimate = float(np.median(diffs))
    if np.all(diffs == diffs[0]):  # every block identical up to a constant: no spread, the shift is exact
        p_value = 1.0 if diffs[0] == 0 else 0.0
        return Shift(float(diffs[0]), float(diffs[0]), float(diffs[0]), p_value)
    # the exact null distribution is slow beyond a few dozen blocks, where the normal approximation is accurate
    method = "auto" if m + n <= 24 else "asymptotic"
    p_value = float(stats.mannwhitneyu(y, x, alternative="two-sided", method=method).pvalue)
    z = float(stats.norm.ppf(1.0 - (1.0 - confidence) / 2.0))
    k = math.floor(m * n / 2.0 - z * math.sqrt(m * n * (m + n + 1) / 12.0))
    k = max(k, 0)
    low = float(diffs[k]) if k < len(diffs) else float(diffs[0])
    high = float(diffs[len(diffs) - 1 - k]) if k < len(diffs) else float(diffs[-1])
    if k == 0:  # too few blocks for this confidence: the interval is the whole range of differences
        low, high = float(diffs[0]), float(diffs[-1])
    return Shift(estimate, min(low, estimate), max(high, estimate), p_value)


def blocks_needed(confidence: float) -> int:
    """The fewest blocks per version with which Mann-Whitney can reach p < 1 − ``confidence`` at all: the
    smallest two-sided p-value of n against n blocks is 2 / C(2n, n)."""
    n = 1
    while 2.0 / math.comb(2 * n, n) >= 1.0 - confidence and n < 1000:
        n += 1
    return n


@dataclass(frozen=True)
class MetricSamples:
    """One metric of both versions: the whole-run values (shown, and checked against thresholds) and the
    per-block values (tested)."""

    name: str
    old_value: float | None
    new_value: float | None
    old_blocks: tuple[float, ...] = ()
    new_blocks: tuple[float, ...] = ()
    note: str = ""
    #: the resilience score's evidence: scenario → ((old verdict, reason), (new verdict, reason))
    verdicts: Mapping[str, tuple[tuple[str, str], tuple[str, str]]] | None = None


@dataclass(frozen=True)
class MetricComparison:
    """One row of the comparison table."""

    name: str
    label: str
    unit: str
    old: float | None
    new: float | None
    outcome: Outcome
    shift: float | None = None
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    relative_change: float | None = None  # shift / old median (None when the old median is 0)
    blocks: tuple[int, int] = (0, 0)
    critical: bool = False
    threshold: str | None = None  # e.g. "< 200 ms"
    new_meets_threshold: bool | None = None
    note: str = ""
    #: the level this row was judged at: 1 − 2 %/m for a table of m tested rows (the table's CIs hold together at 98 %)
    row_confidence: float | None = None

    @property
    def winner(self) -> str:
        """"new", "old", "no significant difference" or "inconclusive"."""
        if self.outcome == "better":
            return "new"
        if self.outcome == "worse":
            return "old"
        return self.outcome

    def change_text(self) -> str:
        """``+3.10 ms (+18.2%) [98% CI +2.40 … +3.90]`` or a short reason."""
        unit = "" if self.unit in ("%", "/100") else f" {self.unit}"
        if self.shift is not None and (self.ci_low is None or self.ci_high is None):  # one run per version
            return f"{self.shift:+.1f}{unit} ({self.note})" if self.note else f"{self.shift:+.1f}{unit}"
        if self.shift is None or self.ci_low is None or self.ci_high is None:
            return "—" if self.outcome != "inconclusive" else f"— ({self.note or 'too few blocks'})"
        rel = f" ({self.relative_change:+.1%})" if self.relative_change is not None else ""
        if self.unit == "%":
            unit = " pp"
        return f"{self.shift:+.2f}{unit}{rel} [{CONFIDENCE:.0%} CI {self.ci_low:+.2f} … {self.ci_high:+.2f}]"

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "label": self.label, "unit": self.unit, "old": self.old, "new": self.new,
            "outcome": self.outcome, "winner": self.winner, "shift": self.shift, "ci_low": self.ci_low,
            "ci_high": self.ci_high, "confidence": CONFIDENCE,
            "row_confidence": self.row_confidence, "p_value": self.p_value,
            "relative_change": self.relative_change, "blocks_old": self.blocks[0], "blocks_new": self.blocks[1],
            "critical": self.critical, "threshold": self.threshold, "new_meets_threshold": self.new_meets_threshold,
            "note": self.note,
        }


def judge(samples: MetricSamples, *, tolerance: float, critical: bool = False,
          thresholds: Mapping[str, float] | None = None, min_blocks: int = MIN_BLOCKS,
          confidence: float = CONFIDENCE) -> MetricComparison:
    """Compare one metric at ``confidence`` (see the module docstring for the rules; :func:`compare` passes the
    table's per-row level)."""
    spec = METRICS.get(base_metric(samples.name))
    if spec is None:
        raise ComparisonError(f"unknown metric {samples.name!r}; known metrics: {', '.join(METRICS)}")
    label = spec.label + (f" {samples.name[len(spec.name):]}" if samples.name != spec.name else "")
    threshold_text, meets = _threshold(spec, samples.name, samples.new_value, thresholds or {})
    common: dict[str, Any] = {
        "name": samples.name, "label": label, "unit": spec.unit, "old": samples.old_value, "new": samples.new_value,
        "blocks": (len(samples.old_blocks), len(samples.new_blocks)), "critical": critical,
        "threshold": threshold_text, "new_meets_threshold": meets,
    }
    if samples.verdicts is not None:
        return judge_resilience(samples.verdicts, common)
    if min(len(samples.old_blocks), len(samples.new_blocks)) < min_blocks:
        note = samples.note or (f"{len(samples.old_blocks)}/{len(samples.new_blocks)} blocks, "
                                f"need ≥ {min_blocks} per version")
        return MetricComparison(outcome="inconclusive", note=note, **common)
    shift = hodges_lehmann(samples.old_blocks, samples.new_blocks, confidence)
    import numpy as np

    old_median = float(np.median(samples.old_blocks))
    relative = shift.estimate / abs(old_median) if old_median else None
    relevant_at = max(spec.floor, tolerance * abs(old_median))
    significant = shift.p_value < 1.0 - confidence and (shift.ci_low > 0 or shift.ci_high < 0)
    relevant = abs(shift.estimate) >= relevant_at
    outcome: Outcome = "no significant difference"
    note = samples.note
    if significant and relevant:
        outcome = "better" if (shift.estimate > 0) == spec.higher_is_better else "worse"
    elif significant:
        note = note or f"significant but below the practical tolerance (±{relevant_at:.2f} {spec.unit})"
    return MetricComparison(outcome=outcome, shift=shift.estimate, ci_low=shift.ci_low, ci_high=shift.ci_high,
                            p_value=shift.p_value, relative_change=relative, note=note, row_confidence=confidence,
                            **common)


def judge_resilience(verdicts: Mapping[str, tuple[tuple[str, str], tuple[str, str]]],
                     common: Mapping[str, Any]) -> MetricComparison:
    """The resilience score from one FMEA run per version: judged on the scenarios' verdicts, not the score alone.

    * a scenario that could not be graded on either version (inconclusive, not run) → inconclusive, naming it;
    * a scenario that passes on the old version and fails on the new one → worse (a regression, whatever else
      improved);
    * one that fails on the old and passes on the new, and none the other way → better;
    * the same verdicts → no significant difference.
    """
    ungraded = [f"{name} ({side}: {verdict})" for name, (old, new) in verdicts.items()
                for side, (verdict, _reason) in (("old", old), ("new", new)) if verdict not in ("pass", "fail")]
    regressed = [f"{name} (new: {new[1]})" for name, (old, new) in verdicts.items()
                 if old[0] == "pass" and new[0] == "fail"]
    improved = [name for name, (old, new) in verdicts.items() if old[0] == "fail" and new[0] == "pass"]
    old_score, new_score = common["old"], common["new"]
    shift = new_score - old_score if old_score is not None and new_score is not None else None
    outcome: Outcome
    if ungraded:
        outcome, note = "inconclusive", "not graded on both versions: " + ", ".join(ungraded)
    elif regressed:
        outcome, note = "worse", "passes on the old version, fails on the new: " + "; ".join(regressed)
    elif improved:
        outcome, note = "better", "fails on the old version, passes on the new: " + ", ".join(improved)
    else:
        outcome, note = "no significant difference", f"the same verdicts in {len(verdicts)} scenario(s)"
    return MetricComparison(outcome=outcome, shift=shift, note=note, **{**common, "blocks": (1, 1)})


def _threshold(spec: MetricSpec, name: str, value: float | None,
               thresholds: Mapping[str, float]) -> tuple[str | None, bool | None]:
    if spec.threshold_key is None or name != spec.name or spec.threshold_key not in thresholds:
        return None, None
    limit = thresholds[spec.threshold_key]
    unit = "" if spec.unit in ("%", "/100") else f" {spec.unit}"
    pct = "%" if spec.unit == "%" else ""
    if THRESHOLD_KEYS[spec.threshold_key][1] == "max":
        return f"< {limit:g}{pct}{unit}", (None if value is None else value < limit)
    return f"≥ {limit:g}{pct}{unit}", (None if value is None else value >= limit)


# --------------------------------------------------------------------------------------------- the result
@dataclass(frozen=True)
class ComparisonResult:
    """The comparison of two versions: one row per metric, the winner and the recommendation."""

    old_label: str
    new_label: str
    metrics: tuple[MetricComparison, ...]
    recommendation: Recommendation
    reasons: tuple[str, ...]
    auto_promote: bool = False
    warnings: tuple[str, ...] = ()
    details: Mapping[str, Any] = field(default_factory=dict)  # durations, block size, users, per-side extras

    @property
    def passed(self) -> bool:
        """True only for "Promote new version"."""
        return self.recommendation == PROMOTE

    def __bool__(self) -> bool:
        return self.passed

    @property
    def winner(self) -> str:
        """"old" (a critical metric is significantly worse in the new version), "new" (promoted, and at least one
        metric significantly better), "inconclusive", or "no significant difference" (also when the new version
        is kept only because it breaks a threshold: that is not a difference between the versions)."""
        if self.recommendation == INCONCLUSIVE:
            return "inconclusive"
        if any(m.critical and m.outcome == "worse" for m in self.metrics):
            return "old"
        if self.recommendation == PROMOTE and any(m.outcome == "better" for m in self.metrics):
            return "new"
        return "no significant difference"

    def metric(self, name: str) -> MetricComparison:
        for row in self.metrics:
            if row.name == name:
                return row
        raise KeyError(f"no metric {name!r} in this comparison; metrics: {', '.join(m.name for m in self.metrics)}")

    def recommendation_line(self) -> str:
        promote = " (auto_promote is on: promotion is reported, nothing is deployed)" if self.auto_promote else ""
        line = f"Recommendation: {self.recommendation}"
        if self.winner in ("new", "old"):
            line += f" — winner: {self.winner} version, with {CONFIDENCE:.0%} confidence"
        return line + (f" ({'; '.join(self.reasons)})" if self.reasons else "") + promote

    def explain(self) -> str:
        lines = [f"comparison {self.old_label} (old) vs {self.new_label} (new):"]
        for m in self.metrics:
            flag = " [critical]" if m.critical else ""
            threshold = ""
            if m.threshold is not None:
                met = {True: "met", False: "NOT met", None: "not measured"}[m.new_meets_threshold]
                threshold = f"; threshold {m.threshold}: {met}"
            lines.append(f"  {m.label}{flag}: old {_fmt(m.old)} new {_fmt(m.new)} {m.unit} → {m.outcome}, "
                         f"change {m.change_text()}"
                         + (f", p={m.p_value:.3g}" if m.p_value is not None else "") + threshold
                         + (f" ({m.note})" if m.note and m.shift is not None else ""))
        lines.extend(f"⚠ {w}" for w in self.warnings)
        lines.append(self.recommendation_line())
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"ComparisonResult({self.recommendation}\n{self.explain()}\n)"

    def to_dict(self) -> dict[str, Any]:
        return {
            "old": self.old_label, "new": self.new_label, "passed": self.passed, "winner": self.winner,
            "recommendation": self.recommendation, "reasons": list(self.reasons), "auto_promote": self.auto_promote,
            "confidence": CONFIDENCE, "metrics": [m.to_dict() for m in self.metrics], "warnings": list(self.warnings),
            "details": dict(self.details),
        }


def _fmt(value: float | None) -> str:
    if value is None:
        return "—"
    return f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"


def compare(
    samples: Sequence[MetricSamples],
    *,
    old_label: str = "old",
    new_label: str = "new",
    critical_metrics: Sequence[str] = DEFAULT_CRITICAL_METRICS,
    thresholds: Mapping[str, float] | None = None,
    tolerance: float = 0.05,
    min_blocks: int = MIN_BLOCKS,
    invalid: Sequence[str] = (),
    auto_promote: bool = False,
    warnings: Sequence[str] = (),
    details: Mapping[str, Any] | None = None,
) -> ComparisonResult:
    """Judge every metric and recommend. ``invalid`` lists reasons the evidence is void (a saturated load
    generator, a side that broke its steady state): any of them makes the recommendation inconclusive.

    A critical metric name covers its per-endpoint rows too (``p95_latency_ms`` → ``p95_latency_ms[GET /x]``).
    """
    check_metric_names([*critical_metrics, *(s.name for s in samples)])
    unknown = sorted(set(thresholds or {}) - set(THRESHOLD_KEYS))
    if unknown:
        raise ComparisonError(f"unknown threshold {', '.join(map(repr, unknown))}; known: {', '.join(THRESHOLD_KEYS)}")
    critical = set(critical_metrics)
    tested = sum(1 for s in samples
                 if s.verdicts is None and min(len(s.old_blocks), len(s.new_blocks)) >= min_blocks)
    row_confidence = 1.0 - ALPHA / max(tested, 1)
    rows = tuple(
        judge(s, tolerance=tolerance, critical=base_metric(s.name) in critical, thresholds=thresholds,
              min_blocks=max(min_blocks, blocks_needed(row_confidence)), confidence=row_confidence)
        for s in samples
    )
    recommendation, reasons = recommend(rows, invalid)
    return ComparisonResult(old_label=old_label, new_label=new_label, metrics=rows, recommendation=recommendation,
                            reasons=reasons, auto_promote=auto_promote, warnings=tuple(warnings),
                            details=dict(details or {}))


def recommend(rows: Sequence[MetricComparison], invalid: Sequence[str] = ()) -> tuple[Recommendation, tuple[str, ...]]:
    """The recommendation rules (module docstring), with the reasons that decided it."""
    if invalid:
        return INCONCLUSIVE, tuple(invalid)
    critical_rows = [m for m in rows if m.critical]
    void = [m for m in critical_rows if m.outcome == "inconclusive" and not m.note.startswith(NOT_MEASURED)]
    if void:
        return INCONCLUSIVE, tuple(f"{m.label}: {m.note}" for m in void)
    worse = [m for m in critical_rows if m.outcome == "worse"]
    if worse:
        return KEEP, tuple(f"{m.label} significantly worse: {m.change_text()}" for m in worse)
    broken = [m for m in rows if m.new_meets_threshold is False]
    if broken:
        return KEEP, tuple(f"new version breaks the {m.label} threshold {m.threshold} ({_fmt(m.new)})"
                           for m in broken)
    better = [m.label for m in rows if m.outcome == "better"]
    if better:
        return PROMOTE, (f"significantly better: {', '.join(better)}; no critical metric worse; thresholds met",)
    return PROMOTE, ("no critical metric significantly worse; every threshold met",)

