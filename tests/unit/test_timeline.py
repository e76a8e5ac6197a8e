"""Timeline: per-second HDR histograms, windows, merge and encode/decode (hypothesis)."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_blissful.metrics import TOTAL, Recorder, Timeline, TimelineBuilder

# (endpoint, latency µs, second offset, failed)
_samples = st.lists(
    st.tuples(
        st.sampled_from(["GET /hello", "POST /echo", "GET /health"]),
        st.integers(min_value=0, max_value=5_000_000),
        st.floats(min_value=0, max_value=9.999),
        st.booleans(),
    ),
    max_size=200,
)


def _record(samples: list[tuple[str, int, float, bool]], start: float = 1000.0) -> Timeline:
    rec = Recorder(start)
    for endpoint, us, at, failed in samples:
        rec.record(endpoint, us, start + at, status=500 if failed else 200, error="HTTP 500" if failed else None)
    return rec.flush().with_timing(duration_s=10.0)


def test_microseconds_are_exact_below_2ms() -> None:
    rec = Recorder(0.0)
    for us in (137, 212, 998, 1999):
        rec.record("GET /hello", us, 0.1)
    w = rec.flush().window()
    assert w.percentile_us(100) == 1999
    assert w.percentile_us(25) == 137
    assert w.min_ms == 0.137
    assert w.max_ms == 1.999


def test_window_selects_whole_seconds() -> None:
    rec = Recorder(100.0)
    for s in range(5):
        for _ in range(s + 1):
            rec.record("GET /hello", 1000, 100.0 + s + 0.5)
    tl = rec.flush().with_timing(start_monotonic=50.0, duration_s=5.0)
    assert tl.window().requests == 15
    assert tl.window(2, 4).requests == 3 + 4
    assert tl.window(2, 4).rps == 3.5
    assert tl.window_epoch(103.0, 104.0).requests == 4
    assert tl.second_at_monotonic(52.5) == 2.5
    assert [p.requests for p in tl.per_second()] == [1, 2, 3, 4, 5]


def test_dropped_are_counted_in_the_total() -> None:
    rec = Recorder(0.0)
    rec.record("GET /hello", 10, 0.1)
    rec.record_dropped(1.5, 7)
    tl = rec.flush()
    assert tl.window().dropped == 7
    assert tl.window(1, 2).dropped == 7
    assert tl.window(0, 1).dropped == 0


@settings(max_examples=60, deadline=None)
@given(_samples)
def test_counts_and_percentiles_match_the_samples(samples: list[tuple[str, int, float, bool]]) -> None:
    w = _record(samples).window()
    assert w.requests == len(samples)
    assert w.errors == sum(1 for *_, f in samples if f)
    if samples:
        values = sorted(us for _, us, _, _ in samples)
        assert w.max_us == pytest.approx(values[-1], rel=1e-3, abs=1)
        exact_p50 = values[max(0, int(0.5 * len(values) + 0.5) - 1)]
        assert w.percentile_us(50) == pytest.approx(exact_p50, rel=1e-3, abs=1)
    for name in w.endpoints:
        assert w.endpoint(name).requests == sum(1 for e, *_ in samples if e == name)


@settings(max_examples=40, deadline=None)
@given(_samples, _samples)
def test_merge_equals_recording_together(
    a: list[tuple[str, int, float, bool]], b: list[tuple[str, int, float, bool]]
) -> None:
    together = _record(a + b).window()
    merged = _record(a).merge(_record(b)).window()
    assert merged.requests == together.requests
    assert merged.errors == together.errors
    assert merged.statuses == together.statuses
    for q in (50, 95, 99, 99.9):
        assert merged.percentile_us(q) == together.percentile_us(q)


@settings(max_examples=40, deadline=None)
@given(_samples)
def test_encode_decode_roundtrip(samples: list[tuple[str, int, float, bool]]) -> None:
    tl = _record(samples).with_timing(start_monotonic=12.5)
    back = Timeline.decode(tl.encode())
    assert back.start_epoch == tl.start_epoch
    assert back.start_monotonic == 12.5
    assert back.duration_s == tl.duration_s
    for endpoint in (None, *tl.endpoints):
        x, y = tl.window(endpoint=endpoint), back.window(endpoint=endpoint)
        assert (x.requests, x.errors, x.p99_ms, x.max_ms) == (y.requests, y.errors, y.p99_ms, y.max_ms)


@settings(max_examples=30, deadline=None)
@given(_samples, st.integers(min_value=1, max_value=4))
def test_builder_accepts_fragments_in_any_split(samples: list[tuple[str, int, float, bool]], parts: int) -> None:
    builder = TimelineBuilder(1000.0)
    for i in range(parts):
        builder.add(_record(samples[i::parts]).encode())
    built = builder.build(duration_s=10.0).window()
    whole = _record(samples).window()
    assert (built.requests, built.p95_ms, built.errors) == (whole.requests, whole.p95_ms, whole.errors)


def test_total_key_and_empty_window() -> None:
    tl = Timeline(0.0)
    w = tl.window()
    assert (w.requests, w.p95_ms, w.error_rate, w.rps, w.max_ms) == (0, 0.0, 0.0, 0.0, 0.0)
    assert TOTAL == ""
    with pytest.raises(ValueError, match="percentile"):
        w.percentile_us(101)


# -- 100 ms buckets: exact window edges -----------------------------------------------------------------------------

_timed = st.lists(st.tuples(st.integers(min_value=100, max_value=900_000), st.floats(min_value=0, max_value=29.999)),
                  max_size=150)


def _brute(samples: list[tuple[int, float]], lo_bucket: int, hi_bucket: int) -> list[int]:
    return sorted(us for us, at in samples if lo_bucket <= int(at * 10 + 1e-6) < hi_bucket)


@settings(max_examples=80, deadline=None)
@given(_timed, st.floats(min_value=0, max_value=30), st.floats(min_value=0, max_value=30),
       st.sampled_from(["overlap", "inside"]))
def test_a_window_counts_exactly_the_buckets_of_its_range(samples: list[tuple[int, float]], a: float, b: float,
                                                         edges: str) -> None:
    start, end = min(a, b), max(a, b)
    rec = Recorder(500.0)
    for us, at in samples:
        rec.record("GET /hello", us, 500.0 + at)
    tl = rec.flush().with_timing(duration_s=30.0)
    w = tl.window(start, end, edges=edges)  # type: ignore[arg-type]
    lo, hi = tl.bucket_span(start, end, edges)  # type: ignore[arg-type]
    # the edges are within one bucket (100 ms) of the asked range, on the right side of it
    if edges == "inside":
        assert (start - 1e-9 <= lo / 10 < start + 0.1 + 1e-9 and end - 0.1 - 1e-9 < hi / 10 <= end + 1e-9) or hi == lo
    else:
        assert start - 0.1 - 1e-9 < lo / 10 <= start + 1e-9 and end - 1e-9 <= hi / 10 < end + 0.1 + 1e-9
    expected = _brute(samples, lo, hi)
    assert w.requests == len(expected)
    if expected:
        assert w.max_us == pytest.approx(expected[-1], rel=1e-3)
    # the per-second index gives the same figures as summing the buckets
    plain = Timeline(tl.start_epoch, duration_s=30.0, cells=dict(tl._items()))
    p = plain.window(start, end, edges=edges)  # type: ignore[arg-type]
    assert (p.requests, p.p50_ms, p.p99_ms, p.duration_s) == (w.requests, w.p50_ms, w.p99_ms, w.duration_s)


def test_inside_edges_keep_a_baseline_strictly_before_an_instant() -> None:
    rec = Recorder(0.0)
    for tenth in range(50):
        rec.record("GET /hello", 1000, tenth / 10 + 0.05)
    tl = rec.flush().with_timing(duration_s=5.0)
    before = tl.window(0.0, 2.37, edges="inside")
    assert before.requests == 23 and before.covered_s == pytest.approx((0.0, 2.3))
    during = tl.window(2.37, 3.02, edges="inside")
    assert during.requests == 6 and during.covered_s == pytest.approx((2.4, 3.0))
    assert tl.window(2.37, 3.02).requests == 8  # overlap: every bucket the range touches
    assert tl.window(2.31, 2.39, edges="inside").requests == 0


def test_older_per_second_timelines_still_decode() -> None:
    old = ('{"format":"blissful-timeline/1","start_epoch":10.0,"duration_s":3.0,'
           '"seconds":{"1":{"":{"n":4,"e":1},"GET /x":{"n":4,"e":1}}}}')
    tl = Timeline.decode(old)
    assert tl.resolution_s == 1.0
    assert tl.window(1, 2).requests == 4
    assert tl.window(0, 1).requests == 0


def test_an_hour_of_load_stays_small() -> None:
    """Cells grow with duration × endpoints only (36 000 buckets of 100 ms per endpoint per hour)."""
    rec = Recorder(0.0)
    for tenth in range(600):  # one minute, 2 endpoints, 30 requests per bucket
        for i in range(30):
            rec.record("GET /a" if i % 2 else "GET /b", 1000 + 37 * i, tenth / 10)
    tl = rec.flush()
    size = len(tl.encode())
    assert tl.buckets == 600 * 3
    assert size < 600 * 3 * 400  # a few hundred bytes per cell: ~60 MB for an hour of three cells per bucket
