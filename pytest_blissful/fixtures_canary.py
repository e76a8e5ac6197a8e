"""The ``canary`` fixture and the ``--blissful-simulate-failure`` option (canary rollouts and rollback drills).

Registered through ``pytest_plugins`` in :mod:`pytest_blissful.plugin`; imports only pytest at module level.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

if TYPE_CHECKING:
    from pytest_blissful.config.schema import BlissfulConfig
    from pytest_blissful.flows.canary import CanaryControls, RolloutController
    from pytest_blissful.flows.canary_argo import ArgoCanary
    from pytest_blissful.grading.canary import CanaryResult, DrillRequest, RolloutPlan, StepRecord

CANARY_SECTION = "blissful canary"


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("blissful", "resilience testing (pytest-blissful)")
    group.addoption("--blissful-simulate-failure", metavar="KIND=VALUE", default=None,
                    help="rollback drill of the canary suite: make the canary misbehave, e.g. error-rate=5%% or "
                         "p95-latency=500ms (default: error-rate=5%%).")


@pytest.hookimpl(trylast=True)  # after the plugin validated the configuration file itself
def pytest_configure(config: pytest.Config) -> None:
    value = config.getoption("blissful_simulate_failure", None)
    if value:
        from pytest_blissful.grading.canary import DrillRequest

        try:
            DrillRequest.parse(value)
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None
    # Argo manifests named in canary: are read now, so that a mistake in them is a usage error too
    from pytest_blissful._session import blissful_config, config_location

    path, _ = config_location(config)
    if path is not None and blissful_config(config).canary.rollout is not None:
        from pytest_blissful.config.argo import plan_from_config
        from pytest_blissful.config.discovery import ConfigError

        cfg = blissful_config(config)
        try:
            plan_from_config(cfg.canary, str(path), cfg.base_dir)
        except ConfigError as exc:
            raise pytest.UsageError(str(exc)) from None


def simulated_failure(config: pytest.Config) -> DrillRequest:
    """The drill of ``--blissful-simulate-failure`` (default ``error-rate=5%``)."""
    from pytest_blissful.grading.canary import DrillRequest

    return DrillRequest.parse(config.getoption("blissful_simulate_failure", None) or "error-rate=5%")


class Canary:
    """Handle of the ``canary`` fixture: one rollout or drill at a time on the local Docker canary setup.

    ``run()`` walks the plan (``canary:`` in blissful.yaml, or its Argo ``rollout``/``analysisTemplates``) and
    returns a :class:`~pytest_blissful.grading.canary.CanaryResult`; ``drill(simulate=, value=)`` does the same
    with a misbehaving canary.  ``status()``, ``promote()``, ``abort()``, ``pause()`` and ``resume()`` act on
    the rollout that is running (call them from ``on_progress``, or from another thread after ``start()``).
    """

    def __init__(self, config: BlissfulConfig, plan: RolloutPlan, pytestconfig: pytest.Config,
                 publish: Callable[[CanaryResult], None], request: pytest.FixtureRequest | None = None) -> None:
        from pytest_blissful.flows.canary import CanaryControls

        self.config = config
        self.plan = plan
        self._pytestconfig = pytestconfig
        self._publish = publish
        self._request = request
        self.controls: CanaryControls = CanaryControls()
        self._controller: RolloutController | None = None
        self._argo: ArgoCanary | None = None
        self._thread: threading.Thread | None = None
        self._outcome: list[CanaryResult | BaseException] = []

    # -------------------------------------------------------------------------------------------- runs
    def run(self, *, max_pause: str | float | None = None, name: str | None = None,
            on_progress: Callable[[str], None] | None = None, image: str | None = None,
            figures: Callable[[str], Any] | None = None) -> CanaryResult:
        """Roll the canary out step by step under load; abort on a Failed/Error analysis, pause on Inconclusive.

        On a Kubernetes stack the Argo Rollouts controller runs it: ``image`` (default ``canary.image``) is the new
        version, and ``figures(figure)`` answers the templates' ``web`` metrics that read the plugin's figures."""
        return self._run(None, max_pause, name or "canary", on_progress, image, figures)

    def drill(self, simulate: str = "error-rate", value: str = "5%", *, max_pause: str | float | None = None,
              name: str | None = None, on_progress: Callable[[str], None] | None = None, image: str | None = None,
              figures: Callable[[str], Any] | None = None) -> CanaryResult:
        """Rollback drill: the canary misbehaves (``error-rate`` ``5%``, ``p95-latency`` ``500ms``); passes when the
        analysis detects it and the rollback completes within ``canary.rollback_slo``.  On Kubernetes the new pod
        template gets the drill's ``DRILL_ERROR_RATE`` / ``DRILL_EXTRA_LATENCY_MS``, as the demo's canary does."""
        from pytest_blissful.grading.canary import DrillRequest

        request = DrillRequest.parse(f"{simulate}={value}")
        return self._run(request, max_pause, name or f"drill {simulate}={value}", on_progress, image, figures)

    def start(self, *, drill: tuple[str, str] | None = None, max_pause: str | float | None = None) -> None:
        """Run in a background thread; control it with promote/abort/pause/resume, collect it with ``wait()``."""
        def target() -> None:
            try:
                result = self.drill(*drill, max_pause=max_pause) if drill else self.run(max_pause=max_pause)
                self._outcome.append(result)
            except BaseException as exc:  # handed to wait()
                self._outcome.append(exc)

        self._thread = threading.Thread(target=target, name="blissful-canary", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> CanaryResult:
        if self._thread is None:
            raise RuntimeError("canary.wait() without canary.start()")
        self._thread.join(timeout)
        if self._thread.is_alive():
            self.abort()
            self._thread.join(60)
            raise TimeoutError(f"the canary did not finish within {timeout} s (aborted)")
        outcome = self._outcome.pop()
        if isinstance(outcome, BaseException):
            raise outcome
        return outcome

    def _run(self, drill: DrillRequest | None, max_pause: str | float | None, name: str,
             on_progress: Callable[[str], None] | None, image: str | None = None,
             figures: Callable[[str], Any] | None = None) -> CanaryResult:
        from pytest_blissful._durations import parse_duration
        from pytest_blissful.flows.canary import CanaryControls, run_docker_canary
        from pytest_blissful.plugin import OWNER_PID_KEY, RUN_ID_KEY, say

        canary = self.config.canary
        pause = parse_duration(max_pause) if max_pause is not None else canary.max_pause
        self.controls = CanaryControls()

        def progress(message: str) -> None:
            say(self._pytestconfig, f"blissful: {message}")
            if on_progress is not None:
                on_progress(message)

        def keep(controller: RolloutController) -> None:
            self._controller = controller

        if self.config.stack.kubernetes is not None:
            result = self._run_argo(drill, pause, name, progress, image, figures)
            self._publish(result)
            return result
        compose = canary.compose
        if compose is not None and not compose.is_absolute():
            compose = self.config.base_dir / compose
        result = run_docker_canary(
            self.plan, name=name, drill=drill, max_pause_s=pause, controls=self.controls, progress=progress,
            compose_file=compose, stable_version=canary.stable_version, canary_version=canary.canary_version,
            load_rate=canary.load_rate, run_id=self._pytestconfig.stash[RUN_ID_KEY],
            owner_pid=self._pytestconfig.stash[OWNER_PID_KEY], on_controller=keep,
        )
        self._controller = None
        self._publish(result)
        return result

    def _run_argo(self, drill: DrillRequest | None, pause: float | None, name: str,
                  progress: Callable[[str], None], image: str | None,
                  figures: Callable[[str], Any] | None) -> CanaryResult:
        """The canary on the stack's cluster, run by the Argo Rollouts controller in the stack's namespace."""
        from pytest_blissful.flows.canary_argo import ArgoCanary
        from pytest_blissful.plugin import RUN_ID_KEY
        from pytest_blissful.stack.kubernetes_client import connect
        from pytest_blissful.stack.kubernetes_manifests import load_manifests

        canary = self.config.canary
        if canary.rollout is None:
            raise pytest.UsageError("canary on a Kubernetes stack: set canary.rollout (an Argo Rollout manifest) and "
                                    "canary.analysisTemplates in blissful.yaml")
        if self._request is None:
            raise RuntimeError("the canary fixture has no request to reach the stack")
        if image is None and canary.image is None and drill is None:
            raise pytest.UsageError("canary on a Kubernetes stack: set canary.image (the new image the Rollout rolls "
                                    "out) in blissful.yaml, or pass canary.run(image=...)")
        stack = self._request.getfixturevalue("stack")
        base = self.config.base_dir
        rollouts = [m for m in load_manifests([base / canary.rollout]) if m.kind == "Rollout"]
        templates = [m for m in load_manifests([base / p for p in canary.analysis_templates])
                     if m.kind in ("AnalysisTemplate", "ClusterAnalysisTemplate")]
        env: dict[str, str] = {}
        if drill is not None:
            amount = drill.amount()
            env = ({"DRILL_ERROR_RATE": f"{amount:.4f}"} if drill.simulate == "error-rate"
                   else {"DRILL_EXTRA_LATENCY_MS": f"{amount:g}"})
        argo = ArgoCanary(
            connect(Path(stack.kubernetes["kubeconfig"]), stack.kubernetes.get("context")), str(stack.namespace),
            rollouts[0], templates,
            run_id=self._pytestconfig.stash[RUN_ID_KEY], image=image or canary.image, container=canary.container,
            env=env, figures=figures, name=name, drill=drill, controls=self.controls, max_pause_s=pause,
            deadline_s=_estimate(self.plan, pause), rollback_slo_s=canary.rollback_slo, progress=progress)
        self._argo = argo
        try:
            return argo.run()
        finally:
            self._argo = None

    # -------------------------------------------------------------------------------------------- controls
    def status(self) -> list[StepRecord]:
        """Per step: weight, status, analysis (of the running rollout; the plan's steps before one starts)."""
        if self._controller is not None:
            return self._controller.status()
        if self._argo is not None:
            return list(self._argo.status())
        from pytest_blissful.flows.canary import _describe
        from pytest_blissful.grading.canary import StepRecord

        return [StepRecord(i, s.kind, _describe(s), 0, "Pending") for i, s in enumerate(self.plan.steps)]

    def promote(self) -> None:
        self.controls.promote()

    def abort(self) -> None:
        self.controls.abort()

    def pause(self) -> None:
        self.controls.pause()

    def resume(self) -> None:
        self.controls.resume()


def _estimate(plan: RolloutPlan, max_pause_s: float | None) -> float:
    """A bound for one rollout: its pauses (an indefinite one: 600 s) plus 30 s a step and 120 s to spare."""
    from pytest_blissful.grading.canary import PauseStep

    return sum((s.duration_s or 600.0) if isinstance(s, PauseStep) else 30.0
               for s in plan.with_pauses(max_pause_s).steps) + 120.0


@pytest.fixture
def canary(pytestconfig: pytest.Config, blissful_config: BlissfulConfig,
           request: pytest.FixtureRequest) -> Canary:
    """Canary rollouts and rollback drills on a local stable + canary behind a weighted router, with Prometheus;
    on a Kubernetes stack, run by the cluster's Argo Rollouts controller (canary.rollout, canary.image).

    ``canary.run()`` / ``canary.drill(simulate="error-rate", value="5%")`` return a ``CanaryResult``
    (``.passed``, ``.explain()``, ``.to_dict()``, steps, measurements); ``status()``, ``promote()``, ``abort()``,
    ``pause()``, ``resume()`` control the running rollout.  Plan: ``canary:`` in blissful.yaml (or its Argo
    ``rollout`` + ``analysisTemplates``).  Results: terminal table, Allure steps + chart, reports/canary.json,
    ``$GITHUB_STEP_SUMMARY``.  The canary, the router and Prometheus are always removed.
    """
    from pytest_blissful.config.argo import plan_from_config
    from pytest_blissful.config.discovery import ConfigError

    if not blissful_config.canary.enabled:
        pytest.skip("canary.enabled is false in the configuration")
    source = str(blissful_config.source or "built-in defaults")
    try:
        plan = plan_from_config(blissful_config.canary, source, blissful_config.base_dir)
    except ConfigError as exc:
        raise pytest.UsageError(str(exc)) from None

    def publish(result: CanaryResult) -> None:
        _publish(pytestconfig, request, result)

    return Canary(blissful_config, plan, pytestconfig, publish, request)


def _publish(config: pytest.Config, request: pytest.FixtureRequest, result: CanaryResult) -> None:
    from pytest_blissful.plugin import report_dir, say
    from pytest_blissful.report.canary import status_table, step_summary_markdown, write_canary_json
    from pytest_blissful.report.canary_allure import attach_canary_result

    data = result.to_dict()
    table = status_table(data)
    say(config, table)
    write_canary_json(report_dir(config) / "canary.json", data)
    summary = os.environ.get("GITHUB_STEP_SUMMARY")
    if summary:
        with Path(summary).open("a", encoding="utf-8") as fh:
            fh.write(step_summary_markdown([data]))
    attach_canary_result(data, table)
    request.node.add_report_section("call", CANARY_SECTION, json.dumps(data, default=str))


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.when != "call" or not report.sections:
        return
    for name, content in report.sections:
        if CANARY_SECTION in name:
            _RESULTS.append(json.loads(content))


_RESULTS: list[dict[str, Any]] = []


def pytest_terminal_summary(terminalreporter: Any, config: pytest.Config) -> None:
    if not _RESULTS or hasattr(config, "workerinput"):
        return
    from pytest_blissful.report.canary import status_table

    terminalreporter.section("blissful: canary")
    for data in _RESULTS:
        terminalreporter.write_line(status_table(data))
        terminalreporter.write_line("")
    _RESULTS.clear()
