"""The ``load_test`` fixture as a user meets it: config defaults, the table, readable threshold failures."""

from __future__ import annotations

import pytest

from tests.load.conftest import Target

pytestmark = pytest.mark.usefixtures("isolated_state")


def test_passing_run_prints_the_load_table(pytester: pytest.Pytester, target: Target) -> None:
    pytester.makefile(".yaml", blissful="load:\n  users: 2\n  duration: 2s\n  mix: {'GET /hello': 1}\n"
                                        "slos: ['p95 < 1s', 'error_rate < 1%']\n")
    pytester.makepyfile(
        """
        def test_perf(load_test):
            result = load_test()
            assert 1.8 < result.duration_s < 2.3
            assert result.users == 2
            assert result.passed
        """
    )
    result = pytester.runpytest_subprocess("--blissful-url", target.url)
    result.assert_outcomes(passed=1)
    result.stdout.fnmatch_lines(["*blissful: load results*", "*test_perf*", "*All thresholds passed*"])


def test_tight_threshold_fails_with_each_threshold_and_its_observed_value(pytester: pytest.Pytester,
                                                                          target: Target) -> None:
    pytester.makefile(".yaml", blissful="load:\n  mix: {'GET /hello': 1}\n")
    pytester.makepyfile(
        """
        def test_perf(load_test):
            result = load_test(users=2, duration="1s", slos=["p95 < 1us", "error_rate < 1%"])
            assert result.passed, result.explain()
        """
    )
    result = pytester.runpytest_subprocess("--blissful-url", target.url)
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*✗ p95 < 0.001ms  (observed *ms)*", "*✓ error_rate < 1%  (observed 0%)*"])


def test_invalid_slo_in_config_is_a_usage_error_with_its_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", blissful="slos:\n  - p95 < 200ms\n  - p95 <\n")
    pytester.makepyfile("def test_x(): pass")
    result = pytester.runpytest()
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*blissful.yaml:3: slos.1: invalid threshold 'p95 <'*"])
