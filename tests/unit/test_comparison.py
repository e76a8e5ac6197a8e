"""The comparison judge: Mann-Whitney + Hodges-Lehmann on block aggregates, practical tolerance, recommendation."""

from __future__ import annotations

import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_blissful.grading.comparison import (
    INCONCLUSIVE,
    KEEP,
    NOT_MEASURED,
    PROMOTE,
    ComparisonError,
    MetricSamples,
    compare,
    hodges_lehmann,
    judge,
)

block_values = st.lists(st.floats(min_value=0.5, max_value=500.0, allow_nan=False), min_size=5, max_size=40)


@settings(max_examples=40)
@given(block_values)
def test_a_a_identical_blocks_are_never_different(values: list[float]) -> None:
    row = judge(MetricSamples("p95_latency_ms", 10.0, 10.0, tuple(values), tuple(values)), tolerance=0.0)
    assert row.outcome == "no significant difference"
    assert row.ci_low is not None and row.ci_high is not None
    assert row.ci_low <= 0.0 <= row.ci_high


@given(block_values, st.floats(min_value=-100.0, max_value=100.0, allow_nan=False))
def test_the_interval_contains_the_true_shift_of_a_shifted_copy(values: list[float], shift: float) -> None:
    moved = tuple(v + shift for v in values)
    result = hodges_lehmann(values, moved)
    assert result.estimate == pytest.approx(shift, abs=1e-6)
    assert result.ci_low - 1e-6 <= shift <= result.ci_high + 1e-6


@settings(max_examples=30)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_a_twenty_percent_slower_distribution_is_detected_as_worse(seed: int) -> None:
    rng = random.Random(seed)
    old = tuple(rng.gauss(20.0, 1.0) for _ in range(20))
    new = tuple(rng.gauss(24.0, 1.0) for _ in range(20))
    row = judge(MetricSamples("p95_latency_ms", 20.0, 24.0, old, new), tolerance=0.05)
    assert row.outcome == "worse"
    assert row.winner == "old"
    assert row.ci_low is not None and row.ci_high is not None and row.ci_low > 0


@settings(max_examples=5)
@given(st.integers(min_value=0, max_value=2**32 - 1))
def test_interval_coverage_on_noisy_samples(seed: int) -> None:
    """Not a proof, a guard: over 200 noisy draws the 98% interval covers the true shift most of the time."""
    rng = random.Random(seed)
    covered = 0
    for _ in range(200):
        old = [rng.expovariate(1 / 10) for _ in range(12)]
        new = [rng.expovariate(1 / 10) + 3.0 for _ in range(12)]
        shift = hodges_lehmann(old, new)
        covered += shift.ci_low <= 3.0 <= shift.ci_high
    assert covered >= 180  # nominal 196 of 200


def test_direction_follows_the_metric() -> None:
    old = tuple(float(v) for v in range(100, 120))
    faster = tuple(v * 1.5 for v in old)
    assert judge(MetricSamples("throughput_rps", 110, 165, old, faster), tolerance=0.05).outcome == "better"
    assert judge(MetricSamples("p99_latency_ms", 110, 165, old, faster), tolerance=0.05).outcome == "worse"


def test_practical_tolerance_hides_a_tiny_but_significant_shift() -> None:
    old = tuple(100.0 + i * 0.01 for i in range(30))
    new = tuple(v + 1.0 for v in old)  # +1% everywhere: significant, not relevant at 5%
    row = judge(MetricSamples("p95_latency_ms", 100.0, 101.0, old, new), tolerance=0.05)
    assert row.outcome == "no significant difference"
    assert "tolerance" in row.note
    assert judge(MetricSamples("p95_latency_ms", 100.0, 101.0, old, new), tolerance=0.005).outcome == "worse"


def test_too_few_blocks_is_inconclusive() -> None:
    row = judge(MetricSamples("p95_latency_ms", 1.0, 2.0, (1.0, 1.0), (2.0, 2.0)), tolerance=0.05)
    assert row.outcome == "inconclusive"
    assert "blocks" in row.note


def _samples(shift: float = 0.0, errors_new: float = 0.0) -> list[MetricSamples]:
    rng = random.Random(7)
    old = tuple(rng.gauss(20.0, 0.5) for _ in range(12))
    return [
        MetricSamples("p95_latency_ms", 20.0, 20.0 + shift, old, tuple(v + shift for v in old)),
        MetricSamples("error_rate_percent", 0.0, errors_new, (0.0,) * 12, (errors_new,) * 12),
        MetricSamples("throughput_rps", 500.0, 500.0, (500.0,) * 12, (500.0,) * 12),
        MetricSamples("resilience_score", None, None, note=f"{NOT_MEASURED} (include_chaos is off)"),
    ]


THRESHOLDS = {"p95_latency_ms": 200.0, "max_error_rate_percent": 1.0, "min_throughput_rps": 100.0}


def test_recommendation_promote_keep_inconclusive() -> None:
    same = compare(_samples(), thresholds=THRESHOLDS)
    assert same.recommendation == PROMOTE and same.passed
    assert same.winner == "no significant difference"
    assert same.metric("resilience_score").outcome == "inconclusive"  # shown as not measured, not blocking

    slower = compare(_samples(shift=8.0), thresholds=THRESHOLDS)
    assert slower.recommendation == KEEP and not slower.passed and slower.winner == "old"
    assert any("p95 latency significantly worse" in r for r in slower.reasons)

    faster = compare(_samples(shift=-8.0), thresholds=THRESHOLDS)
    assert faster.recommendation == PROMOTE and faster.winner == "new"

    breaks = compare(_samples(errors_new=2.0), thresholds=THRESHOLDS, critical_metrics=["p95_latency_ms"])
    assert breaks.recommendation == KEEP
    assert any("threshold" in r for r in breaks.reasons)

    saturated = compare(_samples(shift=8.0), thresholds=THRESHOLDS, invalid=["load generator saturated"])
    assert saturated.recommendation == INCONCLUSIVE and saturated.winner == "inconclusive"


def test_critical_metric_covers_its_endpoint_rows() -> None:
    rng = random.Random(3)
    old = tuple(rng.gauss(10.0, 0.3) for _ in range(10))
    rows = [MetricSamples("p95_latency_ms[GET /greetings]", 10.0, 13.0, old, tuple(v + 3 for v in old))]
    result = compare(rows, critical_metrics=["p95_latency_ms"])
    assert result.recommendation == KEEP
    assert result.metrics[0].label == "p95 latency [GET /greetings]"


def test_an_endpoint_median_shift_keeps_old_by_default_and_not_when_p50_is_not_critical() -> None:
    """A fixed extra delay on one endpoint shows in its p50 row while its noisy per-block p95 says nothing: the
    default critical metrics include p50, so that alone keeps the old version; a config without p50 promotes."""
    rng = random.Random(5)
    old_median = tuple(rng.gauss(40.0, 2.0) for _ in range(30))
    new_median = tuple(v + 10.0 for v in old_median)
    old_p95 = tuple(rng.uniform(100.0, 600.0) for _ in range(30))
    new_p95 = tuple(rng.uniform(100.0, 600.0) for _ in range(30))
    rows = [MetricSamples("p50_latency_ms[GET /greetings]", 40.0, 50.0, old_median, new_median),
            MetricSamples("p95_latency_ms[GET /greetings]", 350.0, 350.0, old_p95, new_p95)]

    by_default = compare(rows)
    assert by_default.recommendation == KEEP
    assert [m.outcome for m in by_default.metrics] == ["worse", "no significant difference"]
    assert by_default.metrics[0].critical and by_default.metrics[0].label == "p50 latency [GET /greetings]"

    without_p50 = compare(rows, critical_metrics=["p95_latency_ms", "error_rate_percent"])
    assert without_p50.recommendation == PROMOTE
    assert not without_p50.metrics[0].critical


def test_unknown_metrics_and_thresholds_are_errors() -> None:
    with pytest.raises(ComparisonError, match="unknown metric 'p96_latency_ms'"):
        compare(_samples(), critical_metrics=["p96_latency_ms"])
    with pytest.raises(ComparisonError, match="unknown threshold 'max_latency'"):
        compare(_samples(), thresholds={"max_latency": 1.0})


def test_result_renders() -> None:
    result = compare(_samples(shift=8.0), thresholds=THRESHOLDS)
    text = result.explain()
    assert "Recommendation: Keep old version — winner: old version, with 98% confidence" in text
    data = result.to_dict()
    assert data["recommendation"] == KEEP and data["metrics"][0]["outcome"] == "worse"
    assert "98% CI" in result.metric("p95_latency_ms").change_text()


def test_comparison_wiring_stays_light_and_follows_the_result_protocol() -> None:
    import subprocess
    import sys

    import pytest_blissful

    code = ("import sys, pytest_blissful.plugin, pytest_blissful.fixtures_compare, pytest_blissful.grading.comparison;"
            "print([m for m in ('scipy', 'numpy', 'docker', 'matplotlib') if m in sys.modules])")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == "[]"
    for member in ("passed", "explain", "to_dict", "winner", "recommendation", "metrics"):
        assert hasattr(pytest_blissful.ComparisonResult, member) or member in (
            pytest_blissful.ComparisonResult.__dataclass_fields__)


def test_the_resilience_row_follows_the_scenario_verdicts() -> None:
    """include_chaos: one FMEA run per version, so the row is judged on the verdicts, which it names."""
    from pytest_blissful.grading.comparison import KEEP, PROMOTE, compare

    passing, failing = ("pass", "SLOs held"), ("fail", "error rate under fault 60% > 5%")
    undecided = ("inconclusive", "fault not in effect")

    def row(verdicts: dict[str, tuple[tuple[str, str], tuple[str, str]]], old: float, new: float):  # type: ignore[no-untyped-def]
        result = compare([MetricSamples("resilience_score", old, new, verdicts=verdicts)])
        return result, result.metric("resilience_score")

    result, worse = row({"db-down": (passing, failing), "db-latency": (failing, passing)}, 50.0, 50.0)
    assert worse.outcome == "worse" and "db-down (new: error rate under fault 60% > 5%)" in worse.note
    assert result.recommendation == KEEP and result.winner == "old"
    result, better = row({"db-down": (failing, passing)}, 0.0, 100.0)
    assert better.outcome == "better" and better.shift == 100.0 and result.recommendation == PROMOTE
    result, void = row({"db-down": (passing, undecided)}, 100.0, 0.0)
    assert void.outcome == "inconclusive" and "db-down (new: inconclusive)" in void.note
    assert result.recommendation == "Inconclusive — run longer"
    _, same = row({"db-down": (passing, passing)}, 100.0, 100.0)
    assert same.outcome == "no significant difference"
    assert "+0.0" in same.change_text()


def test_the_tables_confidence_holds_for_all_its_rows_together() -> None:
    """Two identical versions, 11 rows of noisy blocks each, 200 comparisons: judged row by row at 2%, about a
    fifth of the tables would name *some* winner; judged at 2%/11 per row (the table's 98%), at most a few do."""
    rng = random.Random(20261202)
    names = ["p50_latency_ms", "p95_latency_ms", "p99_latency_ms", "throughput_rps", "error_rate_percent",
             "cpu_percent", "memory_mb", *(f"p95_latency_ms[GET /e{i}]" for i in range(4))]
    tables_different = rows_different_alone = 0
    for _ in range(200):
        samples = [MetricSamples(name, 1.0, 1.0, tuple(rng.lognormvariate(3, 0.5) for _ in range(30)),
                                 tuple(rng.lognormvariate(3, 0.5) for _ in range(30))) for name in names]
        result = compare(samples, tolerance=0.0)
        assert all(row.row_confidence == pytest.approx(1 - 0.02 / 11) for row in result.metrics)
        tables_different += any(row.outcome in ("better", "worse") for row in result.metrics)
        rows_different_alone += any(judge(s, tolerance=0.0).outcome in ("better", "worse") for s in samples)
    assert tables_different <= 10  # expected ≤ 2% of 200
    assert rows_different_alone >= 20  # the same tables, each row at 2%: ≈ 1 − 0.98^11 ≈ 20%


def test_a_table_of_many_rows_needs_enough_blocks_to_reach_its_level() -> None:
    old, new = tuple(float(v) for v in range(6)), tuple(float(v) + 100 for v in range(6))
    alone = compare([MetricSamples("p95_latency_ms", 2.5, 102.5, old, new)], tolerance=0.0)
    assert alone.metric("p95_latency_ms").outcome == "worse"
    eleven = compare([MetricSamples("p95_latency_ms", 2.5, 102.5, old, new),
                      *(MetricSamples(f"p95_latency_ms[GET /e{i}]", 1.0, 1.0, old, old) for i in range(10))],
                     tolerance=0.0)
    row = eleven.metric("p95_latency_ms")
    assert row.outcome == "inconclusive" and "need ≥ 7" in row.note
    assert eleven.recommendation == INCONCLUSIVE
