"""pytest wiring: options, markers (pipeline stages), stage selection, the shared stack's lifecycle.

This module is loaded in every pytest session of every environment the plugin is installed in, so it only
imports the standard library and pytest; everything heavy is imported by the fixture that needs it.
"""

from __future__ import annotations

import functools
import json
import os
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from pytest_blissful._base_url import register as register_base_url
from pytest_blissful._session import (
    CONFIG_KEY,
    FMEA_SECTION,
    LOAD_SECTION,
    MANAGER_KEY,
    OWNER_PID_KEY,
    RUN_ID_KEY,
    STAGES_KEY,
    WORKER_CONFIG_KIND,
    WORKER_CONFIG_PATH,
    WORKER_CONFIG_SHA256,
    WORKER_REPORT_DIR,
    blissful_config,
    config_location,
    hold_signals,
    live_line,
    release_signals,
    report_dir,
    say,
    stack_manager,
)
from pytest_blissful.config.discovery import config_digest
from pytest_blissful.stages import STAGES, parse_stage_option

if TYPE_CHECKING:
    from pytest_blissful.grading.scorecard import Scorecard

pytest_plugins = [
    "pytest_blissful.fixtures",
    "pytest_blissful.report.allure_hooks",
    "pytest_blissful.fixtures_compare",
    "pytest_blissful.fixtures_canary",
]



def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("blissful", "resilience testing (pytest-blissful)")
    group.addoption("--blissful-config", metavar="PATH", default=None,
                    help="configuration file (default: the nearest blissful.yaml or [tool.blissful] in "
                         "pyproject.toml, from the current directory up to the rootdir; else the embedded demo "
                         "stack). Resolved once by the controller and handed to xdist workers.")
    group.addoption("--blissful-url", metavar="URL", default=None,
                    help="test an already-running target at URL instead of starting a stack "
                         "(overrides stack.url).")
    group.addoption("--blissful-stage", metavar="NAME[,NAME]", action="append", default=[],
                    help=f"run only tests of these pipeline stages ({', '.join(STAGES)}); repeatable. "
                         "Other tests are reported as deselected.")
    group.addoption("--blissful-keep-stack", action="store_true", default=False,
                    help="leave the stack running after the session (for debugging); prints how to remove it.")
    group.addoption("--blissful-scenario", metavar="NAME", action="append", default=[],
                    help="run only this chaos scenario (repeatable); default: chaos.scenarios in blissful.yaml, "
                         "else all known scenarios.")
    group.addoption("--blissful-allow-chaos", action="store_true", default=False,
                    help="allow faults against targets that are not local (refused by default).")
    group.addoption("--blissful-report-dir", metavar="DIR", default=None,
                    help="where results land (default: ini blissful_report_dir, else reports/).")
    parser.addini("blissful_config", "default for --blissful-config (relative to the ini file)", default=None)
    parser.addini("blissful_report_dir", "default for --blissful-report-dir", default="reports")


@pytest.hookimpl(trylast=True)
def pytest_configure(config: pytest.Config) -> None:
    for name, description in STAGES.items():
        config.addinivalue_line("markers", f"{name}: pipeline stage '{name}' - {description}")
    try:
        config.stash[STAGES_KEY] = parse_stage_option(config.getoption("blissful_stage"))
    except ValueError as exc:
        raise pytest.UsageError(str(exc)) from None

    workerinput: dict[str, Any] | None = getattr(config, "workerinput", None)
    if workerinput is not None and "blissful_run_id" in workerinput:
        config.stash[RUN_ID_KEY] = workerinput["blissful_run_id"]
        config.stash[OWNER_PID_KEY] = workerinput["blissful_owner_pid"]
        _check_worker_config(config, workerinput)
    else:
        config.stash[RUN_ID_KEY] = uuid.uuid4().hex[:10]
        config.stash[OWNER_PID_KEY] = os.getpid()

    # Validate a config file up front so that mistakes are usage errors (exit 4), not test errors.
    path, _ = config_location(config)
    if path is not None:
        blissful_config(config)
    _validate_scenarios(config)

    register_base_url(config)  # after every entry-point plugin, so pytest-base-url's fixture never wins by load order
    if config.pluginmanager.hasplugin("xdist"):
        config.pluginmanager.register(_XdistHooks(), "blissful-xdist")
    if workerinput is None:
        config.pluginmanager.register(_Summary(config), "blissful-summary")


def _validate_scenarios(config: pytest.Config) -> None:
    """Unknown scenario names (``--blissful-scenario`` or ``chaos.scenarios``) are usage errors."""
    requested = config.getoption("blissful_scenario")
    path, _ = config_location(config)
    if not requested and path is None:
        return
    from pytest_blissful.chaos.scenarios import ScenarioError, selected_scenarios

    try:
        selected_scenarios(blissful_config(config), requested or None)
    except ScenarioError as exc:
        where = "--blissful-scenario" if requested else f"chaos.scenarios in {path}"
        raise pytest.UsageError(f"{where}: {exc}") from None


def pytest_sessionstart(session: pytest.Session) -> None:
    if hasattr(session.config, "workerinput"):
        return
    from pytest_blissful.stack.ledger import LEDGER_KIND, ledger_kinds

    kinds = ledger_kinds()  # usually empty: then nothing else is imported
    progress = functools.partial(say, session.config)
    if kinds:
        from pytest_blissful.stack.ledger import Ledger

        for host, keys in sorted(Ledger().foreign().items()):
            progress(f"blissful: leaving {len(keys)} ledger entr{'y' if len(keys) == 1 else 'ies'} of host {host} "
                     f"alone ({', '.join(sorted(keys)[:3])}{' ...' if len(keys) > 3 else ''}): only that host can "
                     "tell whether its runs are still going")
    # faults first: they may sit in containers of a killed run's stack, or in containers that outlive it
    if "fault" in kinds:
        from pytest_blissful.chaos.errors import ChaosError
        from pytest_blissful.chaos.ledger import remove_orphan_faults

        try:
            remove_orphan_faults(progress=progress)
        except ChaosError as exc:  # the entries stay in the ledger; the session goes on and says so
            _warn_leftovers(session.config, exc)
    if LEDGER_KIND in kinds:
        from pytest_blissful.stack.errors import StackError
        from pytest_blissful.stack.reaper import reap_orphans

        try:
            reap_orphans(progress=progress)
        except StackError as exc:
            _warn_leftovers(session.config, exc)


def _warn_leftovers(config: pytest.Config, error: Exception) -> None:
    from pytest_blissful.stack.ledger import ledger_dir

    message = (f"blissful: a killed run's leftovers could not all be removed; they stay in the ledger "
               f"({ledger_dir() / 'ledger.json'}) and are retried next session: {error}")
    say(config, message)
    config.issue_config_time_warning(pytest.PytestWarning(message), stacklevel=2)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    selected_stages = config.stash[STAGES_KEY]
    kept, deselected = [], []
    for item in items:
        stages = [name for name in STAGES if item.get_closest_marker(name) is not None]
        for name in stages:
            item.user_properties.append(("stage", name))
        if selected_stages and not set(stages) & set(selected_stages):
            deselected.append(item)
        else:
            kept.append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = kept


class _Summary:
    """Controller side: collects load tables and FMEA rows (from xdist workers too: they travel as report
    sections), builds the scorecard once, writes the session's files and prints the summary."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.tables: list[tuple[str, str]] = []
        self.fmea: list[dict[str, Any]] = []
        self.scorecard: Scorecard | None = None
        self.scorecard_path: Path | None = None
        self.stack_seen = False

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not self.stack_seen and hasattr(report, "node"):  # xdist: a worker may have brought the stack up
            from pytest_blissful.stack.ledger import ledger_dir, state_file

            if state_file(ledger_dir(), self.config.stash[RUN_ID_KEY]).exists():
                self.stack_seen = True
                hold_signals(self.config)  # from now on, this controller owns a stack's removal
        if report.when != "call":
            return
        for name, content in report.sections:  # named "Captured <section> call" by pytest
            if LOAD_SECTION in name:
                self.tables.append((report.nodeid, content))
            elif FMEA_SECTION in name:
                self.fmea.append(json.loads(content))

    @pytest.hookimpl(tryfirst=True)  # before junitxml writes its file and the terminal summary is printed
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.fmea:
            from pytest_blissful.report.session import finish_session

            self.scorecard, self.scorecard_path = finish_session(self.config, self.fmea)
            if self.scorecard.min_score_enforced and not self.scorecard.passed:
                session.exitstatus = pytest.ExitCode.TESTS_FAILED
        if self.fmea or self.tables:
            from pytest_blissful.report.allure import write_session_files

            write_session_files(self.config, self.scorecard)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.tables:
            terminalreporter.section("blissful: load results")
            for nodeid, table in self.tables:
                terminalreporter.write_line(nodeid, bold=True)
                terminalreporter.write_line(table)
        if self.fmea:
            from pytest_blissful.report.terminal import fmea_table

            terminalreporter.section("blissful: FMEA")
            terminalreporter.write_line(fmea_table(self.fmea))
        if self.scorecard is not None:
            terminalreporter.section("blissful: resilience scorecard")
            terminalreporter.write_line(self.scorecard.explain())
            terminalreporter.write_line(f"written to {self.scorecard_path}")
            if self.scorecard.min_score_enforced and not self.scorecard.passed:
                terminalreporter.write_line(
                    f"FAILED: resilience score {self.scorecard.resilience_score:.1f} is below chaos.min_score "
                    f"{self.scorecard.min_score:g}", red=True, bold=True)


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if hasattr(config, "workerinput"):
        return
    from pytest_blissful.stack.ledger import ledger_dir, ledger_kinds, state_file

    if "fault" in ledger_kinds():
        _remove_session_faults(session)
    # the stack may have been started by an xdist worker: the controller owns its removal all the same
    if not state_file(ledger_dir(), config.stash[RUN_ID_KEY]).exists():
        return
    try:
        message = stack_manager(config).teardown(keep=config.getoption("blissful_keep_stack"))
    finally:
        release_signals(config)
    if message:
        say(config, message)


def _remove_session_faults(session: pytest.Session) -> None:
    """The safety net: this run's faults, and those of crashed xdist workers. One that cannot be removed fails the
    session (it is this run's) or is a warning (a killed run's); either way the stack teardown still runs."""
    import os

    from pytest_blissful.chaos.errors import ChaosError
    from pytest_blissful.chaos.ledger import FaultLedger, remove_all_faults

    try:
        remove_all_faults()
    except ChaosError as exc:
        own = [key for key, entry in FaultLedger().faults().items() if int(entry["owner_pid"]) == os.getpid()]
        if not own:  # a killed run's, already a warning at session start
            say(session.config, f"blissful: leftovers of killed runs stay in the ledger: {exc}")
            return
        say(session.config, f"blissful: FAILED to remove this run's faults {', '.join(own)}: {exc}")
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


def pytest_unconfigure(config: pytest.Config) -> None:
    release_signals(config)


def _check_worker_config(config: pytest.Config, workerinput: dict[str, Any]) -> None:
    """An xdist worker tests what the controller resolved, or stops: never a stack of its own choosing."""
    if WORKER_CONFIG_SHA256 not in workerinput:
        return
    path, _ = config_location(config)  # the controller's path, from workerinput
    expected = workerinput[WORKER_CONFIG_SHA256]
    actual = config_digest(path)
    if actual != expected:
        raise pytest.UsageError(
            f"blissful: xdist worker {workerinput.get('workerid', '?')} read the configuration {path} with "
            f"sha256 {actual}, but the controller resolved it with sha256 {expected}: the file changed during "
            "the run (or is not the same file on this worker); run again once it is settled")


class _XdistHooks:
    """Registered only when pytest-xdist is active: hand workers the run id (one shared stack), the resolved
    configuration (path + content hash) and the absolute report directory, so they never resolve their own."""

    @pytest.hookimpl
    def pytest_configure_node(self, node: Any) -> None:
        config = node.config
        path, kind = config_location(config)
        node.workerinput["blissful_run_id"] = config.stash[RUN_ID_KEY]
        node.workerinput["blissful_owner_pid"] = config.stash[OWNER_PID_KEY]
        node.workerinput[WORKER_CONFIG_PATH] = str(path) if path is not None else None
        node.workerinput[WORKER_CONFIG_KIND] = kind
        node.workerinput[WORKER_CONFIG_SHA256] = config_digest(path)
        node.workerinput[WORKER_REPORT_DIR] = str(report_dir(config).resolve())


# Re-exported for code written against the earlier layout; new code imports them from pytest_blissful._session.
__all__ = [
    "CONFIG_KEY", "FMEA_SECTION", "LOAD_SECTION", "MANAGER_KEY", "OWNER_PID_KEY", "RUN_ID_KEY", "blissful_config",
    "live_line", "report_dir", "say", "stack_manager",
]
