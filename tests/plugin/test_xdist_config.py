"""Every xdist worker tests the configuration the controller resolved, whatever the option spelling."""

from __future__ import annotations

from pathlib import Path

import pytest

CHECK = """
from pytest_blissful._session import report_dir


def _check(blissful_config, pytestconfig):
    assert str(blissful_config.source) == {config!r}, blissful_config.source
    assert blissful_config.load.users == 7
    assert str(report_dir(pytestconfig)) == {report!r}, report_dir(pytestconfig)


def test_a(blissful_config, pytestconfig):
    _check(blissful_config, pytestconfig)


def test_b(blissful_config, pytestconfig):
    _check(blissful_config, pytestconfig)


def test_runs_where_expected(pytestconfig):  # (PYTEST_XDIST_WORKER may be inherited from an outer xdist run)
    assert hasattr(pytestconfig, "workerinput") == {xdist!r}
"""


def _project(pytester: pytest.Pytester, report: Path, subdir: str = "", xdist: bool = True) -> Path:
    directory = pytester.path / subdir if subdir else pytester.path
    directory.mkdir(parents=True, exist_ok=True)
    config = directory / "blissful.yaml"
    config.write_text("load:\n  users: 7\n")
    pytester.makepyfile(test_config=CHECK.format(config=str(config), report=str(report), xdist=xdist))
    return config


@pytest.fixture
def outside(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A report directory outside the project: as a bare option value it moves pytest's rootdir."""
    return tmp_path_factory.mktemp("outside-reports")


@pytest.mark.parametrize("workers", ["2", "0"])
def test_space_form_report_dir_without_test_path(pytester: pytest.Pytester, outside: Path, workers: str) -> None:
    _project(pytester, outside, xdist=workers != "0")
    result = pytester.runpytest_subprocess("-n", workers, "-p", "no:cacheprovider", "--blissful-report-dir",
                                           str(outside))
    result.assert_outcomes(passed=3)


def test_equals_form_report_dir_with_test_path(pytester: pytest.Pytester, outside: Path) -> None:
    _project(pytester, outside)
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", f"--blissful-report-dir={outside}",
                                           "test_config.py")
    result.assert_outcomes(passed=3)


def test_ini_settings_and_a_config_in_a_subdirectory(pytester: pytest.Pytester, outside: Path) -> None:
    _project(pytester, outside, subdir="service/conf")
    pytester.makeini(f"[pytest]\nblissful_config = service/conf/blissful.yaml\nblissful_report_dir = {outside}\n")
    pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider").assert_outcomes(passed=3)


def test_option_config_in_a_subdirectory_and_relative_report_dir(pytester: pytest.Pytester) -> None:
    _project(pytester, pytester.path / "out", subdir="conf")
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", "--blissful-config",
                                           "conf/blissful.yaml", "--blissful-report-dir", "out", "test_config.py")
    result.assert_outcomes(passed=3)


def test_worker_that_reads_another_config_stops_the_run(pytester: pytest.Pytester, outside: Path) -> None:
    config = _project(pytester, outside)
    pytester.makeconftest(f"""
        import os

        def pytest_configure(config):
            if hasattr(config, "workerinput"):  # the file changes between the controller and the workers
                with open({str(config)!r}, "a") as f:
                    f.write("# worker " + os.environ["PYTEST_XDIST_WORKER"] + "\\n")
    """)
    result = pytester.runpytest_subprocess("-n", "2", "-p", "no:cacheprovider", "--max-worker-restart=0")
    assert result.ret != 0
    result.stdout.fnmatch_lines(["*xdist worker gw* read the configuration *blissful.yaml with sha256 *but the "
                                 "controller resolved it with sha256*"], consecutive=False)
    assert "passed" not in result.stdout.lines[-1]
