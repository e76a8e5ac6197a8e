"""The thresholds grammar: parsing, errors with columns, evaluation (fuzzed with hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_blissful.grading import ThresholdError, evaluate, parse_threshold
from pytest_blissful.metrics import Recorder, Timeline


@pytest.mark.parametrize(
    ("text", "metric", "op", "limit", "endpoint"),
    [
        ("p95 < 200ms", "p95", "<", 200.0, None),
        ("p99 <= 0.5s", "p99", "<=", 500.0, None),
        ("p(95)<200", "p95", "<", 200.0, None),
        ("p(99.9) < 1500", "p99.9", "<", 1500.0, None),
        ("p99.9<10ms", "p99.9", "<", 10.0, None),
        ("p999 < 10", "p99.9", "<", 10.0, None),
        ("p50 < 800us", "p50", "<", 0.8, None),
        ("error_rate < 1%", "error_rate", "<", 0.01, None),
        ("rate<0.01", "error_rate", "<", 0.01, None),
        ("rps > 1000", "rps", ">", 1000.0, None),
        ("throughput >= 5/s", "rps", ">=", 5.0, None),
        ("max < 1s", "max", "<", 1000.0, None),
        ("avg<3", "avg", "<", 3.0, None),
        ("med < 2ms", "p50", "<", 2.0, None),
        ("requests >= 100", "requests", ">=", 100.0, None),
        ("GET /hello: p95 < 50ms", "p95", "<", 50.0, "GET /hello"),
        ("GET /hello/{name} : error_rate == 0", "error_rate", "==", 0.0, "GET /hello/{name}"),
    ],
)
def test_parses(text: str, metric: str, op: str, limit: float, endpoint: str | None) -> None:
    t = parse_threshold(text)
    assert (t.metric, t.op, t.endpoint) == (metric, op, endpoint)
    assert t.limit == pytest.approx(limit)
    assert parse_threshold(str(t)).limit == pytest.approx(t.limit)  # canonical form parses back


@pytest.mark.parametrize(
    ("text", "column", "fragment"),
    [
        ("", 1, "empty"),
        ("foo < 1", 1, "unknown metric 'foo'"),
        ("p95 ~ 200ms", 5, "expected one of"),
        ("p95 <", 6, "expected a number"),
        ("p95 < 200 parsecs", 11, "unknown latency unit"),
        ("error_rate < 5", 14, "did you mean 5%"),
        ("p101 < 1", 1, "outside 0..100"),
        (": p95 < 1", 1, "endpoint"),
        ("requests > 5ms", 13, "plain count"),
    ],
)
def test_errors_say_where_and_how(text: str, column: int, fragment: str) -> None:
    with pytest.raises(ThresholdError) as info:
        parse_threshold(text)
    assert info.value.column == column
    assert fragment in str(info.value)
    assert "valid examples: 'p95 < 200ms'" in str(info.value)


def _timeline() -> Timeline:
    rec = Recorder(0.0)
    for i in range(100):
        rec.record("GET /hello", 1000 * (i + 1), 0.5, status=200)  # 1..100 ms
    rec.record("POST /echo", 5000, 0.5, status=500, error="HTTP 500")
    return rec.flush().with_timing(duration_s=1.0)


def test_evaluates_against_a_window() -> None:
    window = _timeline().window()
    report = evaluate(["p95 < 200ms", "max <= 100.1ms", "rps > 50", "error_rate < 1%"], window)
    assert [r.passed for r in report.results] == [True, True, True, True]
    report = evaluate(["GET /hello: p50 < 40ms", "POST /echo: error_rate < 1%"], window)
    assert not report.passed
    assert not report
    assert report.results[0].observed == pytest.approx(50.0, rel=0.01)
    assert "✗ GET /hello: p50 < 40ms  (observed 50" in report.explain()
    assert report.results[1].observed == 1.0


def test_no_requests_never_passes() -> None:
    window = _timeline().window()
    report = evaluate(["GET /nope: p95 < 1s"], window)
    assert not report.passed
    assert "no requests to GET /nope" in report.explain()
    assert "GET /hello" in report.explain()


_metrics = st.sampled_from(["p50", "p95", "p99", "p99.9", "p(90)", "avg", "max", "min", "med"])
_ops = st.sampled_from(["<", "<=", ">", ">=", "==", "!="])
_units = st.sampled_from(["", "ms", "s", "us"])
_spaces = st.sampled_from(["", " ", "  "])


@given(_metrics, _ops, st.floats(min_value=0, max_value=1e6, allow_nan=False), _units, _spaces, _spaces)
def test_fuzz_latency_thresholds_roundtrip(metric: str, op: str, value: float, unit: str, s1: str, s2: str) -> None:
    text = f"{metric}{s1}{op}{s2}{value!r}{unit}"
    t = parse_threshold(text)
    factor = {"": 1.0, "ms": 1.0, "s": 1000.0, "us": 0.001}[unit]
    assert t.limit == pytest.approx(value * factor)
    assert t.op == op
    assert t.kind == "latency"


@given(st.text(max_size=40))
def test_fuzz_garbage_raises_only_threshold_error(text: str) -> None:
    column = None
    try:
        t = parse_threshold(text)
    except ThresholdError as exc:
        column = exc.column
    else:
        assert t.op in ("<", "<=", ">", ">=", "==", "!=")
    if column is not None:
        assert 1 <= column <= len(text) + 1


@given(st.floats(min_value=0, max_value=100, allow_nan=False))
def test_fuzz_percent_equals_fraction(pct: float) -> None:
    assert parse_threshold(f"error_rate < {pct!r}%").limit == pytest.approx(
        parse_threshold(f"rate < {pct / 100!r}").limit
    )
