"""The FMEA flow for one scenario: baseline → inject → observe → validate → recover → verify recovery.

Load (Locust, child processes) and a 10 Hz steady-state probe run throughout; the Chaos Toolkit experiment
injects the fault, holds it and rolls it back; the pure grading turns what was measured into an FmeaResult.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_blissful.chaos.actions import hold
from pytest_blissful.chaos.probe import SteadyStateProbe
from pytest_blissful.chaos.scenarios import Scenario, load_scenario
from pytest_blissful.config.schema import BlissfulConfig
from pytest_blissful.grading.fmea import (
    FmeaResult,
    FmeaTiming,
    ProbeSample,
    grade,
    latency_bound_ms,
    recovery_instant,
)
from pytest_blissful.stack.model import Stack

if TYPE_CHECKING:
    from pytest_blissful.chaos.runner import ChaosResult, FaultWindow
    from pytest_blissful.load import LoadHandle, LoadResult

Progress = Callable[[str], None]


@dataclass(frozen=True)
class FmeaRun:
    """An FmeaResult with the evidence it was graded from (for reports and charts)."""

    result: FmeaResult
    scenario: Scenario
    timing: FmeaTiming
    load: LoadResult
    probes: tuple[ProbeSample, ...]
    chaos: ChaosResult
    evidence_path: Path | None


class Fmea:
    """``fmea.run("db-latency")`` → :class:`FmeaResult`; ``fmea.runs`` keeps the evidence of every run."""

    def __init__(self, stack: Stack, config: BlissfulConfig, report_dir: Path, *, allow_remote: bool = False,
                 progress: Progress | None = None, on_run: Callable[[FmeaRun], None] | None = None,
                 lock_path: Path | None = None) -> None:
        self.stack = stack
        self.config = config
        self.report_dir = report_dir
        self.allow_remote = allow_remote
        self.progress = progress or (lambda message: None)
        self.runs: list[FmeaRun] = []
        self._on_run = on_run or (lambda run: None)
        self.lock_path = lock_path

    def run(self, scenario: str, *, fault_duration: str | float | None = None, users: int | None = None) -> FmeaResult:
        """Run one scenario. Scenarios against one stack never overlap (xdist workers take turns on a file
        lock): two faults at once would make both measurements meaningless."""
        if self.lock_path is None:
            return self._run(scenario, fault_duration=fault_duration, users=users)
        from filelock import FileLock

        with FileLock(str(self.lock_path)):
            return self._run(scenario, fault_duration=fault_duration, users=users)

    def _run(self, scenario: str, *, fault_duration: str | float | None, users: int | None) -> FmeaResult:
        from pytest_blissful._durations import parse_duration
        from pytest_blissful.chaos.runner import run_experiment
        from pytest_blissful.load import start_load

        chaos = self.config.chaos
        spec = load_scenario(scenario, self.config)
        duration = parse_duration(fault_duration) if fault_duration is not None else chaos.default_duration
        recovery_budget = min(spec.expectation.max_recovery_time_s, 60.0) + spec.expectation.hold_s + 1
        load_budget = chaos.baseline_duration + duration + recovery_budget + 30
        self.progress(f"blissful: {scenario}: baseline {chaos.baseline_duration:.0f} s, fault {duration:.0f} s")

        load = start_load(
            self.stack.base_url, users=users if users is not None else max(chaos.load_during_chaos, 1),
            duration_s=load_budget, mix=chaos.mix or self.config.load.mix or None,
            allowed_hosts=tuple(self.config.stack.allowed_hosts), request_timeout_s=self.config.load.request_timeout,
        )
        probe = SteadyStateProbe(self.stack.base_url, chaos.probe_paths, max_duration_s=load_budget)
        hold.reset()
        watcher: _CriticalWatcher | None = None
        try:
            with load:
                _wait_until_running(load)
                baseline_start = time.time()
                probe.start()
                _sleep_polling(load, chaos.baseline_duration)
                if chaos.abort_on_critical_failure:
                    watcher = _CriticalWatcher(probe, baseline_start, spec.expectation.critical_error_rate_percent)
                    watcher.start()
                chaos_result = run_experiment(
                    spec.experiment, stack=self.stack, report_dir=self.report_dir,
                    configuration={**chaos.targets, "fault_duration": duration}, allow_remote=self.allow_remote,
                    strategy=hypothesis_strategy(spec),
                )
                if watcher:
                    watcher.stop()
                window = chaos_result.window
                fault_start, fault_end, injection_start, removal_done = fault_instants(window)
                self.progress(f"blissful: {scenario}: fault removed, verifying recovery (≤ {recovery_budget:.0f} s)")
                observe_end = self._await_recovery(load, probe, spec, baseline_start, fault_start, fault_end,
                                                   recovery_budget)
                load.stop()
                load_result = load.result(timeout=60)
        finally:
            probe.stop()
            if watcher:
                watcher.stop()

        timing = FmeaTiming(baseline_start=baseline_start, fault_start=fault_start, fault_end=fault_end,
                            observe_end=observe_end, injection_start=injection_start, removal_done=removal_done)
        inconclusive = chaos_result.reason if chaos_result.inconclusive else None
        if not window.injected:
            inconclusive = inconclusive or "the fault was never injected"
        elif unconfirmed := [c for c in chaos_result.checks if c.in_effect is None]:
            inconclusive = inconclusive or (
                "the fault was not verified in place: "
                + "; ".join(f"{c.action} ({c.when}): {c.evidence}" for c in unconfirmed)
                + " (pytest_blissful.chaos.verify lists the actions it can check)")
        result = grade(spec.expectation, timing, load_result.timeline, probe.samples,
                       inconclusive_reason=inconclusive, aborted_reason=hold.abort_reason(),
                       readiness_paths=chaos.readiness_paths)
        evidence = self._save(spec, result, load_result, chaos_result)
        run = FmeaRun(result, spec, timing, load_result, tuple(probe.samples), chaos_result, evidence)
        self.runs.append(run)
        self._on_run(run)
        return result

    def _await_recovery(self, load: LoadHandle, probe: SteadyStateProbe, spec: Scenario, baseline_start: float,
                        fault_start: float, fault_end: float, budget_s: float) -> float:
        """Observe after removal until the service has been healthy for the hold window (bounded)."""
        deadline = time.time() + budget_s
        while time.time() < deadline:
            _sleep_polling(load, 0.5)
            now = time.time()
            timing = FmeaTiming(baseline_start, fault_start, fault_end, now)
            samples = probe.samples
            # probes only: the load's per-second figures arrive later and are checked by the grading
            if _probe_recovered(samples, timing, spec):
                # keep observing a little: the load must hold for the same span (graded once its buckets are in)
                tail = max(1.0, spec.expectation.hold_s)
                _sleep_polling(load, min(tail, max(0.0, deadline - time.time())))
                return time.time()
        return time.time()

    def _save(self, spec: Scenario, result: FmeaResult, load_result: LoadResult, chaos_result: ChaosResult) -> Path:
        directory = self.report_dir / "fmea"
        directory.mkdir(parents=True, exist_ok=True)
        path = directory / f"{spec.name}-{time.strftime('%Y%m%dT%H%M%S')}.json"
        path.write_text(json.dumps({
            "result": result.to_dict(),
            "load": load_result.to_dict(),
            "chaos": chaos_result.to_dict(),
        }, indent=2, default=str))
        return path


def hypothesis_strategy(spec: Scenario) -> str:
    """Chaos Toolkit's steady-state strategy for an FMEA run: the steady state is checked before the method only,
    so nothing runs while the fault is held and it lasts exactly what was asked. An experiment that wants the
    check under the fault too says so (``"steady_state_under_fault": true`` in its ``blissful`` extension)."""
    meta: dict[str, object] = next(
        (e for e in spec.experiment.get("extensions", []) if e.get("name") == "blissful"), {})
    return "default" if meta.get("steady_state_under_fault") else "before-method-only"


def fault_instants(window: FaultWindow) -> tuple[float, float, float | None, float | None]:
    """(fault start, fault end, injection start, removal done) of a run, epoch seconds: the fault is fully in place
    from the moment its last injection action returned to the moment its first rollback started."""
    now = time.time()
    start = window.applied_at or window.injection_done_at or window.injected_at or now
    end = window.removal_started_at or window.removed_at or now
    return start, max(end, start), window.injected_at, window.removed_at


def _probe_recovered(samples: list[ProbeSample], timing: FmeaTiming, spec: Scenario) -> bool:
    from pytest_blissful.metrics.timeline import Timeline

    bound = latency_bound_ms(samples, timing)
    empty = Timeline(timing.baseline_start)
    return recovery_instant(samples, empty, timing, bound, spec.expectation) is not None


def _wait_until_running(load: LoadHandle, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while load.start_monotonic is None:
        if not load.poll():
            load.result(timeout=10)  # raises the load error
        if time.monotonic() > deadline:
            raise TimeoutError("load generator did not start within 60 s")
        time.sleep(0.05)


def _sleep_polling(load: LoadHandle, seconds: float) -> None:
    """Sleep while keeping the load handle's progress and output drained."""
    end = time.monotonic() + seconds
    while (left := end - time.monotonic()) > 0:
        load.poll()
        time.sleep(min(0.2, left))


class _CriticalWatcher:
    """Asks the hold to end early when the probes show a critical failure (abort_on_critical_failure)."""

    def __init__(self, probe: SteadyStateProbe, since: float, critical_error_rate_percent: float,
                 window_s: float = 5.0) -> None:
        self.probe = probe
        self.since = since
        self.critical = critical_error_rate_percent
        self.window_s = window_s
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="blissful-critical-watch", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=2)

    def _run(self) -> None:
        while not self._stop.wait(0.5):
            now = time.time()
            recent = [s for s in self.probe.samples if now - self.window_s <= s.at <= now]
            # a hung service slows the probes down to one per timeout each: a few samples must do
            if len(recent) >= 3:
                failed = 100.0 * sum(not s.ok for s in recent) / len(recent)
                if failed >= self.critical:
                    hold.request_abort(f"{failed:.0f}% of probes failed over {self.window_s:.0f} s "
                                       f"(critical bound {self.critical:g}%)")
                    return
