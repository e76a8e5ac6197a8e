"""Value objects the load runner hands out: :class:`LoadProgress` and :class:`LoadResult`."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Final

from pytest_blissful.grading.thresholds import ThresholdReport, evaluate
from pytest_blissful.metrics.timeline import Timeline, Window

#: A generator process busier than this (% of one core, averaged over the run) is "saturated".
SATURATION_PERCENT: Final = 90.0


@dataclass(frozen=True)
class LoadProgress:
    """About once a second while load runs: figures of the last complete second."""

    elapsed_s: float
    remaining_s: float
    users: int
    rps: float
    p95_ms: float
    errors: int

    def line(self) -> str:
        return (
            f"load: {self.users} users  {self.rps:,.0f} req/s  p95 {self.p95_ms:.1f}ms  "
            f"errors {self.errors}  {self.remaining_s:.0f}s left"
        )


@dataclass(frozen=True)
class LatencyStats:
    """Requests, rates and latency percentiles of one endpoint (or all of them)."""

    name: str
    requests: int
    errors: int
    rps: float
    error_rate: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    p999_ms: float
    max_ms: float
    mean_ms: float

    @classmethod
    def of(cls, name: str, w: Window) -> LatencyStats:
        return cls(
            name=name,
            requests=w.requests,
            errors=w.errors,
            rps=w.rps,
            error_rate=w.error_rate,
            p50_ms=w.p50_ms,
            p90_ms=w.p90_ms,
            p95_ms=w.p95_ms,
            p99_ms=w.p99_ms,
            p999_ms=w.p999_ms,
            max_ms=w.max_ms,
            mean_ms=w.mean_ms,
        )

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True, eq=False)
class LoadResult:
    """What one load run measured (all figures from our own HDR histograms, never Locust's stats)."""

    target_url: str
    timeline: Timeline
    totals: LatencyStats
    duration_s: float  # load actually ran (first send .. stop)
    requested_duration_s: float
    users: int
    rate: float | None  # arrival rate (req/s) or None in user-count mode
    workers: int
    endpoints: tuple[LatencyStats, ...]
    errors_by_kind: Mapping[str, int]
    statuses: Mapping[int, int]
    generator_cpu_percent: float  # busiest generator process, % of one core, averaged over the run
    generator_cpu_by_process: Mapping[str, float]
    generator_saturated: bool
    dropped: int  # arrival-rate mode: requests that were due but could not be sent before the stop
    slos: tuple[str, ...] = ()
    warnings: tuple[str, ...] = field(default=())

    # ----------------------------------------------------------------------------- grading
    @property
    def window(self) -> Window:
        return self.timeline.window()

    @property
    def stop_error_s(self) -> float:
        return self.duration_s - self.requested_duration_s

    def meets(self, *exprs: str) -> ThresholdReport:
        """Check thresholds (``"p95 < 200ms"``, ``"GET /hello: error_rate < 1%"``) on the whole run."""
        return evaluate(exprs, self.timeline.window())

    @cached_property
    def slo_report(self) -> ThresholdReport:
        return self.meets(*self.slos)

    @property
    def passed(self) -> bool:
        """All ``slos`` met; False when no request was made at all."""
        return self.totals.requests > 0 and self.slo_report.passed

    def __bool__(self) -> bool:
        return self.passed

    def explain(self) -> str:
        lines = [
            f"load on {self.target_url}: {self.totals.requests:,} requests in {self.duration_s:.2f}s "
            f"({self.totals.rps:,.1f} req/s), p95 {self.totals.p95_ms:.3f}ms, "
            f"error rate {self.totals.error_rate:.2%}"
        ]
        if self.totals.requests == 0:
            lines.append("✗ no requests were made: nothing can be graded")
        if self.slos:
            lines.extend(str(r) for r in self.slo_report.results)
        else:
            lines.append("(no SLO thresholds configured)")
        lines.extend(f"⚠ {w}" for w in self.warnings)
        return "\n".join(lines)

    def __repr__(self) -> str:
        state = "passed" if self.passed else "FAILED"
        return f"LoadResult({state}\n{self.explain()}\n)"

    # ----------------------------------------------------------------------------- rendering
    def table(self) -> str:
        t = self.totals
        rows = [
            ("requests", f"{t.requests:,}"),
            ("duration", f"{self.duration_s:.2f}s"),
            ("RPS", f"{t.rps:,.1f}"),
            ("p50 / p95 / p99", f"{t.p50_ms:.3f} / {t.p95_ms:.3f} / {t.p99_ms:.3f} ms"),
            ("max", f"{t.max_ms:.3f} ms"),
            ("error rate", f"{t.error_rate:.2%}"),
        ]
        if self.rate:
            rows.append(("dropped", f"{self.dropped:,}"))
        rows.append(("generator CPU", f"{self.generator_cpu_percent:.0f}%"))
        width = max(len(k) for k, _ in rows)
        out = [f"{k.ljust(width)}  {v}" for k, v in rows]
        if len(self.endpoints) > 1:
            out.append("")
            name_w = max(len(e.name) for e in self.endpoints)
            out.append(f"{'endpoint'.ljust(name_w)}  {'requests':>9}  {'p95 ms':>9}  {'p99 ms':>9}  {'errors':>7}")
            for e in self.endpoints:
                out.append(
                    f"{e.name.ljust(name_w)}  {e.requests:>9,}  {e.p95_ms:>9.3f}  {e.p99_ms:>9.3f}  {e.errors:>7,}"
                )
        out.append("")
        if self.totals.requests == 0:
            out.append("✗ no requests were made")
        elif not self.slos:
            out.append("(no thresholds)")
        elif self.slo_report.passed:
            out.append("✓ All thresholds passed")
        else:
            out.extend(str(r) for r in self.slo_report.failures)
        out.extend(f"⚠ {w}" for w in self.warnings)
        return "\n".join(out)

    def to_dict(self) -> dict[str, Any]:
        return {
            "target_url": self.target_url,
            "passed": self.passed,
            "duration_s": self.duration_s,
            "requested_duration_s": self.requested_duration_s,
            "start_epoch": self.timeline.start_epoch,
            "users": self.users,
            "rate": self.rate,
            "workers": self.workers,
            "totals": self.totals.to_dict(),
            "endpoints": [e.to_dict() for e in self.endpoints],
            "errors_by_kind": dict(self.errors_by_kind),
            "statuses": {str(k): v for k, v in self.statuses.items()},
            "generator_cpu_percent": self.generator_cpu_percent,
            "generator_cpu_by_process": dict(self.generator_cpu_by_process),
            "generator_saturated": self.generator_saturated,
            "dropped": self.dropped,
            "slos": list(self.slos),
            "thresholds": self.slo_report.to_dict()["results"],
            "warnings": list(self.warnings),
            "per_second": [p.__dict__ for p in self.timeline.per_second()],
        }


def build_result(
    *,
    target_url: str,
    timeline: Timeline,
    requested_duration_s: float,
    users: int,
    rate: float | None,
    workers: int,
    cpu_by_process: Mapping[str, float],
    dropped: int,
    slos: tuple[str, ...],
    extra_warnings: tuple[str, ...] = (),
) -> LoadResult:
    whole = timeline.window()
    cpu = max(cpu_by_process.values(), default=0.0)
    saturated = cpu >= SATURATION_PERCENT
    warnings = list(extra_warnings)
    if saturated:
        busiest = max(cpu_by_process, key=lambda k: cpu_by_process[k])
        warnings.append(
            f"load generator saturated: {busiest} used {cpu:.0f}% CPU, so latencies partly measure "
            f"the generator, not the service; use more workers (workers=N) or fewer users/lower rate"
        )
    if rate and dropped:
        warnings.append(f"{dropped:,} requests were due but could not be sent in time (arrival rate {rate:g}/s)")
    return LoadResult(
        target_url=target_url,
        timeline=timeline,
        totals=LatencyStats.of("total", whole),
        duration_s=timeline.duration_s,
        requested_duration_s=requested_duration_s,
        users=users,
        rate=rate,
        workers=workers,
        endpoints=tuple(LatencyStats.of(name, whole.endpoint(name)) for name in timeline.endpoints),
        errors_by_kind=dict(whole.error_kinds),
        statuses=dict(whole.statuses),
        generator_cpu_percent=cpu,
        generator_cpu_by_process=dict(cpu_by_process),
        generator_saturated=saturated,
        dropped=dropped,
        slos=slos,
        warnings=tuple(warnings),
    )
