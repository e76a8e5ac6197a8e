"""pytest hooks of the Allure output: the default results directory, cleaning it race-free, labels per test.

**Default results directory.** Without ``--alluredir``, a *blissful session* records Allure results in
``<report dir>/allure-results`` (``reports/allure-results`` by default), where the report command reads them.
A session is a blissful session when a configuration is found (``blissful.yaml``, ``[tool.blissful]`` or
``--blissful-config``), a ``--blissful-*`` target/selection option is given, or the collected paths lie in the
shipped suites (``pytest --pyargs pytest_blissful.suites``, or their path). Any other project that merely has
the plugin installed is left alone, ``--collect-only`` never records (nothing is created), and neither does an
in-process inner session while an outer one records (pytester).

**Labels** go only on the plugin's own results: tests that use one of its fixtures or come from the shipped
suites, and stage-marked tests of a blissful session.

**Cleaning.** The default directory holds the latest session only: the controller removes the Allure result
files in it (never the directory, never other files) before any xdist worker starts (Allure's trend across
runs comes from the report's history file, not from old results).
An explicit ``--alluredir`` is kept as it is — so CI stages can accumulate into one directory — unless
``--clean-alluredir`` is given, which the controller then carries out once; workers never clean (allure-pytest's
own per-process cleaning races under xdist).

Only the standard library, pytest and the session-state leaf ``_session`` (which the plugin loads anyway) are
imported here: this module loads in every session.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from pytest_blissful._session import SESSION_START_KEY, config_location, report_dir, uses_plugin

ALLURE_RESULTS = "allure-results"


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> None:
    """Runs in the controller (or the only process) before ``pytest_configure`` and before xdist workers exist:
    the option values set here travel to the workers with the rest of ``config.option``."""
    option = config.option
    if not hasattr(option, "allure_report_dir") or option.collectonly:
        return
    clean = bool(getattr(option, "clean_alluredir", False))
    if not option.allure_report_dir:
        if _another_session_records() or not is_blissful_session(config):
            return
        option.allure_report_dir = str(report_dir(config) / ALLURE_RESULTS)
        clean = True
    if clean:
        directory = Path(option.allure_report_dir)
        if not directory.is_absolute():
            directory = config.invocation_params.dir / directory
        remove_allure_results(directory)
    option.clean_alluredir = False  # done once, here; allure-pytest must not clean again in each worker


# what allure-pytest and the session files write into a results directory; nothing else is ever removed
_ALLURE_FILES = ("*-result.json", "*-container.json", "*-attachment*", "environment.properties", "executor.json",
                 "categories.json")


def remove_allure_results(directory: Path) -> int:
    """Remove the Allure result files of earlier sessions from ``directory``, and only those: the directory and
    any other file in it (a user's own) stay. Returns how many files were removed."""
    if not directory.is_dir():
        return 0
    removed = 0
    for pattern in _ALLURE_FILES:
        for file in directory.glob(pattern):
            if file.is_file():
                file.unlink(missing_ok=True)
                removed += 1
    return removed


def _another_session_records() -> bool:
    """An in-process inner session (pytester's ``runpytest``) must not record into the outer one's results:
    allure-pytest's loggers are process-global."""
    import allure_commons

    return bool(allure_commons.plugin_manager.hook.report_result.get_hookimpls())


def is_blissful_session(config: pytest.Config) -> bool:
    try:
        path, _ = config_location(config)
    except pytest.UsageError:
        return False  # pytest_configure reports it as a usage error
    if path is not None:
        return True
    if config.getoption("blissful_url") or config.getoption("blissful_stage") or config.getoption("blissful_scenario"):
        return True
    suites = (Path(__file__).resolve().parent.parent / "suites").resolve()
    for arg in config.args:
        name = arg.split("::", 1)[0]
        if config.option.pyargs and name.startswith("pytest_blissful"):
            return True
        candidate = Path(name) if Path(name).is_absolute() else config.invocation_params.dir / name
        try:
            if candidate.resolve().is_relative_to(suites):
                return True
        except OSError:
            continue
    return False


def pytest_sessionstart(session: pytest.Session) -> None:
    session.config.stash[SESSION_START_KEY] = time.time()


def pytest_runtest_setup(item: pytest.Item) -> None:
    if not (uses_plugin(item) or (_has_stage(item) and is_blissful_session(item.config))):
        return  # another plugin's or the user's own test: no labels of ours on its result
    from pytest_blissful.report.allure import apply_labels  # not at import: this module loads in every session

    apply_labels(item)


def _has_stage(item: pytest.Item) -> bool:
    from pytest_blissful.stages import STAGES

    return any(item.get_closest_marker(name) is not None for name in STAGES)
