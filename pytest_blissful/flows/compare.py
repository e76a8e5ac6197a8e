"""The comparison flow, in the spec's order: provision both versions (separate compose projects, at the same
time) → warm up → identical, interleaved load on both → (optional chaos on both) → collect → analyse → report →
tear down (on every exit path; a ledger entry per project covers SIGKILL, removed by the next session).
"""

from __future__ import annotations

import concurrent.futures
import contextlib
import math
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pytest_blissful.config.schema import BlissfulConfig
from pytest_blissful.flows.docker_stats import StatsSample, StatsSampler, per_block
from pytest_blissful.flows.versions import ResolvedVersion, VersionError, override_file, resolve
from pytest_blissful.grading.comparison import NOT_MEASURED, ComparisonResult, MetricSamples, compare
from pytest_blissful.stack.compose import compose_down, compose_up, demo_compose_file
from pytest_blissful.stack.errors import StackError
from pytest_blissful.stack.health import TargetUnreachable, wait_healthy
from pytest_blissful.stack.ledger import LEDGER_KIND, Ledger
from pytest_blissful.stack.model import Stack

if TYPE_CHECKING:
    from pytest_blissful.flows.compare_chaos import SideResilience
    from pytest_blissful.load import LoadResult
    from pytest_blissful.metrics.timeline import Timeline

Progress = Callable[[str], None]
SIDES = ("old", "new")
STATS_BLOCK_S = 3.0


Measure = Callable[[float, float, "int | None"], "ComparisonRun"]


class ComparisonSetupError(Exception):
    """The comparison could not run (a side failed to build or come up); the message names the side."""


@dataclass(frozen=True)
class ComparisonRun:
    """A ComparisonResult with what it was computed from (charts, reports)."""

    result: ComparisonResult
    load: LoadResult
    timelines: Mapping[str, Timeline]
    stats: Mapping[str, tuple[StatsSample, ...]]
    analysis_start_s: float  # seconds since the load started (after the warm-up)
    analysis_end_s: float
    timings: Mapping[str, float] = field(default_factory=dict)


class VersionComparison:
    """Runs one comparison per call: ``VersionComparison(config, ...).run()`` → :class:`ComparisonRun`."""

    def __init__(self, config: BlissfulConfig, *, project_prefix: str, owner_pid: int,
                 ledger: Ledger | None = None, progress: Progress | None = None,
                 report_dir: Path | None = None) -> None:
        self.config = config
        self.report_dir = report_dir  # where include_chaos keeps each version's FMEA evidence (default: a temp dir)
        self.project_prefix = project_prefix
        self.owner_pid = owner_pid
        self.ledger = ledger or Ledger()
        self.progress = progress or (lambda message: None)

    # ------------------------------------------------------------------------------------------ entry
    def run(self, *, test_duration: float | None = None, warmup_duration: float | None = None,
            users: int | None = None) -> ComparisonRun:
        settings = self.config.comparison
        test_s = settings.test_duration if test_duration is None else float(test_duration)
        warmup_s = settings.warmup_duration if warmup_duration is None else float(warmup_duration)
        timings: dict[str, float] = {}
        started = time.monotonic()
        with self.provisioned(timings) as measure:
            t0 = time.monotonic()
            run = measure(test_s, warmup_s, users)
            timings["load_s"] = time.monotonic() - t0
        timings["total_s"] = time.monotonic() - started
        details = {**run.result.details, "timings_s": {k: round(v, 2) for k, v in timings.items()}}
        result = _with_details(run.result, details)
        return ComparisonRun(result, run.load, run.timelines, run.stats, run.analysis_start_s, run.analysis_end_s,
                             timings)

    @contextlib.contextmanager
    def provisioned(self, timings: dict[str, float] | None = None) -> Iterator[Measure]:
        """Both versions up (built if needed) for the ``with`` block, removed at its end whatever happens.
        Yields ``measure(test_s, warmup_s, users)`` → :class:`ComparisonRun`, callable several times
        (benchmarks repeat measurements on the same pair of stacks)."""
        settings = self.config.comparison
        if settings.old is None or settings.new is None:
            raise ComparisonSetupError(
                "comparison.old and comparison.new are not configured"
                + (f" in {self.config.source}" if self.config.source else "")
                + ": say what each version is (image:, ref: or env:), e.g. old: {image: app:1.4}, new: {ref: HEAD}")
        if self.config.stack.url is not None:
            raise ComparisonSetupError("a comparison starts both versions itself: it needs compose files "
                                       "(stack.compose), not a running target (stack.url / --blissful-url)")
        timings = {} if timings is None else timings
        projects = {side: f"{self.project_prefix}-{side}" for side in SIDES}
        workdir = Path(tempfile.mkdtemp(prefix="blissful-compare-"))
        started = time.monotonic()
        try:
            versions = self._resolve({"old": settings.old, "new": settings.new})
            timings["build_s"] = time.monotonic() - started
            t0 = time.monotonic()
            stacks = self._provision(versions, projects, workdir)
            timings["up_s"] = time.monotonic() - t0

            def measure(test_s: float, warmup_s: float, users: int | None = None) -> ComparisonRun:
                return self._measure(versions, stacks, test_s, warmup_s, users, self.report_dir or workdir)

            yield measure
        finally:
            t0 = time.monotonic()
            self._down(projects)
            timings["down_s"] = time.monotonic() - t0
            shutil.rmtree(workdir, ignore_errors=True)

    # ------------------------------------------------------------------------------------------ steps
    def _resolve(self, versions: Mapping[str, Any]) -> dict[str, ResolvedVersion]:
        with concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="blissful-version") as pool:
            futures = {side: pool.submit(resolve, side, version, self.config, self.progress)
                       for side, version in versions.items()}
            resolved: dict[str, ResolvedVersion] = {}
            errors = []
            for side, future in futures.items():
                try:
                    resolved[side] = future.result()
                except VersionError as exc:
                    errors.append(str(exc))
        if errors:
            raise ComparisonSetupError("\n".join(errors))
        return resolved

    def _files(self) -> list[Path]:
        if self.config.uses_demo_stack:
            return [demo_compose_file()]
        return [(self.config.base_dir / f).resolve() for f in self.config.stack.compose]

    def _provision(self, versions: Mapping[str, ResolvedVersion], projects: Mapping[str, str],
                   workdir: Path) -> dict[str, Stack]:
        stack_config, settings = self.config.stack, self.config.comparison
        base_files = self._files()
        if any(v.image for v in versions.values()) and not settings.services:
            raise ComparisonSetupError("comparison.services is empty: name the compose services that run the "
                                       "version's image (e.g. services: [api])")
        for side, project in projects.items():  # before anything exists: a SIGKILL from here on is cleaned up
            self.ledger.record(project, LEDGER_KIND, self.owner_pid, files=[str(f) for f in base_files],
                               comparison_side=side)

        def up(side: str) -> Stack:
            version = versions[side]
            files = list(base_files)
            if version.image:
                files.append(override_file(workdir, side, version.image, settings.services))
            started = time.monotonic()
            stack = compose_up(f"{side} ({version.label})", files, projects[side], version.env,
                               stack_config.entry_service, stack_config.entry_port, stack_config.startup_timeout)
            wait_healthy(stack.base_url + stack_config.health_path,
                         max(1.0, stack_config.startup_timeout - (time.monotonic() - started)))
            return stack

        self.progress(f"blissful: bringing up {versions['old'].label} (old) and {versions['new'].label} (new) "
                      f"as compose projects {projects['old']} and {projects['new']} ...")
        with concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="blissful-up") as pool:
            futures = {side: pool.submit(up, side) for side in SIDES}
            stacks: dict[str, Stack] = {}
            errors = []
            for side, future in futures.items():
                try:
                    stacks[side] = future.result()
                except (StackError, TargetUnreachable) as exc:
                    errors.append(f"the {side} version ({versions[side].label}) did not come up: {exc}")
        if errors:
            raise ComparisonSetupError("\n".join(errors))
        return stacks

    def _measure(self, versions: Mapping[str, ResolvedVersion], stacks: Mapping[str, Stack], test_s: float,
                 warmup_s: float, users: int | None, report_dir: Path) -> ComparisonRun:
        from pytest_blissful.load import start_load

        settings, stack_config = self.config.comparison, self.config.stack
        users = users or settings.concurrent_users
        mix = settings.mix or self.config.load.mix or None
        containers = {side: _version_containers(stacks[side], settings.services) for side in SIDES}
        before = {side: _container_state(containers[side]) for side in SIDES}
        total_s = warmup_s + test_s
        self.progress(f"blissful: identical load on both versions: {users} users, warm-up {warmup_s:g} s, "
                      f"measured {test_s:g} s")
        sampler = StatsSampler(containers, max_duration_s=total_s + 60)
        handle = start_load(stacks["old"].base_url, users=users, duration_s=total_s, mix=mix,
                            sides={side: stacks[side].base_url for side in SIDES},
                            allowed_hosts=tuple(stack_config.allowed_hosts),
                            request_timeout_s=self.config.load.request_timeout)
        with handle, sampler:
            load = handle.result()
        timelines = {side: load.timeline.select_side(side) for side in SIDES}
        invalid = []
        if load.generator_saturated:
            invalid.append(f"the load generator's CPU reached {load.generator_cpu_percent:.0f}% (> 90%): latencies "
                           "partly measure the generator; use fewer concurrent_users")
        for side in SIDES:
            invalid.extend(_steady_state(side, stacks[side], stack_config.health_path, before[side],
                                         _container_state(containers[side])))
        block_s = settings.block_duration
        start_s = math.ceil(warmup_s)
        count = int((min(load.duration_s, total_s) - start_s) // block_s)
        starts = [start_s + i * block_s for i in range(max(count, 0))]
        warnings = list(load.warnings) + [f"docker stats: {e}" for e in sampler.errors]
        answered = {side: [timelines[side].window(s, s + block_s).requests > 0 for s in starts] for side in SIDES}
        stalled = [s for s, old, new in zip(starts, answered["old"], answered["new"], strict=True)
                   if not old and not new]
        if stalled:  # nothing answered on either side: the generator (or the whole machine) stalled, not a version
            warnings.append(f"{len(stalled)} block(s) of {block_s:g} s without any answer from either version "
                            "(a stalled load generator or machine) were left out")
            starts = [s for s in starts if s not in stalled]
        for side, other in (("old", "new"), ("new", "old")):
            alone = sum(1 for mine, theirs in zip(answered[side], answered[other], strict=True) if theirs and not mine)
            if alone:
                invalid.append(f"the {side} version answered no request in {alone} block(s) of {block_s:g} s "
                               f"while the {other} version did")
        resilience = self._resilience(stacks, report_dir) if settings.include_chaos else None
        samples = _metric_samples(timelines, starts, block_s, sampler.samples, containers, load.timeline.start_epoch,
                                  resilience)
        thresholds = settings.thresholds.model_dump()
        result = compare(
            samples, old_label=versions["old"].label, new_label=versions["new"].label,
            critical_metrics=settings.critical_metrics, thresholds=thresholds,
            tolerance=settings.tolerance_percent / 100.0, invalid=invalid, auto_promote=settings.auto_promote,
            warnings=warnings,
            details={"users": users, "warmup_s": warmup_s, "test_s": test_s, "block_s": block_s,
                     "blocks": len(starts), "requests": {s: timelines[s].requests for s in SIDES},
                     "generator_cpu_percent": round(load.generator_cpu_percent, 1),
                     "projects": {s: stacks[s].project for s in SIDES},
                     "commits": {s: versions[s].commit for s in SIDES if versions[s].commit},
                     "images": {s: versions[s].image for s in SIDES if versions[s].image},
                     "start_epoch": load.timeline.start_epoch,
                     **({"resilience": {side: {"score": r.score,
                                               "verdicts": {n: {"verdict": v, "reason": why}
                                                            for n, (v, why) in r.verdicts.items()}}
                                        for side, r in resilience.items()}} if resilience else {})},
        )
        end_s = starts[-1] + block_s if starts else float(start_s)
        return ComparisonRun(result, load, timelines,
                             {side: tuple(sampler.samples[side]) for side in SIDES}, float(start_s), end_s)

    def _resilience(self, stacks: Mapping[str, Stack], report_dir: Path) -> dict[str, SideResilience]:
        """The FMEA scenarios on each version in turn (never both at once: one fault would load the other)."""
        from pytest_blissful.chaos.scenarios import ScenarioError
        from pytest_blissful.flows.compare_chaos import measure_resilience

        try:
            return {side: measure_resilience(side, stacks[side], self.config, report_dir, self.progress)
                    for side in SIDES}
        except ScenarioError as exc:
            raise ComparisonSetupError(f"comparison.include_chaos: {exc}") from None

    def _down(self, projects: Mapping[str, str]) -> None:
        def down(project: str) -> None:
            try:
                compose_down(project)
            except (StackError, subprocess.TimeoutExpired) as exc:
                self.progress(f"blissful: removing compose project {project} failed: {exc}")
                return
            self.ledger.forget(project)

        with concurrent.futures.ThreadPoolExecutor(2, thread_name_prefix="blissful-down") as pool:
            list(pool.map(down, projects.values()))


# ---------------------------------------------------------------------------------------------- helpers
def _with_details(result: ComparisonResult, details: Mapping[str, Any]) -> ComparisonResult:
    import dataclasses

    return dataclasses.replace(result, details=dict(details))


def _version_containers(stack: Stack, services: Sequence[str]) -> list[str]:
    names = list(services) or list(stack.services)
    return [handle.container_id for name in names for handle in stack.services.get(name, ())]


def _container_state(containers: Sequence[str]) -> dict[str, tuple[str, int]]:
    """container id → (status, restart count)."""
    if not containers:
        return {}
    inspected = subprocess.run(["docker", "inspect", "-f", "{{.Id}} {{.State.Status}} {{.RestartCount}}",
                                *containers], capture_output=True, text=True, timeout=60, check=False)
    state = {}
    for line in inspected.stdout.splitlines():
        cid, status, restarts = line.split()
        state[cid] = (status, int(restarts))
    return state


def _steady_state(side: str, stack: Stack, health_path: str, before: Mapping[str, tuple[str, int]],
                  after: Mapping[str, tuple[str, int]]) -> list[str]:
    problems = []
    for cid, (_status, restarts) in before.items():
        now = after.get(cid)
        if now is None or now[0] != "running":
            problems.append(f"the {side} version broke its steady state: container {cid[:12]} is "
                            f"{now[0] if now else 'gone'}")
        elif now[1] != restarts:
            problems.append(f"the {side} version broke its steady state: container {cid[:12]} restarted")
    try:
        wait_healthy(stack.base_url + health_path, timeout_s=5.0)
    except TargetUnreachable as exc:
        problems.append(f"the {side} version broke its steady state: {exc}")
    return problems


def _metric_samples(timelines: Mapping[str, Timeline], starts: Sequence[float], block_s: float,
                    stats: Mapping[str, Sequence[StatsSample]], containers: Mapping[str, Sequence[str]],
                    start_epoch: float, resilience: Mapping[str, SideResilience] | None) -> list[MetricSamples]:
    first, last = (starts[0], starts[-1] + block_s) if starts else (0.0, 0.0)

    def whole(side: str, endpoint: str | None = None) -> Any:
        return timelines[side].window(first, last, endpoint=endpoint)

    def per_block_values(side: str, fn: Callable[[Any], float], endpoint: str | None = None) -> tuple[float, ...]:
        values = []
        for s in starts:
            w = timelines[side].window(s, s + block_s, endpoint=endpoint)
            if w.requests:
                values.append(fn(w))
        return tuple(values)

    def latency(name: str, attr: str, endpoint: str | None = None) -> MetricSamples:
        return MetricSamples(name, getattr(whole("old", endpoint), attr), getattr(whole("new", endpoint), attr),
                             per_block_values("old", lambda w: float(getattr(w, attr)), endpoint),
                             per_block_values("new", lambda w: float(getattr(w, attr)), endpoint))

    def rps(w: Any) -> float:
        return float(w.requests - w.errors) / block_s

    span = max(last - first, 1e-9)

    samples = [
        latency("p50_latency_ms", "p50_ms"),
        latency("p95_latency_ms", "p95_ms"),
        latency("p99_latency_ms", "p99_ms"),
        MetricSamples("throughput_rps", (whole("old").requests - whole("old").errors) / span,
                      (whole("new").requests - whole("new").errors) / span,
                      per_block_values("old", rps), per_block_values("new", rps)),
        MetricSamples("error_rate_percent", 100.0 * whole("old").error_rate, 100.0 * whole("new").error_rate,
                      per_block_values("old", lambda w: 100.0 * w.error_rate),
                      per_block_values("new", lambda w: 100.0 * w.error_rate)),
    ]
    # Docker hands out about one stats sample per container and second (fewer on a busy engine): CPU and memory
    # blocks are at least STATS_BLOCK_S long, so that each holds samples of every container.
    stats_block_s = max(block_s, STATS_BLOCK_S)
    stats_starts = [first + i * stats_block_s for i in range(int((last - first) // stats_block_s))]
    epochs = [start_epoch + s for s in stats_starts]
    cpu: dict[str, list[float]] = {}
    memory: dict[str, list[float]] = {}
    for side in SIDES:
        cpu[side], memory[side] = per_block(stats[side], epochs, stats_block_s, containers[side])

    def mean(values: Sequence[float]) -> float | None:
        return sum(values) / len(values) if values else None

    samples.append(MetricSamples("cpu_percent", mean(cpu["old"]), mean(cpu["new"]), tuple(cpu["old"]),
                                 tuple(cpu["new"])))
    samples.append(MetricSamples("memory_mb", mean(memory["old"]), mean(memory["new"]), tuple(memory["old"]),
                                 tuple(memory["new"])))
    endpoints = sorted(set(timelines["old"].endpoints) & set(timelines["new"].endpoints))
    if len(endpoints) > 1:
        samples.extend(latency(f"p50_latency_ms[{e}]", "p50_ms", e) for e in endpoints)
        samples.extend(latency(f"p95_latency_ms[{e}]", "p95_ms", e) for e in endpoints)
    if resilience is None:
        samples.append(MetricSamples("resilience_score", None, None,
                                     note=f"{NOT_MEASURED} (comparison.include_chaos is off)"))
    else:
        old, new = resilience["old"], resilience["new"]
        names = list(dict.fromkeys([*old.verdicts, *new.verdicts]))
        missing = ("not run", "it did not run")
        samples.append(MetricSamples(
            "resilience_score", old.score, new.score,
            verdicts={n: (old.verdicts.get(n, missing), new.verdicts.get(n, missing)) for n in names}))
    return samples
