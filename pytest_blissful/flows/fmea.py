"""The FMEA flow for one scenario: baseline → inject → observe → validate → recover → verify recovery.

Load (Locust, child processes) and a 10 Hz steady-state probe run throughout; the Chaos Toolkit experiment
injects the fault, holds it and rolls it back; the pure grading turns what was measured into an FmeaResult.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING

from pytest_blissful.chaos.actions import hold
from pytest_blissful.chaos.probe import SteadyStateProbe
from pytest_blissful.chaos.scenarios import Scenario, blissful_extension, load_scenario, scenario_configuration
from pytest_blissful.config.schema import BlissfulConfig
from pytest_blissful.flows.evidence import EvidenceSpec, evidence_spec, observation, overload_evidence, probe_path
from pytest_blissful.grading.capabilities import Finding, OverloadEvidence, ShutdownEvidence, judge
from pytest_blissful.grading.fmea import (
    FmeaResult,
    FmeaTiming,
    apply_findings,
    grade,
    latency_bound_ms,
    recovery_instant,
    usable_probes,
)
from pytest_blissful.grading.probes import ProbeSample
from pytest_blissful.stack.model import Stack

if TYPE_CHECKING:
    from pytest_blissful.chaos.runner import ChaosResult, FaultWindow
    from pytest_blissful.flows.instance import InstanceObserver
    from pytest_blissful.load import LoadHandle, LoadResult

Progress = Callable[[str], None]
STEADY_STATE_WAIT_S = 15.0  # before a baseline: how long an earlier scenario's recovery may still take


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
    findings: tuple[Finding, ...] = ()


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

    def _await_steady_state(self, scenario: str) -> None:
        """Start from a steady state: the health and readiness paths answer 2xx (bounded). An earlier scenario may
        have left the stack recovering, e.g. an instance that was killed and is starting again; its baseline would
        otherwise make this scenario inconclusive depending on the order the scenarios ran in (xdist)."""
        from pytest_blissful.stack.health import TargetUnreachable, wait_healthy

        self.stack = self._current_address(scenario)
        for path in dict.fromkeys([self.config.stack.health_path, *self.config.chaos.readiness_paths]):
            try:
                waited = wait_healthy(self.stack.base_url + path, STEADY_STATE_WAIT_S)
            except TargetUnreachable as exc:
                self.progress(f"blissful: {scenario}: not in a steady state before the baseline: {exc}")
                return
            if waited > 1.0:
                self.progress(f"blissful: {scenario}: waited {waited:.1f} s for {path} to answer before the baseline")

    def _current_address(self, scenario: str) -> Stack:
        """The stack as reachable now: an entry container killed and started by an earlier scenario has a new host
        port when it was published without a fixed one (that scenario was inconclusive and said so)."""
        from urllib.parse import urlsplit

        from pytest_blissful.chaos._docker import loopback_ports

        if self.stack.kind != "compose":
            return self.stack
        address = urlsplit(self.stack.base_url)
        for handles in self.stack.services.values():
            for handle in handles:
                entry = [port for port, host in handle.published.items() if host == address.port]
                if not entry:
                    continue
                now = loopback_ports(handle.container_id).get(entry[0])
                if now is None or now == address.port:
                    return self.stack
                base_url = address._replace(netloc=f"{address.hostname}:{now}").geturl()
                self.progress(f"blissful: {scenario}: {handle.container_name} answers at {base_url} now (it was "
                              f"started again on a new ephemeral port); testing there")
                moved = replace(handle, published={**handle.published, entry[0]: now})
                services = {name: tuple(moved if h is handle else h for h in group)
                            for name, group in self.stack.services.items()}
                return replace(self.stack, base_url=base_url, services=services)
        return self.stack

    def _run(self, scenario: str, *, fault_duration: str | float | None, users: int | None) -> FmeaResult:
        from pytest_blissful._durations import parse_duration
        from pytest_blissful.chaos.runner import run_experiment
        from pytest_blissful.load import start_load

        chaos = self.config.chaos
        spec = load_scenario(scenario, self.config)
        self._await_steady_state(scenario)
        bound = scenario_configuration(spec, self.config, self.stack)  # Toxiproxy API, helper image
        needs = evidence_spec(spec, self.config)  # a faulted dependency without chaos.dependencies: an error
        duration = parse_duration(fault_duration) if fault_duration is not None else chaos.default_duration
        recovery_budget = min(spec.expectation.max_recovery_time_s, 60.0) + spec.expectation.hold_s + 1
        load_budget = chaos.baseline_duration + duration + recovery_budget + 30
        self.progress(f"blissful: {scenario}: baseline {chaos.baseline_duration:.0f} s, fault {duration:.0f} s")

        load = start_load(
            self.stack.base_url, users=users if users is not None else max(chaos.load_during_chaos, 1),
            duration_s=load_budget, mix=self.config.traffic_mix(chaos=True),
            allowed_hosts=tuple(self.config.stack.allowed_hosts), request_timeout_s=self.config.load.request_timeout,
        )
        signal_paths = [*chaos.readiness_paths, *chaos.liveness_paths]
        probe = SteadyStateProbe(self.stack.base_url, list(dict.fromkeys([*chaos.probe_paths, *chaos.liveness_paths])),
                                 max_duration_s=load_budget, degraded_header=chaos.degraded_header)
        endpoint_paths = [p for p in dict.fromkeys(probe_path(e) for e in needs.affected) if p]
        # as patient as the load's users: a fallback that comes after a dependency timeout is still an answer
        endpoint_probe = SteadyStateProbe(self.stack.base_url, endpoint_paths, max_duration_s=load_budget,
                                          timeout_s=self.config.load.request_timeout,
                                          degraded_header=chaos.degraded_header) if endpoint_paths else None
        instance = self._instance_observer(needs) if needs.observes_instance else None
        configuration: dict[str, object] = {**bound, **chaos.targets, "fault_duration": duration}
        hold.reset()
        watcher: _CriticalWatcher | None = None
        capacity = 0.0
        try:
            with load:
                _wait_until_running(load)
                baseline_start = time.time()
                probe.start()
                if endpoint_probe:
                    endpoint_probe.start()
                _sleep_polling(load, chaos.baseline_duration)
                if needs.fault == "overload":
                    capacity, baseline_p95 = _capacity(load, baseline_start)
                    configuration["overload_rate"] = round(max(capacity, 1.0) * needs.overload_factor, 1)
                    configuration["overload_capacity"] = round(capacity, 1)
                    configuration["overload_baseline_p95_ms"] = round(baseline_p95, 1)
                    configuration["overload_mix"] = self.config.traffic_mix(chaos=True)
                if instance:
                    instance.start()
                if chaos.abort_on_critical_failure:
                    watcher = _CriticalWatcher(probe, baseline_start, spec.expectation.critical_error_rate_percent,
                                               ignore_paths=signal_paths)
                    watcher.start()
                chaos_result = run_experiment(
                    spec.experiment, stack=self.stack, report_dir=self.report_dir,
                    configuration=configuration, allow_remote=self.allow_remote,
                    strategy=hypothesis_strategy(spec),
                )
                if watcher:
                    watcher.stop()
                if instance:
                    instance.stop()
                window = chaos_result.window
                fault_start, fault_end, injection_start, removal_done = fault_instants(window)
                self.progress(f"blissful: {scenario}: fault removed, verifying recovery (≤ {recovery_budget:.0f} s)")
                observe_end = self._await_recovery(load, probe, spec, baseline_start, fault_start, fault_end,
                                                   recovery_budget, signal_paths)
                load.stop()
                load_result = load.result(timeout=60)
        finally:
            probe.stop()
            if endpoint_probe:
                endpoint_probe.stop()
            if watcher:
                watcher.stop()
            if instance:
                instance.stop()

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
                       readiness_paths=signal_paths, users=load.users)
        shutdown: ShutdownEvidence | None = None
        if instance is not None and window.injected_at is not None:
            shutdown = instance.evidence(window.injected_at, needs.grace_s)
        overload: OverloadEvidence | None = None
        if needs.fault == "overload":
            overload = self._overload_evidence(load_result, timing, capacity, probe.samples)
        endpoint_samples = endpoint_probe.samples if endpoint_probe else []
        observed = observation(spec, needs, self.config, timing, load_result.timeline, probe.samples,
                               endpoint_samples, shutdown=shutdown, overload=overload)
        findings = judge(observed, spec.capabilities)
        result = apply_findings(result, findings)
        result = replace(result, evidence={
            **result.evidence,
            "endpoints": {"affected": [e.to_dict() for e in observed.affected],
                          "unaffected": [e.to_dict() for e in observed.unaffected]},
            "dependency": needs.dependency, "fault_kind": needs.fault,
            **({"shutdown": shutdown.to_dict()} if shutdown else {}),
            **({"overload": overload.to_dict()} if overload else {}),
        })
        evidence = self._save(spec, result, load_result, chaos_result)
        run = FmeaRun(result, spec, timing, load_result, tuple(probe.samples), chaos_result, evidence, findings)
        self.runs.append(run)
        self._on_run(run)
        return result

    def _instance_observer(self, needs: EvidenceSpec) -> InstanceObserver | None:
        """The instance the scenario stops (``chaos.targets.app``, first replica), watched at its own port."""
        from pytest_blissful.flows.instance import InstanceObserver

        target = self.config.chaos.targets.get("app")
        if not target or target not in self.stack.services:
            return None
        from pytest_blissful.chaos._docker import loopback_ports

        handle = self.stack.service(target)[0]
        if needs.instance_port not in handle.published:
            return None  # not published: graceful shutdown stays "not shown" (see docs/capabilities.md)
        # where it is published now: an earlier scenario may have killed and started it (a new ephemeral port)
        port = loopback_ports(handle.container_id).get(needs.instance_port, handle.published[needs.instance_port])
        return InstanceObserver(f"http://127.0.0.1:{port}", handle.container_id,
                                inflight_path=needs.inflight_path, ready_path=self.config.chaos.readiness_paths[0]
                                if self.config.chaos.readiness_paths else "/ready")

    def _overload_evidence(self, load_result: LoadResult, timing: FmeaTiming, capacity: float,
                           probes: list[ProbeSample]) -> OverloadEvidence | None:
        from pytest_blissful.chaos.actions import overload as overload_action
        from pytest_blissful.flows.evidence import figures

        rate, extra = overload_action.take_result()
        background = figures(load_result.timeline, timing.fault_start, timing.fault_end)
        user_paths = [p for p in self.config.chaos.probe_paths
                      if p not in (*self.config.chaos.readiness_paths, *self.config.chaos.liveness_paths)]
        timeline = extra.timeline if extra is not None else load_result.timeline
        found = overload_evidence(timeline, timing, capacity, rate + background.rps,
                                  extra.dropped if extra is not None else 0, probes, user_paths)
        if extra is None:
            return found
        statuses = dict(found.fault.statuses)
        for code, n in background.statuses.items():
            statuses[code] = statuses.get(code, 0) + n
        fault = replace(found.fault, requests=found.fault.requests + background.requests,
                        errors=found.fault.errors + background.errors, statuses=statuses,
                        timeouts=found.fault.timeouts + background.timeouts)
        return replace(found, fault=fault,
                       baseline_p95_ms=figures(load_result.timeline, timing.baseline_start, timing.fault_start).p95_ms)

    def _await_recovery(self, load: LoadHandle, probe: SteadyStateProbe, spec: Scenario, baseline_start: float,
                        fault_start: float, fault_end: float, budget_s: float,
                        signal_paths: Sequence[str] = ()) -> float:
        """Observe after removal until the service has been healthy for the hold window (bounded)."""
        deadline = time.time() + budget_s
        while time.time() < deadline:
            _sleep_polling(load, 0.5)
            now = time.time()
            timing = FmeaTiming(baseline_start, fault_start, fault_end, now)
            samples = probe.samples
            # probes only: the load's per-second figures arrive later and are checked by the grading
            if _probe_recovered(usable_probes(samples, timing, signal_paths), timing, spec):
                # keep observing: the load must hold for a span as long (graded once its buckets are in), and the
                # requests still in flight at the removal end in its first seconds; without room for a later start
                # the grading would find no span at all and call a recovered service "did not recover"
                tail = 2 * spec.expectation.hold_s + 1.0
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
    meta = blissful_extension(spec.experiment) or {}
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


def configured_weights(config: BlissfulConfig) -> dict[str, float]:
    """The scenario set the score is computed over (``chaos.scenarios``, default every known one) → weights."""
    from pytest_blissful.chaos.scenarios import ScenarioError, known_scenarios

    weights: dict[str, float] = {}
    for name in config.chaos.scenarios or list(known_scenarios(config)):
        try:
            weights[name] = load_scenario(name, config).expectation.weight
        except ScenarioError:
            weights[name] = 1.0  # it cannot run: still counts, as uncovered
    return weights


def _capacity(load: LoadHandle, since: float) -> tuple[float, float]:
    """What the service answered successfully per second under the baseline's closed-model load (its measured
    capacity) and the baseline's p95 latency (ms), from the load's own timeline; (0.0, 0.0) when nothing was
    answered (the overload's in-place check then refuses)."""
    timeline = load.snapshot()
    now = time.time()
    if timeline is None or now - since < 0.5:
        return 0.0, 0.0
    # the last few hundred ms hold requests still in flight: leave them out
    window = timeline.window_epoch(since, now - 0.3, edges="inside")
    if window.duration_s <= 0:
        return 0.0, 0.0
    return max(0.0, (window.requests - window.errors) / window.duration_s), window.p95_ms


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
                 window_s: float = 5.0, ignore_paths: Sequence[str] = ()) -> None:
        self.probe = probe
        self.ignore_paths = tuple(ignore_paths)
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
            recent = [s for s in self.probe.samples
                      if now - self.window_s <= s.at <= now and s.path not in self.ignore_paths]
            # a hung service slows the probes down to one per timeout each: a few samples must do
            if len(recent) >= 3:
                failed = 100.0 * sum(not s.ok for s in recent) / len(recent)
                if failed >= self.critical:
                    hold.request_abort(f"{failed:.0f}% of probes failed over {self.window_s:.0f} s "
                                       f"(critical bound {self.critical:g}%)")
                    return
