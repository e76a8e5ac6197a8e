"""The comparison's rows as the flow builds them from two recorded timelines: one p50 and one p95 row per
endpoint, and the verdict they lead to when one endpoint of the new version does more work, or does not."""

from __future__ import annotations

import random

import pytest

from pytest_blissful.flows.compare import _metric_samples
from pytest_blissful.grading.comparison import KEEP, PROMOTE, ComparisonResult, compare
from pytest_blissful.metrics import Recorder, Timeline

START = 1000.0
SECONDS = 30
ENDPOINTS = ("GET /greetings", "GET /hello")


def _timeline(seed: int, extra_ms: dict[str, float]) -> Timeline:
    """Five requests per endpoint and second: 20-40 ms, and one in five a 100-600 ms straggler, so that the
    per-second p95 of five requests is mostly the luck of the stragglers while the median is steady."""
    rng = random.Random(seed)
    recorder = Recorder(START)
    for second in range(SECONDS):
        for endpoint in ENDPOINTS:
            for i in range(5):
                ms = rng.uniform(100.0, 600.0) if rng.random() < 0.2 else rng.uniform(20.0, 40.0)
                recorder.record(endpoint, int((ms + extra_ms.get(endpoint, 0.0)) * 1000),
                                START + second + i / 5, status=200)
    return recorder.flush().with_timing(duration_s=float(SECONDS))


def _judged(extra_ms: dict[str, float]) -> ComparisonResult:
    timelines = {"old": _timeline(1, {}), "new": _timeline(2, extra_ms)}
    samples = _metric_samples(timelines, [float(s) for s in range(SECONDS)], 1.0, {"old": [], "new": []},
                              {"old": [], "new": []}, START, None)
    return compare(samples)


@pytest.mark.parametrize(("extra_ms", "recommendation", "median_outcome"), [
    ({"GET /greetings": 25.0}, KEEP, "worse"),
    ({}, PROMOTE, "no significant difference"),
])
def test_an_endpoints_median_row_decides_when_that_endpoint_does_more_work(
        extra_ms: dict[str, float], recommendation: str, median_outcome: str) -> None:
    result = _judged(extra_ms)
    names = [m.name for m in result.metrics]
    for endpoint in ENDPOINTS:
        assert f"p50_latency_ms[{endpoint}]" in names and f"p95_latency_ms[{endpoint}]" in names
    median = result.metric("p50_latency_ms[GET /greetings]")
    assert median.critical
    assert median.outcome == median_outcome, median
    assert result.recommendation == recommendation, result.explain()
    assert result.metric("p50_latency_ms[GET /hello]").outcome == "no significant difference"
