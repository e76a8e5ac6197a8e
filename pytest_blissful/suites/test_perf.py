"""Performance baseline: the configured load against the stack, graded against the SLOs (default p95 < 200ms,
error rate < 1%)."""

from __future__ import annotations

import pytest

from pytest_blissful.load.fixture import LoadTest

pytestmark = pytest.mark.perf


def test_baseline_meets_the_slos(load_test: LoadTest) -> None:
    result = load_test()
    assert result.totals.requests > 0, "no request reached the target"
    assert result.passed, result.explain()
