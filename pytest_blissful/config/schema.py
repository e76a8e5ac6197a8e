"""The ``blissful.yaml`` schema.

The ``chaos:``, ``comparison:`` and ``canary:`` sections take the original blissful-infra.yaml sections unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal

from pydantic import AfterValidator, AnyHttpUrl, BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from pytest_blissful._durations import parse_duration

Seconds = Annotated[float, BeforeValidator(parse_duration)]


def _check_threshold(expression: str) -> str:
    from pytest_blissful.grading.thresholds import ThresholdError, parse_threshold

    try:
        parse_threshold(expression)
    except ThresholdError as exc:
        raise ValueError(str(exc)) from None
    return expression


ThresholdExpression = Annotated[str, AfterValidator(_check_threshold)]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class StackConfig(_Section):
    """What to test: a compose stack (default: the embedded demo) or an already-running target."""

    compose: list[Path] = Field(default_factory=list, description="compose files, relative to the config file")
    url: AnyHttpUrl | None = Field(default=None, description="an already-running target; no stack is started")
    entry_service: str | None = Field(
        default=None, description="compose service that receives the traffic (default: the only service that "
                                  "publishes a port; demo: lb)")
    entry_port: int | None = Field(
        default=None, ge=1, le=65535,
        description="container port of the entry service (default: the only port it publishes; demo: 80)")
    health_path: str = Field(default="/health", description="answers 2xx once the stack is up (startup wait)")
    readiness_path: str | None = Field(
        default=None, description="answers 2xx only while dependencies are up (default probe and detection signal)")
    startup_timeout: Seconds = Field(default=120.0, gt=0)
    env: dict[str, str] = Field(default_factory=dict, description="variables for compose interpolation")
    allowed_hosts: list[str] = Field(default_factory=list, description="non-loopback hosts load may target")
    log_expectations: dict[str, list[str]] = Field(
        default_factory=dict, description="service -> substrings its logs must contain (contract suite)"
    )
    dependencies: list[str] = Field(
        default_factory=list, description="services /ready depends on (the contract suite breaks each once)"
    )

    @field_validator("health_path", "readiness_path")
    @classmethod
    def _absolute_path(cls, value: str | None) -> str | None:
        if value is not None and not value.startswith("/"):
            raise ValueError(f"must start with '/', e.g. '/health' (got {value!r})")
        return value


class LoadConfig(_Section):
    users: int = Field(default=10, ge=1, le=100_000)
    spawn_rate: float | None = Field(default=None, gt=0)
    duration: Seconds = Field(default=30.0, gt=0)
    rate: float | None = Field(default=None, gt=0, description="constant arrival rate (req/s); open model")
    workers: int = Field(default=1, ge=1, le=64)
    locustfile: Path | None = None
    mix: dict[str, int] = Field(default_factory=dict, description="weights per endpoint, e.g. 'GET /hello': 5")
    request_timeout: Seconds = Field(default=5.0, gt=0, description="a slower request counts as an error")


class ChaosSlos(_Section):
    max_error_rate_percent: float = Field(default=5.0, ge=0, le=100)
    max_p99_latency_ms: float = Field(default=2000.0, gt=0)
    max_recovery_time_s: float = Field(default=60.0, gt=0)


class ChaosConfig(_Section):
    enabled: bool = True
    tool: str = "chaostoolkit"
    scenarios: list[str] = Field(default_factory=list, description="empty: every known scenario")
    default_duration: Seconds = Field(default=10.0, gt=0, description="how long each fault stays in place")
    load_during_chaos: int = Field(default=10, ge=0, description="Locust users during each scenario")
    slos: ChaosSlos = Field(default_factory=ChaosSlos)
    abort_on_critical_failure: bool = True
    baseline_duration: Seconds = Field(default=4.0, gt=0, description="normal load measured before the fault")
    targets: dict[str, str] = Field(
        default_factory=dict, description="what the scenarios act on: app, db_proxy, broker_proxy, dependency_proxy"
    )
    experiments: dict[str, Path] = Field(
        default_factory=dict, description="custom scenarios: name -> Chaos Toolkit experiment file"
    )
    probe_paths: list[str] = Field(
        default_factory=list, description="paths probed at 10 Hz during each scenario (default: "
                                          "stack.readiness_path and stack.health_path; demo: /ready, /hello)"
    )
    readiness_paths: list[str] = Field(
        default_factory=list, description="probe paths that signal detection, not user errors "
                                          "(default: stack.readiness_path)"
    )
    min_score: float | None = Field(
        default=None, ge=0, le=100, description="fail the run when the resilience score ends below this"
    )
    mix: dict[str, int] = Field(default_factory=dict, description="load mix during chaos (default: load.mix)")


class ComparisonThresholds(_Section):
    p95_latency_ms: float = Field(default=200.0, gt=0)
    p99_latency_ms: float = Field(default=500.0, gt=0)
    min_throughput_rps: float = Field(default=1000.0, ge=0)
    max_error_rate_percent: float = Field(default=1.0, ge=0, le=100)
    max_cpu_percent: float = Field(default=80.0, gt=0)
    max_memory_mb: float = Field(default=1024.0, gt=0)
    min_resilience_score: float = Field(default=80.0, ge=0, le=100)


class ComparisonConfig(_Section):
    warmup_duration: Seconds = Field(default=30.0, ge=0)
    test_duration: Seconds = Field(default=300.0, gt=0)
    concurrent_users: int = Field(default=100, ge=1)
    include_chaos: bool = False
    thresholds: ComparisonThresholds = Field(default_factory=ComparisonThresholds)
    auto_promote: bool = False
    critical_metrics: list[str] = Field(
        default_factory=lambda: ["p95_latency_ms", "error_rate_percent", "resilience_score"]
    )


class CanaryStep(_Section):
    weight: int = Field(ge=0, le=100)
    pause: Seconds | None = None


class CanaryMetric(_Section):
    name: str
    threshold: str
    query: str | None = None


class CanaryAnalysis(_Section):
    interval: Seconds = Field(default=30.0, gt=0)
    failure_limit: int = Field(default=3, ge=0, alias="failureLimit")
    metrics: list[CanaryMetric] = Field(default_factory=list)


class CanaryConfig(_Section):
    enabled: bool = True
    steps: list[CanaryStep] = Field(
        default_factory=lambda: [CanaryStep(weight=10), CanaryStep(weight=25), CanaryStep(weight=50),
                                 CanaryStep(weight=100)]
    )
    analysis: CanaryAnalysis = Field(default_factory=CanaryAnalysis)


DEFAULT_SLOS = ("p95 < 200ms", "error_rate < 1%")
DEMO_CHAOS_TARGETS = {
    "app": "app1",
    "db": "postgres",
    "db_proxy": "postgres",
    "broker_proxy": "redis",
    "dependency_proxy": "upstream",
    "memory_stress_size": "460M",  # 90% of the demo app's 512 MiB memory limit
}
DEMO_PROBE_PATHS = ("/ready", "/hello")
DEMO_CHAOS_MIX = {
    "GET /hello": 4, "GET /hello/{name}": 2, "GET /greetings": 2, "GET /dependency": 2, "GET /health": 1,
}


class BlissfulConfig(_Section):
    """A validated ``blissful.yaml``; ``source`` is the file it came from (None: built-in defaults)."""

    stack: StackConfig = Field(default_factory=StackConfig)
    load: LoadConfig = Field(default_factory=LoadConfig)
    slos: list[ThresholdExpression] = Field(default_factory=lambda: list(DEFAULT_SLOS))
    chaos: ChaosConfig = Field(default_factory=ChaosConfig)
    comparison: ComparisonConfig = Field(default_factory=ComparisonConfig)
    canary: CanaryConfig = Field(default_factory=CanaryConfig)
    source: Path | None = Field(default=None, exclude=True)
    kind: Literal["file", "pyproject", "default"] = Field(default="default", exclude=True)

    @property
    def base_dir(self) -> Path:
        """Directory that relative paths in the config are resolved against."""
        return self.source.parent if self.source else Path.cwd()

    @property
    def uses_demo_stack(self) -> bool:
        return not self.stack.compose and self.stack.url is None

    def model_post_init(self, context: object) -> None:
        """Defaults that come from the stack: the embedded demo brings its own knowledge (services, log lines,
        chaos targets, mix, probes); any other stack's probes come from its ``stack:`` paths."""
        if self.uses_demo_stack:
            self._demo_defaults()
        chaos_updates: dict[str, object] = {}
        readiness = [self.stack.readiness_path] if self.stack.readiness_path else []
        if "readiness_paths" not in self.chaos.model_fields_set and not self.chaos.readiness_paths:
            chaos_updates["readiness_paths"] = readiness
        if "probe_paths" not in self.chaos.model_fields_set and not self.chaos.probe_paths:
            chaos_updates["probe_paths"] = list(dict.fromkeys([*readiness, self.stack.health_path]))
        if chaos_updates:
            object.__setattr__(self, "chaos", self.chaos.model_copy(update=chaos_updates))

    def _demo_defaults(self) -> None:
        stack_updates: dict[str, object] = {}
        if not self.stack.log_expectations and not self.stack.dependencies:
            stack_updates["log_expectations"] = {"app1": ["demo service started"], "app2": ["demo service started"]}
            stack_updates["dependencies"] = ["postgres", "redis"]
        for key, value in (("entry_service", "lb"), ("entry_port", 80), ("readiness_path", "/ready")):
            if getattr(self.stack, key) is None:
                stack_updates[key] = value
        if stack_updates:
            object.__setattr__(self, "stack", self.stack.model_copy(update=stack_updates))
        chaos_updates: dict[str, object] = {}
        if not self.chaos.targets:
            chaos_updates = {"targets": dict(DEMO_CHAOS_TARGETS), "mix": self.chaos.mix or dict(DEMO_CHAOS_MIX)}
        if "probe_paths" not in self.chaos.model_fields_set and not self.chaos.probe_paths:
            chaos_updates["probe_paths"] = list(DEMO_PROBE_PATHS)
        if chaos_updates:
            object.__setattr__(self, "chaos", self.chaos.model_copy(update=chaos_updates))

    def traffic_mix(self, chaos: bool = False) -> dict[str, int] | None:
        """The built-in load user's mix: ``chaos.mix`` (chaos runs), else ``load.mix``; None means the demo's
        default mix, which only the demo stack gets. Raises ``ValueError`` naming the key to set otherwise."""
        mix = (self.chaos.mix if chaos else {}) or self.load.mix
        if mix or self.load.locustfile is not None:
            return dict(mix) or None
        if self.uses_demo_stack:
            return None
        where = f" in {self.source}" if self.source else ""
        keys = "chaos.mix or load.mix" if chaos else "load.mix"
        raise ValueError(
            f"no traffic mix for this stack: set {keys}{where} to the requests your users make, e.g.\n"
            f"  load:\n    mix:\n      'GET /api/items': 8\n      'POST /api/orders': 2\n"
            f"(or load.locustfile to your own Locust user; the demo's /hello mix applies to the demo stack only)")
