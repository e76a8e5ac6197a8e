"""The ``compare_versions`` fixture and the comparison's session outputs (terminal table, reports/comparison.json,
GitHub step summary). Results travel from the process that ran the test (an xdist worker too) to the controller
as a report section, like the load and FMEA results do."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

COMPARISON_SECTION = "blissful comparison"

if TYPE_CHECKING:
    from pytest_blissful.config.schema import BlissfulConfig
    from pytest_blissful.flows.compare import ComparisonRun
    from pytest_blissful.grading.comparison import ComparisonResult


class CompareVersions:
    """Call it to compare the configured old and new versions: ``compare_versions()`` → ``ComparisonResult``.

    Keyword overrides: ``test_duration`` / ``warmup_duration`` (seconds or "30s"), ``users``. ``.runs`` keeps
    the evidence (load timelines per version, Docker stats samples) of every comparison of the test.
    """

    def __init__(self, config: BlissfulConfig, pytestconfig: pytest.Config, request: pytest.FixtureRequest) -> None:
        self.config = config
        self._pytestconfig = pytestconfig
        self._request = request
        self.runs: list[ComparisonRun] = []

    def __call__(self, *, test_duration: str | float | None = None, warmup_duration: str | float | None = None,
                 users: int | None = None) -> ComparisonResult:
        from pytest_blissful._durations import parse_duration
        from pytest_blissful.flows.compare import ComparisonSetupError, VersionComparison
        from pytest_blissful.plugin import OWNER_PID_KEY, RUN_ID_KEY, say

        stash = self._pytestconfig.stash
        worker = os.environ.get("PYTEST_XDIST_WORKER", "")
        prefix = f"blissful-{stash[RUN_ID_KEY]}-cmp{worker}{len(self.runs)}"
        from pytest_blissful._session import report_dir

        flow = VersionComparison(self.config, project_prefix=prefix, owner_pid=stash[OWNER_PID_KEY],
                                 progress=lambda message: say(self._pytestconfig, message),
                                 report_dir=report_dir(self._pytestconfig) / "comparison")
        try:
            run = flow.run(test_duration=parse_duration(test_duration) if test_duration is not None else None,
                           warmup_duration=parse_duration(warmup_duration) if warmup_duration is not None else None,
                           users=users)
        except ComparisonSetupError as exc:
            pytest.fail(f"blissful: the comparison could not run:\n{exc}", pytrace=False)
        self.runs.append(run)
        self._keep(run)
        return run.result

    def _keep(self, run: ComparisonRun) -> None:
        from pytest_blissful.report.comparison_allure import attach_comparison

        points = {side: timeline.per_second() for side, timeline in run.timelines.items()}
        document: dict[str, Any] = {
            "test": self._request.node.nodeid, **run.result.to_dict(),
            "per_second": {side: [p.__dict__ for p in series] for side, series in points.items()},
        }
        self._request.node.add_report_section("call", COMPARISON_SECTION, json.dumps(document, default=str))
        attach_comparison(document, points, start_epoch=run.load.timeline.start_epoch,
                          analysis_start_s=run.analysis_start_s, analysis_end_s=run.analysis_end_s)


@pytest.fixture
def compare_versions(blissful_config: BlissfulConfig, pytestconfig: pytest.Config,
                     request: pytest.FixtureRequest) -> CompareVersions:
    """Compare two versions side by side: ``result = compare_versions()`` → ``ComparisonResult``.

    Both versions (``comparison.old`` / ``comparison.new``: an image, a git ref built with ``docker build`` and
    cached by commit, and/or compose variables) come up as separate compose projects at the same time, get a
    warm-up and then identical, interleaved Locust load; latency, throughput, errors, CPU % and memory MB (Docker
    stats) are judged on block aggregates (Mann-Whitney at 98%, Hodges-Lehmann shift with its CI). ``.passed``
    is True for "Promote new version"; ``.explain()``, ``.winner``, ``.recommendation``, ``.metrics``. Both
    stacks are removed on every exit path. Overrides: ``compare_versions(test_duration="30s", users=5)``.
    """
    return CompareVersions(blissful_config, pytestconfig, request)


# ------------------------------------------------------------------------------------------- session outputs
def pytest_configure(config: pytest.Config) -> None:
    if not hasattr(config, "workerinput"):
        config.pluginmanager.register(_ComparisonSummary(config), "blissful-comparison-summary")


class _ComparisonSummary:
    """Controller side: collects the comparisons of the session (from xdist workers too), writes
    reports/comparison.json and the step summary, prints the tables."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.documents: list[dict[str, Any]] = []
        self.path: Path | None = None

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call":
            return
        for name, content in report.sections:  # named "Captured <section> call" by pytest
            if COMPARISON_SECTION in name:
                self.documents.append(json.loads(content))

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if not self.documents:
            return
        from pytest_blissful.plugin import report_dir
        from pytest_blissful.report.comparison import append_step_summary, write_json

        self.path = write_json(report_dir(self.config), self.documents)
        append_step_summary(self.documents)

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if not self.documents:
            return
        from pytest_blissful.report.comparison import terminal_table

        terminalreporter.section("blissful: version comparison")
        for document in self.documents:
            terminalreporter.write_line(document.get("test", ""), bold=True)
            terminalreporter.write_line(terminal_table(document))
        if self.path is not None:
            terminalreporter.write_line(f"written to {self.path}")
