"""The canary rollout and rollback drill: a controller that walks a :class:`RolloutPlan` like Argo Rollouts, and
the local Docker driver it steers (stable + canary behind a weighted nginx router, Prometheus, Locust load).

The controller knows nothing of Docker: it talks to a :class:`CanaryDriver` (set a weight, stop the canary, take
a measurement, poll the load) and returns a :class:`~pytest_blissful.grading.canary.CanaryResult`.  Analysis
semantics live in :mod:`pytest_blissful.grading.canary`; a Kubernetes driver can reuse the controller, or read
Argo's own AnalysisRuns into the same result types.
"""

from __future__ import annotations

import contextlib
import math
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Final, Protocol

from pytest_blissful.flows.canary_prometheus import MeasurementError, PrometheusProvider, format_value
from pytest_blissful.grading.canary import (
    AnalysisRun,
    AnalysisStep,
    CanaryResult,
    DrillRequest,
    Measurement,
    MetricSpec,
    Outcome,
    PauseStep,
    Phase,
    RollbackTiming,
    RolloutPlan,
    SetWeightStep,
    StepRecord,
    TrafficPoint,
    WeightChange,
    evaluate_result,
)

__all__ = ["CanaryControls", "CanaryDriver", "DockerCanary", "RolloutController", "canary_compose_file"]

_TICK_S: Final = 0.2
_INDEFINITE_PAUSE_S: Final = 600.0
_AFTER_ROLLBACK_S: Final = 2.0  # load kept on after a rollback: the traffic shows 100% stable
Progress = Callable[[str], None]


class CanaryDriver(Protocol):
    """What the controller needs from a platform (Docker here; Kubernetes later)."""

    def set_weight(self, weight: int) -> None: ...
    def stop_canary(self) -> None: ...
    def measure(self, spec: MetricSpec, now_s: float, since_s: float) -> Any: ...
    def tick(self) -> None: ...


class CanaryControls:
    """promote / abort / pause / resume, as in the spec; safe to call from another thread or a callback."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.promote_requested = False
        self.abort_requested = False
        self._paused = threading.Event()

    def promote(self) -> None:
        with self._lock:
            self.promote_requested = True
            self._paused.clear()

    def abort(self) -> None:
        with self._lock:
            self.abort_requested = True
            self._paused.clear()

    def pause(self) -> None:
        self._paused.set()

    def resume(self) -> None:
        self._paused.clear()

    @property
    def paused(self) -> bool:
        return self._paused.is_set()


def _describe(step: SetWeightStep | PauseStep | AnalysisStep) -> str:
    if isinstance(step, SetWeightStep):
        return f"setWeight {step.weight}"
    if isinstance(step, PauseStep):
        return "pause (until promoted)" if step.duration_s is None else f"pause {step.duration_s:g}s"
    names = ",".join(step.templates) or ",".join(m.name for m in step.metrics)
    return f"analysis {names}"


@dataclass
class _State:
    t0: float
    weight: int = 0
    weight_since: float = 0.0
    steps: list[StepRecord] = field(default_factory=list)
    measurements: list[Measurement] = field(default_factory=list)
    weights: list[WeightChange] = field(default_factory=list)
    runs: list[AnalysisRun] = field(default_factory=list)
    decisive: Measurement | None = None
    message: str = ""
    phase: Phase = Phase.RUNNING


class RolloutController:
    """Walks the plan: set weights, pause, run analyses (inline and background), abort on Failed/Error, pause on
    Inconclusive, promote at the end.  Every loop is bounded by ``deadline_s``."""

    def __init__(self, plan: RolloutPlan, driver: CanaryDriver, *, name: str = "canary", driver_name: str = "docker",
                 controls: CanaryControls | None = None, max_pause_s: float | None = None,
                 drill: DrillRequest | None = None, deadline_s: float = 1800.0, progress: Progress | None = None,
                 clock: Callable[[], float] = time.monotonic, sleep: Callable[[float], None] = time.sleep) -> None:
        self.plan = plan.with_pauses(max_pause_s)
        self.max_pause_s = max_pause_s
        self.driver = driver
        self.name = name
        self.driver_name = driver_name
        self.controls = controls or CanaryControls()
        self.drill = drill
        self.deadline_s = deadline_s
        self.progress = progress or (lambda _m: None)
        self.clock, self.sleep = clock, sleep
        self.state = _State(t0=clock())
        self.rollback: RollbackTiming | None = None

    def now(self) -> float:
        return self.clock() - self.state.t0

    # -------------------------------------------------------------------------------------- status
    def status(self) -> list[StepRecord]:
        """Per step: weight, status, analysis (what has run so far, then the pending steps)."""
        done = len(self.state.steps)
        pending = []
        planned = self.state.weight
        for i, step in enumerate(self.plan.steps):
            if isinstance(step, SetWeightStep):
                planned = step.weight
            if i >= done:  # a pending step shows the weight it would run at
                pending.append(StepRecord(i, step.kind, _describe(step), planned, "Pending"))
        return [*self.state.steps, *pending]

    # -------------------------------------------------------------------------------------- run
    def run(self) -> CanaryResult:
        st = self.state
        st.t0 = self.clock()
        background: AnalysisRun | None = None
        outcome: Outcome = "incomplete"
        self._set_weight(0, "start")
        for index, step in enumerate(self.plan.steps):
            started = self.now()
            record = StepRecord(index, step.kind, _describe(step), st.weight, "Running", started)
            st.steps.append(record)
            self.progress(f"canary step {index}: {record.description}")
            verdict: str | None = None
            inline: AnalysisRun | None = None
            if isinstance(step, SetWeightStep):
                self._set_weight(step.weight, f"step {index}")
                if background is None and self.plan.background and step.weight > 0:
                    background = self._start_run("background", self.plan.background)
                verdict = self._wait(index, until=None, background=background, inline=None)
            elif isinstance(step, PauseStep):
                until: float | None = None
                if step.duration_s is not None:
                    until = started + step.duration_s
                elif self.max_pause_s is not None:
                    until = started + self.max_pause_s  # an indefinite pause, auto-resumed in a test run
                else:
                    self.controls.pause()  # Argo: paused until promoted (canary.resume() / canary.promote())
                verdict = self._wait(index, until=until, background=background, inline=None)
            else:
                inline = self._start_run(f"step {index}", step.metrics)
                verdict = self._wait(index, until=None, background=background, inline=inline)
            analysis = ""
            run_for_step = inline or background
            if run_for_step is not None:
                analysis = f"{run_for_step.phase}" + (f": {run_for_step.message}" if run_for_step.message else "")
            status = {"abort": "Aborted", "pause": "Paused", "promote": "Completed", None: "Completed",
                      "deadline": "Running"}[verdict]
            st.steps[-1] = replace(record, weight=st.weight, status=status, finished_at=self.now(), analysis=analysis)
            if verdict == "abort":
                outcome = "aborted"
                break
            if verdict == "pause":
                outcome = "paused"
                break
            if verdict == "deadline":
                outcome = "incomplete"
                st.message = f"the rollout did not finish within {self.deadline_s:g} s"
                break
            if verdict == "promote":
                self._set_weight(100, "promote")
                outcome = "promoted"
                break
        else:
            if st.weight != 100:
                self._set_weight(100, "promote")
            outcome = "promoted"
        # the end of the rollout terminates running analyses (Argo: terminated runs assess what they have)
        for run in st.runs:
            run.terminate()
            st.phase = _worse_run(st.phase, run)
        if outcome == "aborted":
            self._rollback()
        if st.phase is Phase.RUNNING:
            st.phase = Phase.SUCCESSFUL
        if not st.message:
            st.message = next((r.message for r in st.runs if r.message), "")
        return self._result(outcome)

    def _set_weight(self, weight: int, reason: str) -> None:
        asked = self.now()
        self.driver.set_weight(weight)
        st = self.state
        st.weight, st.weight_since = weight, self.now()
        st.weights.append(WeightChange(round(asked, 3), weight, reason, round(st.weight_since, 3)))
        self.progress(f"canary weight {weight}% ({reason})")

    def _start_run(self, name: str, metrics: Sequence[MetricSpec]) -> AnalysisRun:
        run = AnalysisRun(name, metrics, self.now())
        self.state.runs.append(run)
        return run

    def _measure(self, run: AnalysisRun, step: int) -> None:
        for spec in run.due(self.now()):
            started = self.now()
            try:
                value = self.driver.measure(spec, started, self.state.weight_since)
                phase, message = evaluate_result(value, spec)
                text = format_value(value)
            except MeasurementError as exc:
                phase, message, text = Phase.ERROR, str(exc), ""
            m = Measurement(spec.name, phase, round(started, 3), round(self.now(), 3), text, message, step,
                            spec.dry_run)
            self.state.measurements.append(m)
            before = run.phase
            after = run.record(m)
            self.progress(f"  measurement {spec.name}: {phase} {text}" + (f" ({message})" if message else ""))
            if after is not before and after in (Phase.FAILED, Phase.ERROR, Phase.INCONCLUSIVE):
                self.state.decisive = self.state.decisive or m
                return  # decided: the rollout reacts now, the other due metrics are not measured first

    def _wait(self, step: int, *, until: float | None, background: AnalysisRun | None,
              inline: AnalysisRun | None) -> str | None:
        controls = self.controls
        while True:
            self.driver.tick()
            for run in (background, inline):
                if run is not None:
                    self._measure(run, step)
                    if run.phase in (Phase.FAILED, Phase.ERROR):
                        self.state.phase = _worse_run(self.state.phase, run)
                        self.state.message = run.message
                        return "abort"
                    if run.phase is Phase.INCONCLUSIVE:
                        self.state.phase = Phase.INCONCLUSIVE
                        self.state.message = run.message
                        return "pause"
            if controls.abort_requested:
                self.state.phase = Phase.FAILED if self.state.phase is Phase.RUNNING else self.state.phase
                self.state.message = "aborted by the test (canary.abort())"
                return "abort"
            if controls.promote_requested:
                return "promote"
            now = self.now()
            if now > self.deadline_s:
                return "deadline"
            if not controls.paused:
                if inline is not None and inline.phase.completed:
                    return None
                if inline is None and (until is None or now >= until):
                    return None
            wake = [now + _TICK_S]
            for run in (background, inline):
                if run is not None and (due := run.next_due()) is not None:
                    wake.append(due)
            if until is not None:
                wake.append(until)
            self.sleep(max(0.0, min(wake) - now))

    def _rollback(self) -> None:
        st = self.state
        first = st.decisive
        failed_at = first.finished_at if first is not None else self.now()
        started = self.now()
        self.progress("canary aborted: weight → 0, stopping the canary")
        stable_full: float | None = None
        stopped: float | None = None
        try:
            self._set_weight(0, "abort")
            stable_full = self.now()
        except Exception as exc:  # the rollback must go on: stopping the canary also takes it out of traffic
            st.message += f"; setting weight 0 failed: {exc}"
        try:
            self.driver.stop_canary()
            stopped = self.now()
        except Exception as exc:
            st.message += f"; stopping the canary failed: {exc}"
        self.rollback = RollbackTiming(round(failed_at, 3), round(started, 3),
                                       None if stable_full is None else round(stable_full, 3),
                                       None if stopped is None else round(stopped, 3))
        until = self.now() + _AFTER_ROLLBACK_S
        while self.now() < until:
            self.driver.tick()
            self.sleep(_TICK_S)

    def _result(self, outcome: Outcome) -> CanaryResult:
        st = self.state
        return CanaryResult(
            name=self.name, driver=self.driver_name, outcome=outcome, analysis_phase=st.phase, message=st.message,
            steps=tuple(self.status()), measurements=tuple(st.measurements), weights=tuple(st.weights),
            drill=self.drill, rollback=self.rollback, rollback_slo_s=self.plan.rollback_slo_s,
            duration_s=self.now(),
        )


def _worse_run(current: Phase, run: AnalysisRun) -> Phase:
    order = (Phase.RUNNING, Phase.SUCCESSFUL, Phase.INCONCLUSIVE, Phase.ERROR, Phase.FAILED)
    return run.phase if order.index(run.phase) > order.index(current) else current


# ============================================================================================ Docker driver
def canary_compose_file() -> Path:
    """The demo's canary recipe: shipped inside the wheel, or the repository's fixtures/ in a checkout."""
    from pytest_blissful.stack.compose import demo_compose_file

    return demo_compose_file().parent / "canary" / "compose.yaml"


_USERS: Final = 10
CANARY_LEDGER_KIND: Final = "compose-project"  # reaped like any stack: `docker compose down` by project name


class DockerCanary:
    """Stable + canary + weighted nginx router + Prometheus from a compose recipe, with load through the router.

    Use as a context manager: everything it started is removed on exit (and by the next session after a
    SIGKILL: the compose project is in the ledger before it is created).
    """

    def __init__(self, *, compose_file: Path | None = None, stable_version: str = "1.0.0",
                 canary_version: str = "1.1.0", drill: DrillRequest | None = None, load_rate: float = 100.0,
                 load_duration_s: float = 600.0, progress: Progress | None = None, run_id: str = "",
                 owner_pid: int | None = None, startup_timeout_s: float = 120.0,
                 env: Mapping[str, str] | None = None) -> None:
        self.compose_file = compose_file or canary_compose_file()
        self.stable_version, self.canary_version = stable_version, canary_version
        self.drill = drill
        self.load_rate = load_rate
        self.load_duration_s = load_duration_s
        self.progress = progress or (lambda _m: None)
        self.project = f"blissful-canary-{run_id or uuid.uuid4().hex[:8]}-{uuid.uuid4().hex[:4]}"
        self.owner_pid = owner_pid or os.getpid()
        self.startup_timeout_s = startup_timeout_s
        self.extra_env = dict(env or {})
        self.router_url = ""
        self.prometheus_url = ""
        self.canary_container = ""
        self._router: Any = None
        self._prometheus: PrometheusProvider | None = None
        self._load: Any = None
        self._workdir = ""
        self._t0_mono = 0.0
        self._weights: list[tuple[float, int]] = []
        self.canary_stopped = False
        self.warnings: list[str] = []

    # ------------------------------------------------------------------------------------ lifecycle
    def env(self) -> dict[str, str]:
        env = {"STABLE_VERSION": self.stable_version, "CANARY_VERSION": self.canary_version,
               "DRILL_ERROR_RATE": "0", "DRILL_EXTRA_LATENCY_MS": "0", **self.extra_env}
        if self.drill is not None:
            amount = self.drill.amount()
            if self.drill.simulate == "error-rate":
                env["DRILL_ERROR_RATE"] = f"{amount:.4f}"
            else:
                env["DRILL_EXTRA_LATENCY_MS"] = f"{amount:g}"
        return env

    def __enter__(self) -> DockerCanary:
        from pytest_blissful.flows.canary_router import NginxRouter
        from pytest_blissful.stack.compose import compose_up
        from pytest_blissful.stack.ledger import LEDGER_KIND, Ledger

        Ledger().record(self.project, LEDGER_KIND, self.owner_pid, purpose="canary")
        try:
            self.progress(f"canary: starting stable {self.stable_version}, canary {self.canary_version}, router and "
                          f"Prometheus (compose project {self.project})")
            stack = compose_up("canary", [self.compose_file], self.project, {**os.environ, **self.env()},
                               "router", 80, self.startup_timeout_s)
            self.router_url = stack.base_url
            with contextlib.suppress(KeyError):
                self.prometheus_url = stack.endpoint("prometheus", 9090)
                self._prometheus = PrometheusProvider(self.prometheus_url)
            router = stack.services["router"][0]
            self.canary_container = stack.services["canary"][0].container_name
            self._router = NginxRouter(router.container_name)
            self._start_load()
        except BaseException:
            self.close()
            raise
        return self

    def _start_load(self) -> None:
        """Closed-model load: ``_USERS`` users at ``load_rate / _USERS`` requests/s each.  Each sample lands in
        the second it was sent, so the split by version is exact even when a busy machine delays sending (an
        open model would file a late request under its intended second, with the weight of a later step)."""
        import tempfile

        from pytest_blissful.load.runner import start_load

        self._workdir = tempfile.mkdtemp(prefix="blissful-canary-")
        locustfile = Path(self._workdir, "canary_locustfile.py")
        locustfile.write_text(
            "from locust import constant_throughput\n"
            "from pytest_blissful.flows._canary_locustfile import CanaryUser\n"
            f"CanaryUser.wait_time = constant_throughput({self.load_rate / _USERS!r})\n", encoding="utf-8")
        self._load = start_load(self.router_url, users=_USERS, duration_s=self.load_duration_s,
                                locustfile=locustfile, request_timeout_s=5.0)
        deadline = time.monotonic() + 60
        while self._load.start_monotonic is None and time.monotonic() < deadline:
            self._load.poll()
            time.sleep(0.1)
        time.sleep(1.0)  # a second of load on stable only before the first step

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        from pytest_blissful.stack.compose import compose_down
        from pytest_blissful.stack.errors import StackError
        from pytest_blissful.stack.ledger import Ledger

        if self._load is not None and self._load.running:
            self._load.stop()
        if self._workdir:
            import shutil

            shutil.rmtree(self._workdir, ignore_errors=True)
        try:
            compose_down(self.project)
            Ledger().forget(self.project)
        except StackError as exc:
            self.warnings.append(str(exc))  # stays in the ledger: the next session removes it

    # ------------------------------------------------------------------------------------ driver
    def set_weight(self, weight: int) -> None:
        if self.canary_stopped and weight > 0:
            raise RuntimeError("the canary was stopped (aborted): no weight can be given to it")
        self._router.set_weight(weight)
        self._weights.append((time.monotonic(), weight))

    def stop_canary(self) -> None:
        done = subprocess.run(["docker", "stop", "-t", "2", self.canary_container], capture_output=True, text=True,
                              timeout=30, check=False)
        if done.returncode != 0:
            raise RuntimeError(f"docker stop {self.canary_container}: {done.stderr.strip()}")
        self.canary_stopped = True

    def tick(self) -> None:
        if self._load is not None:
            self._load.poll()

    def measure(self, spec: MetricSpec, now_s: float, since_s: float) -> Any:
        if spec.provider == "prometheus":
            if self._prometheus is None:
                raise MeasurementError("no Prometheus in this canary setup (service 'prometheus' not published)")
            return self._prometheus.query(spec.query)
        if spec.provider == "blissful":
            # like the spec's PromQL rate(...[5m]): everything the canary answered, up to 5 minutes back
            return self._figure(spec.query, window_s=300.0)
        raise MeasurementError(f"unknown metric provider {spec.provider!r}")

    def _endpoint(self, version: str) -> str:
        return f"GET /hello @{version}"

    def _figure(self, figure: str, window_s: float) -> float | None:
        timeline = self._load.snapshot() if self._load is not None else None
        if timeline is None:
            return None
        end = timeline.second_at_monotonic(time.monotonic())
        start = max(0.0, end - window_s)
        since = self._weights_since_canary_on()
        if since is not None:
            start = max(start, timeline.second_at_monotonic(since))
        w = timeline.window(start, end, endpoint=self._endpoint(self.canary_version))
        if w.requests == 0:
            return None  # no data: the condition cannot be evaluated → Error, as Argo does with an empty result
        if figure == "error_rate":
            return 100.0 * float(w.error_rate)
        if figure == "success_rate":
            return 100.0 * (1.0 - float(w.error_rate))
        if figure == "rps":
            return float(w.rps)
        if figure.startswith("p") and figure[1:].replace(".", "", 1).isdigit():
            return float(w.percentile_ms(float(figure[1:])))
        raise MeasurementError(f"unknown figure {figure!r} of the blissful provider")

    def _weights_since_canary_on(self) -> float | None:
        for at, weight in self._weights:
            if weight > 0:
                return at
        return None

    # ------------------------------------------------------------------------------------ evidence
    def traffic(self, t0_mono: float) -> tuple[TrafficPoint, ...]:
        """Per second: requests, error rate and p95 of each version, and the weight then set."""
        if self._load is None:
            return ()
        if self._load.running:
            self._load.stop()
        from pytest_blissful.load.runner import LoadError

        try:
            timeline = self._load.result(timeout=30).timeline
        except LoadError as exc:
            self.warnings.append(f"load: {exc}")
            return ()
        stable = {p.second: p for p in timeline.per_second(endpoint=self._endpoint(self.stable_version))}
        canary = {p.second: p for p in timeline.per_second(endpoint=self._endpoint(self.canary_version))}
        points = []
        for second in sorted(set(stable) | set(canary)):
            s, c = stable.get(second), canary.get(second)
            mono = timeline.start_monotonic + second
            weight = 0
            for at, w in self._weights:
                if at <= mono + 0.5:
                    weight = w
            points.append(TrafficPoint(
                at=round(mono - t0_mono, 3), weight=weight,
                stable_requests=s.requests if s else 0, canary_requests=c.requests if c else 0,
                stable_error_rate=_rate(s), canary_error_rate=_rate(c),
                stable_p95_ms=s.p95_ms if s and s.requests else math.nan,
                canary_p95_ms=c.p95_ms if c and c.requests else math.nan,
            ))
        return tuple(points)


def _rate(point: Any) -> float:
    return 100.0 * point.errors / point.requests if point is not None and point.requests else math.nan


def run_docker_canary(plan: RolloutPlan, *, name: str = "canary", drill: DrillRequest | None = None,
                      max_pause_s: float | None = None, controls: CanaryControls | None = None,
                      progress: Progress | None = None, compose_file: Path | None = None,
                      stable_version: str = "1.0.0", canary_version: str = "1.1.0", load_rate: float = 100.0,
                      run_id: str = "", owner_pid: int | None = None,
                      on_controller: Callable[[RolloutController], None] | None = None) -> CanaryResult:
    """One rollout (or drill) on Docker, from start to removal; returns its result with the traffic evidence."""
    estimate = sum((s.duration_s or _INDEFINITE_PAUSE_S) if isinstance(s, PauseStep) else 30.0
                   for s in plan.with_pauses(max_pause_s).steps) + 120.0
    with DockerCanary(compose_file=compose_file, stable_version=stable_version, canary_version=canary_version,
                      drill=drill, load_rate=load_rate, load_duration_s=estimate, progress=progress,
                      run_id=run_id, owner_pid=owner_pid) as docker:
        controller = RolloutController(plan, docker, name=name, controls=controls, max_pause_s=max_pause_s,
                                       drill=drill, deadline_s=estimate, progress=progress)
        if on_controller is not None:
            on_controller(controller)
        result = controller.run()
        traffic = docker.traffic(controller.state.t0)
        provider = ",".join(sorted({m.provider for r in controller.state.runs for m in r.specs.values()}))
        return replace(result, traffic=traffic, provider=provider,
                       versions={"stable": stable_version, "canary": canary_version},
                       warnings=tuple(docker.warnings) + _traffic_warnings(result, traffic))


def _traffic_warnings(result: CanaryResult, traffic: Sequence[TrafficPoint]) -> tuple[str, ...]:
    """Evidence checks: after a rollback, no second may show canary traffic once the router took weight 0."""
    if result.rollback is None or result.rollback.stable_full_at is None:
        return ()
    late = [p for p in traffic if p.at >= result.rollback.stable_full_at + 1.0 and p.canary_requests]
    if late:
        return (f"{sum(p.canary_requests for p in late)} request(s) still reached the canary more than 1 s after "
                f"the router took weight 0",)
    return ()
