"""The fixtures a test (or a service repo's own tests) asks for."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING

import pytest

from pytest_blissful._session import FMEA_SECTION, LOAD_SECTION

if TYPE_CHECKING:
    import httpx

    from pytest_blissful.chaos.runner import ChaosResult
    from pytest_blissful.config.schema import BlissfulConfig
    from pytest_blissful.flows.fmea import Fmea, FmeaRun
    from pytest_blissful.grading.fmea import FmeaResult
    from pytest_blissful.grading.scorecard import Scorecard
    from pytest_blissful.load._result import LoadResult
    from pytest_blissful.load.fixture import LoadTest
    from pytest_blissful.stack.model import Stack


@pytest.fixture(scope="session")
def blissful_config(pytestconfig: pytest.Config) -> BlissfulConfig:
    """The validated ``blissful.yaml`` (or ``[tool.blissful]``, or built-in defaults for the demo stack)."""
    from pytest_blissful._session import blissful_config as load

    return load(pytestconfig)


@pytest.fixture(scope="session")
def stack(pytestconfig: pytest.Config) -> Stack:
    """The system under test, up and healthy: ``.base_url``, ``.service(name)`` handles, ``.logs(name)``.

    Started once per run (shared by all xdist workers) from the configured compose files, the embedded
    demo stack, or ``--blissful-url``; removed at session end unless ``--blissful-keep-stack``.
    """
    from pytest_blissful._session import hold_signals, stack_manager
    from pytest_blissful.stack import StackError

    hold_signals(pytestconfig)  # SIGTERM acts like Ctrl-C while a stack is held: it is removed on the way out
    try:
        return stack_manager(pytestconfig).get()
    except StackError as exc:
        pytest.fail(f"blissful: the stack could not be started:\n{exc}", pytrace=False)


@pytest.fixture
def http(base_url: str) -> Iterator[httpx.Client]:
    """An ``httpx.Client`` bound to ``base_url`` (10 s timeout)."""
    import httpx

    with httpx.Client(base_url=base_url, timeout=10.0) as client:
        yield client


@pytest.fixture
def load_test(base_url: str, blissful_config: BlissfulConfig, request: pytest.FixtureRequest) -> LoadTest:
    """Run Locust load (in child processes) against the stack and get a ``LoadResult``.

    ``load_test(users=10, duration="30s", spawn_rate=None, rate=None, workers=1, locustfile=None, mix=None,
    slos=None)``; omitted arguments come from ``load:`` / ``slos:`` in blissful.yaml (a stack other than the demo
    needs ``load.mix`` or ``load.locustfile``). ``rate`` switches to a constant arrival rate with
    coordinated-omission correction. ``assert result.passed`` checks the SLOs and prints each threshold with its
    observed value; ``result.meets("p95 < 200ms")`` checks others. Load and fault runs against one stack take
    turns, also across xdist workers.
    """
    from pytest_blissful._session import live_line
    from pytest_blissful.load.fixture import LoadTest

    def keep(result: LoadResult) -> None:  # the table travels with the call report to the controller
        from pytest_blissful.report.allure import attach_load_result

        live_line(request.config, None)
        request.node.add_report_section("call", LOAD_SECTION, result.table())
        attach_load_result(result)

    def fail(message: str) -> None:
        pytest.fail(f"blissful: {message}", pytrace=False)

    return LoadTest(base_url, blissful_config, lambda p: live_line(request.config, p.line()), keep,
                    lock=lambda: _traffic_lock(base_url), on_config_error=fail)


def _traffic_lock(base_url: str) -> AbstractContextManager[object]:
    from filelock import FileLock

    from pytest_blissful._session import TRAFFIC_LOCK_TIMEOUT_S, traffic_lock_path

    return FileLock(str(traffic_lock_path(base_url)), timeout=TRAFFIC_LOCK_TIMEOUT_S)


@pytest.fixture
def fmea(stack: Stack, blissful_config: BlissfulConfig, pytestconfig: pytest.Config,
         request: pytest.FixtureRequest, scorecard: ScorecardSoFar) -> Iterator[Fmea]:
    """Run a named chaos scenario through the FMEA flow: ``result = fmea.run("db-latency")``.

    Baseline → inject (Chaos Toolkit) → observe → validate → recover → verify recovery, with Locust load
    (``chaos.load_during_chaos`` users) and a 10 Hz steady-state probe throughout. Returns an ``FmeaResult``
    (verdict, detection and recovery times, impact, RPN); ``assert result.passed`` shows the FMEA row.
    Faults are removed on pass, failure, Ctrl-C and crash (fault ledger).
    """
    from pytest_blissful._session import report_dir, say, traffic_lock_path
    from pytest_blissful.chaos.ledger import remove_all_faults
    from pytest_blissful.flows.fmea import Fmea

    def row(result: FmeaResult, capabilities: list[str]) -> None:  # travels with the call report (also xdist)
        data = {**result.to_dict(), "capabilities": capabilities}
        request.node.add_report_section("call", FMEA_SECTION, json.dumps(data, default=str))
        scorecard.rows.append(data)

    def keep(run: FmeaRun) -> None:
        from pytest_blissful.report.allure import attach_fmea_run

        row(run.result, list(run.scenario.capabilities))
        attach_fmea_run(run)

    class GuardedFmea(Fmea):
        """A missing setting fails the test naming it; anything else that stops a run from being graded is an
        inconclusive row with its reason (never a raw traceback)."""

        def run(self, scenario: str, *, fault_duration: str | float | None = None,
                users: int | None = None) -> FmeaResult:
            from pytest_blissful.chaos.scenarios import ScenarioError

            try:
                blissful_config.traffic_mix(chaos=True)
            except ValueError as exc:
                pytest.fail(f"blissful: fmea.run({scenario!r}): {exc}", pytrace=False)
            try:
                return super().run(scenario, fault_duration=fault_duration, users=users)
            except ScenarioError as exc:
                pytest.fail(f"blissful: fmea.run({scenario!r}): {exc}", pytrace=False)
            except Exception as exc:
                from pytest_blissful._inconclusive import inconclusive_result

                result, capabilities = inconclusive_result(scenario, blissful_config, exc)
                row(result, capabilities)
                return result

    runner = GuardedFmea(stack, blissful_config, report_dir(pytestconfig),
                         allow_remote=pytestconfig.getoption("blissful_allow_chaos"),
                         progress=lambda message: say(pytestconfig, message), on_run=keep,
                         lock_path=traffic_lock_path(stack.base_url))
    try:
        yield runner
    finally:
        remove_all_faults()


class ScorecardSoFar:
    """The FMEA results of this process so far; ``.build()`` grades them into a ``Scorecard``."""

    def __init__(self, min_score: float | None, config: BlissfulConfig | None = None) -> None:
        self.rows: list[dict[str, object]] = []
        self.min_score = min_score
        self.config = config

    def build(self) -> Scorecard:
        """Over the configured scenario set (``chaos.scenarios``, default every known one): what has not run yet
        counts as uncovered."""
        from pytest_blissful.flows.fmea import configured_weights
        from pytest_blissful.grading.scorecard import build_scorecard

        if self.config is None:
            return build_scorecard(self.rows, min_score=self.min_score)
        return build_scorecard(self.rows, configured=configured_weights(self.config), min_score=self.min_score,
                               min_coverage=self.config.chaos.min_coverage)


@pytest.fixture(scope="session")
def scorecard(blissful_config: BlissfulConfig) -> ScorecardSoFar:
    """The resilience scorecard of the scenarios run so far: ``scorecard.build().resilience_score``.

    It covers this process's ``fmea`` runs (one xdist worker's share under ``-n``); the session's complete
    scorecard is built by the controller at the end and written to ``reports/scorecard.json``.
    """
    return ScorecardSoFar(blissful_config.chaos.min_score, blissful_config)


@pytest.fixture
def chaos_experiment(stack: Stack, blissful_config: BlissfulConfig,
                     pytestconfig: pytest.Config) -> Callable[..., ChaosResult]:
    """Run your own Chaos Toolkit experiment (file path or dict) against the stack: ``chaos_experiment(path)``.

    Rollbacks always run, activity timeouts are enforced, and a steady state already broken before the fault,
    a failed action or a dry run is *inconclusive*, never a pass. Configuration keys bound for the experiment:
    ``blissful_base_url``, ``blissful_project``, ``blissful_stack``, and, as for ``fmea`` scenarios,
    ``blissful_toxiproxy_url`` (``chaos.toxiproxy``, else the service publishing 8474) and
    ``blissful_helper_image`` (``chaos.helper_image``); keyword arguments override them. Experiments and load
    tests against one stack take turns, also across xdist workers.
    """
    from pytest_blissful._session import report_dir
    from pytest_blissful.chaos.runner import load, run_experiment
    from pytest_blissful.chaos.scenarios import ScenarioError, experiment_configuration

    def run(experiment: object, **configuration: object) -> ChaosResult:
        loaded = load(experiment)  # type: ignore[arg-type]  # chaoslib's validation errors name the file
        what = "the experiment" if isinstance(experiment, Mapping) else f"experiment {experiment}"
        try:
            bound = experiment_configuration(loaded, blissful_config, stack, what, given=configuration)
        except ScenarioError as exc:
            pytest.fail(f"blissful: chaos_experiment: {exc}", pytrace=False)
        with _traffic_lock(stack.base_url):
            return run_experiment(experiment, stack=stack, report_dir=report_dir(pytestconfig),  # type: ignore[arg-type]
                                  configuration={**bound, **configuration} or None,
                                  allow_remote=pytestconfig.getoption("blissful_allow_chaos"))

    return run
