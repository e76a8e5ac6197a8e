"""What a scenario must be observed for, and the per-endpoint figures the capability rules judge.

A scenario says what its fault does in its experiment's ``blissful`` extension::

    "evidence": {"fault": "down", "dependency": "${db_proxy}"}

``fault`` is one of latency / hang / down / partial / instance-stop / instance-kill / overload / other;
``dependency`` names the faulted dependency (a ``${placeholder}`` is filled from ``chaos.targets``), and
``chaos.dependencies`` says which endpoints use it. Optional: ``injected_delay_ms`` (latency),
``attempt_success_rate`` (partial), ``overload_factor`` (overload), ``grace_s`` / ``instance_port`` /
``inflight_path`` (instance-stop).
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_blissful.chaos.scenarios import Scenario, ScenarioError, blissful_extension
from pytest_blissful.config.schema import BlissfulConfig
from pytest_blissful.grading.capabilities import (
    EndpointEvidence,
    Figures,
    Observation,
    OverloadEvidence,
    ShutdownEvidence,
)
from pytest_blissful.grading.fmea import FmeaTiming
from pytest_blissful.grading.probes import ProbeSample
from pytest_blissful.metrics.timeline import Timeline

FAULT_KINDS = ("latency", "hang", "down", "partial", "instance-stop", "instance-kill", "overload", "other")
_PLACEHOLDER = re.compile(r"^\$\{([a-zA-Z_][a-zA-Z0-9_]*)\}$")
_PATH_PARAM = re.compile(r"\{[^}]+\}")


@dataclass(frozen=True)
class EvidenceSpec:
    """What to observe in one scenario (from its metadata and the configuration)."""

    fault: str = "other"
    dependency: str | None = None
    injected_delay_ms: float | None = None
    attempt_success_rate: float | None = None
    overload_factor: float = 3.0
    grace_s: float = 10.0
    instance_port: int = 8000
    inflight_path: str = "/hello"
    affected: tuple[str, ...] = ()
    unaffected: tuple[str, ...] = ()
    readiness_checks_dependency: bool = False

    @property
    def observes_instance(self) -> bool:
        return self.fault == "instance-stop"


def metadata(spec: Scenario) -> dict[str, Any]:
    meta = blissful_extension(spec.experiment) or {}
    evidence = meta.get("evidence", {})
    if not isinstance(evidence, dict):
        raise ScenarioError(f"{spec.path}: extensions.blissful.evidence must be a mapping, e.g. "
                            '{"fault": "down", "dependency": "${db_proxy}"}')
    return evidence


def evidence_spec(spec: Scenario, config: BlissfulConfig) -> EvidenceSpec:
    """The scenario's evidence needs; a faulted dependency without a ``chaos.dependencies`` entry is an error."""
    meta = metadata(spec)
    fault = str(meta.get("fault", "other"))
    if fault not in FAULT_KINDS:
        raise ScenarioError(f"{spec.path}: extensions.blissful.evidence.fault must be one of "
                            f"{', '.join(FAULT_KINDS)} (got {fault!r})")
    raw = meta.get("dependency")
    names = [raw] if isinstance(raw, str) else list(raw or [])
    resolved = []
    for name in names:
        if isinstance(name, str) and (match := _PLACEHOLDER.match(name)):
            name = config.chaos.targets.get(match.group(1))
        if name:
            resolved.append(str(name))
    dependency = ", ".join(resolved) or None
    endpoints = tuple(config.chaos_endpoints)
    affected: list[str] = []
    for name in resolved:
        mapped = config.chaos.dependencies.get(name)
        if mapped is None:
            raise ScenarioError(
                f"scenario {spec.name!r} faults the dependency {name!r}, but chaos.dependencies has no "
                f"entry for it: add chaos.dependencies.{name}: ['METHOD /path', ...] to blissful.yaml "
                "listing the endpoints that use it ([] if none do)")
        affected += [e for e in mapped if e not in affected]
    unaffected = tuple(e for e in endpoints if e not in affected and not _is_probe_like(e, config))
    try:
        return EvidenceSpec(
            fault=fault, dependency=dependency,
            injected_delay_ms=_float(meta.get("injected_delay_ms")),
            attempt_success_rate=_float(meta.get("attempt_success_rate")),
            overload_factor=float(meta.get("overload_factor", 3.0)),
            grace_s=float(meta.get("grace_s", 10.0)), instance_port=int(meta.get("instance_port", 8000)),
            inflight_path=str(meta.get("inflight_path", "/hello")), affected=tuple(affected),
            unaffected=unaffected,
            readiness_checks_dependency=any(n in _readiness_dependencies(config) for n in resolved),
        )
    except (TypeError, ValueError) as exc:
        raise ScenarioError(f"{spec.path}: extensions.blissful.evidence: {exc}") from None


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _readiness_dependencies(config: BlissfulConfig) -> set[str]:
    """Dependencies readiness checks: ``stack.dependencies`` (compose services) mapped to the fault names."""
    names = set(config.stack.dependencies)
    # a Toxiproxy proxy named after the service it fronts counts as that service
    return names | {proxy for proxy in config.chaos.dependencies if proxy in names}


def _is_probe_like(endpoint: str, config: BlissfulConfig) -> bool:
    path = endpoint.partition(" ")[2]
    return path in {*config.chaos.readiness_paths, *config.chaos.liveness_paths, config.stack.health_path}


def probe_path(endpoint: str) -> str | None:
    """A GET endpoint as a path to probe (``GET /hello/{name}`` → ``/hello/blissful``); None for other methods."""
    method, _, path = endpoint.partition(" ")
    if method != "GET" or not path.startswith("/"):
        return None
    return _PATH_PARAM.sub("blissful", path)


# -- figures --------------------------------------------------------------------------------------------------


def figures(timeline: Timeline, start: float, end: float, endpoint: str | None = None) -> Figures:
    if end <= start:
        return Figures()
    w = timeline.window_epoch(start, end, endpoint=endpoint)
    timeouts = sum(n for kind, n in w.error_kinds.items() if "timeout" in kind.lower())
    return Figures(requests=w.requests, errors=w.errors, p50_ms=w.p50_ms, p95_ms=w.p95_ms, p99_ms=w.p99_ms,
                   rps=w.rps, statuses=dict(w.statuses), timeouts=timeouts)


def endpoint_evidence(timeline: Timeline, timing: FmeaTiming, endpoint: str) -> EndpointEvidence:
    middle = timing.fault_start + (timing.fault_end - timing.fault_start) / 2
    return EndpointEvidence(
        endpoint=endpoint,
        baseline=figures(timeline, timing.baseline_start, timing.fault_start, endpoint),
        fault=figures(timeline, timing.fault_start, timing.fault_end, endpoint),
        fault_late=figures(timeline, middle, timing.fault_end, endpoint),
        after=figures(timeline, timing.fault_end, timing.observe_end, endpoint),
    )


def observation(scenario: Scenario, spec: EvidenceSpec, config: BlissfulConfig, timing: FmeaTiming,
                timeline: Timeline, probes: Sequence[ProbeSample], endpoint_probes: Sequence[ProbeSample] = (),
                *, shutdown: ShutdownEvidence | None = None, overload: OverloadEvidence | None = None,
                service_metrics: Mapping[str, float] | None = None) -> Observation:
    chaos = config.chaos
    seen = set(timeline.endpoints)
    return Observation(
        scenario=scenario.name, fault=spec.fault, fault_start=timing.fault_start, fault_end=timing.fault_end,
        dependency=spec.dependency, injected_delay_ms=spec.injected_delay_ms,
        attempt_success_rate=spec.attempt_success_rate,
        readiness_checks_dependency=spec.readiness_checks_dependency,
        affected=tuple(endpoint_evidence(timeline, timing, e) for e in spec.affected if e in seen),
        unaffected=tuple(endpoint_evidence(timeline, timing, e) for e in spec.unaffected if e in seen),
        readiness=tuple(p for p in probes if p.path in chaos.readiness_paths),
        liveness=tuple(p for p in probes if p.path in chaos.liveness_paths),
        endpoint_probes=tuple(endpoint_probes), degraded_marked=chaos.degraded_header is not None,
        slo_error_rate_percent=scenario.expectation.max_error_rate_percent,
        slo_p99_ms=scenario.expectation.max_p99_latency_ms,
        client_timeout_ms=config.load.request_timeout * 1000,
        shutdown=shutdown, overload=overload, service_metrics=dict(service_metrics or {}),
    )


def overload_evidence(timeline: Timeline, timing: FmeaTiming, capacity_rps: float, offered_rps: float,
                      dropped: int, probes: Sequence[ProbeSample], user_paths: Sequence[str]) -> OverloadEvidence:
    under = [p for p in probes if timing.fault_start <= p.at < timing.fault_end and p.path in user_paths]
    shed = [p.latency_ms for p in under if p.status in (429, 503)]
    admitted = [p.latency_ms for p in under if p.ok]
    return OverloadEvidence(
        capacity_rps=capacity_rps, offered_rps=offered_rps,
        fault=figures(timeline, timing.fault_start, timing.fault_end), dropped=dropped,
        shed_p95_ms=_pct(shed, 95), admitted_p99_ms=_pct(admitted, 99), probes=len(under),
        baseline_p95_ms=figures(timeline, timing.baseline_start, timing.fault_start).p95_ms,
    )


def _pct(values: Sequence[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q / 100 * len(ordered) + 0.5) - 1))]
