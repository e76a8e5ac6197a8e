"""The plugin as a user meets it: --help, --markers, --fixtures, stage selection, JUnit properties."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest

from pytest_blissful.stages import STAGES

pytestmark = pytest.mark.usefixtures("isolated_state")


def test_help_documents_every_option(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--help")
    result.stdout.fnmatch_lines(["*resilience testing (pytest-blissful)*"])
    for option in ("--blissful-config", "--blissful-url", "--blissful-stage", "--blissful-keep-stack",
                   "--blissful-report-dir", "--blissful-scenario", "--blissful-allow-chaos",
                   "--blissful-simulate-failure"):
        result.stdout.fnmatch_lines([f"*{option}*"])
    result.stdout.fnmatch_lines(["*blissful_config*", "*blissful_report_dir*"])


def test_markers_list_the_six_stages(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--markers")
    for stage in ("smoke", "integration", "perf", "chaos", "compare", "canary"):
        result.stdout.fnmatch_lines([f"@pytest.mark.{stage}: pipeline stage '{stage}' - *"])
    assert len(STAGES) == 6


def test_fixtures_are_documented(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--fixtures")
    for name in ("blissful_config", "stack", "base_url", "http", "load_test", "fmea", "chaos_experiment", "scorecard",
                 "canary"):
        result.stdout.fnmatch_lines([f"{name}*pytest_blissful*", "    *"])


def test_stage_markers_are_usable_with_strict_markers(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.smoke
        def test_a(): pass
        @pytest.mark.chaos
        def test_b(): pass
        """
    )
    pytester.runpytest("--strict-markers", "-m", "chaos").assert_outcomes(passed=1, deselected=1)


def test_stage_option_selects_and_reports_the_rest_as_deselected(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.smoke
        def test_smoke(): pass
        @pytest.mark.perf
        def test_perf(): pass
        @pytest.mark.chaos
        def test_chaos(): pass
        def test_unstaged(): pass
        """
    )
    result = pytester.runpytest("--blissful-stage", "smoke,perf", "-v")
    result.assert_outcomes(passed=2, deselected=2)
    result.stdout.fnmatch_lines(["*test_smoke PASSED*", "*test_perf PASSED*"])
    pytester.runpytest("--blissful-stage", "smoke", "--blissful-stage", "chaos").assert_outcomes(
        passed=2, deselected=2
    )


def test_unknown_stage_is_a_usage_error(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest("--blissful-stage", "smokey")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*unknown stage 'smokey'*known stages: smoke, integration, perf*"])


def test_each_test_records_its_stage_as_a_junit_property(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.perf
        def test_perf(): pass
        @pytest.mark.canary
        def test_canary(): pass
        """
    )
    pytester.runpytest("--junitxml=out.xml").assert_outcomes(passed=2)
    tree = ET.parse(pytester.path / "out.xml")
    stages = {
        case.get("name"): [p.get("value") for p in case.iter("property") if p.get("name") == "stage"]
        for case in tree.iter("testcase")
    }
    assert stages == {"test_perf": ["perf"], "test_canary": ["canary"]}


def test_stage_properties_survive_xdist(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        import pytest
        @pytest.mark.smoke
        def test_smoke(): pass
        @pytest.mark.chaos
        def test_chaos(): pass
        """
    )
    pytester.runpytest_subprocess("-n", "2", "--junitxml=out.xml").assert_outcomes(passed=2)
    values = sorted(p.get("value") or "" for p in ET.parse(pytester.path / "out.xml").iter("property"))
    assert values == ["chaos", "smoke"]
