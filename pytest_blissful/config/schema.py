"""The ``blissful.yaml`` schema.

The ``chaos:``, ``comparison:`` and ``canary:`` sections take the original blissful-infra.yaml sections unchanged.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AnyHttpUrl,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

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


class KubernetesConfig(_Section):
    """``stack.kubernetes``: manifests applied to a cluster, in a namespace of their own (see docs/kubernetes.md)."""

    manifests: list[Path] = Field(
        min_length=1, description="manifest files or directories (a directory with kustomization.yaml is built "
                                  "with Kustomize), relative to the config file")
    kubeconfig: Path | None = Field(
        default=None, description="default: $KUBECONFIG, else the local cluster of ./scripts/setup.sh kubernetes, "
                                  "else ~/.kube/config")
    context: str | None = Field(default=None, description="kubeconfig context (default: its current context)")
    namespace: str | None = Field(
        default=None, description="an existing namespace to deploy into; default: an ephemeral namespace "
                                  "blissful-<run id>, labelled with the run id and deleted at the end")
    forward: list[str] = Field(
        default_factory=list, description="more Services to port-forward to 127.0.0.1 (all their ports), e.g. "
                                          "toxiproxy; the entry Service (stack.entry_service) always is")
    delete_timeout: Seconds = Field(default=60.0, gt=0, description="how long a namespace may take to go")

    @field_validator("namespace")
    @classmethod
    def _dns_label(cls, value: str | None) -> str | None:
        if value is not None and not re.fullmatch(r"[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?", value):
            raise ValueError(f"{value!r} is not a valid namespace name (lower-case letters, digits and '-', "
                             "at most 63 characters)")
        return value


class StackConfig(_Section):
    """What to test: a compose stack (default: the embedded demo), a Kubernetes deployment or a running target."""

    compose: list[Path] = Field(default_factory=list, description="compose files, relative to the config file")
    url: AnyHttpUrl | None = Field(default=None, description="an already-running target; no stack is started")
    kubernetes: KubernetesConfig | None = Field(
        default=None, description="deploy manifests to a Kubernetes cluster instead of a compose stack")
    entry_service: str | None = Field(
        default=None, description="compose service (or Kubernetes Service) that receives the traffic (default: the "
                                  "only service that publishes a port; demo: lb)")
    entry_port: int | None = Field(
        default=None, ge=1, le=65535,
        description="container port of the entry service (Kubernetes: the Service's port; default: the only port "
                    "it publishes; demo: 80)")
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

    @field_validator("kubernetes")
    @classmethod
    def _one_target(cls, value: KubernetesConfig | None, info: ValidationInfo) -> KubernetesConfig | None:
        if value is not None and info.data.get("compose"):
            raise ValueError("set either stack.compose or stack.kubernetes, not both")
        return value

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
    max_requests_lost_percent: float | None = Field(default=None, ge=0, le=100,
                                                    description="default: twice max_error_rate_percent")


class ToxiproxySetting(_Section):
    """Where Toxiproxy's HTTP API is: a compose service (and its API's container port), or a URL."""

    service: str | None = Field(default=None, description="compose service that runs Toxiproxy")
    port: int = Field(default=8474, ge=1, le=65535, description="container port of its HTTP API")
    url: AnyHttpUrl | None = Field(default=None, description="the API's URL (an external target's Toxiproxy)")

    @model_validator(mode="after")
    def _service_or_url(self) -> ToxiproxySetting:
        if (self.service is None) == (self.url is None):
            raise ValueError("set either service (with port, default 8474) or url, e.g. {service: toxiproxy}")
        return self


class ChaosConfig(_Section):
    enabled: bool = True
    tool: Literal["chaostoolkit", "chaos-mesh"] = Field(
        default="chaostoolkit",
        description="how the built-in scenarios inject their faults: chaostoolkit (Docker, Toxiproxy and Kubernetes "
                    "actions) or chaos-mesh (network-latency, network-partition, cpu-stress, memory-pressure and "
                    "dns-failure as Chaos Mesh resources; needs stack.kubernetes)")
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
    min_coverage: float = Field(
        default=100.0, ge=0, le=100,
        description="promotion needs this share of the configured scenarios conclusive (pass or fail), percent",
    )
    mix: dict[str, int] = Field(default_factory=dict, description="load mix during chaos (default: load.mix)")
    toxiproxy: ToxiproxySetting | None = Field(
        default=None, description="Toxiproxy's API (default: the one service that publishes port 8474)"
    )
    helper_image: str | None = Field(
        default=None, min_length=1,
        description="image of the helper containers for network faults (needs sh, iptables, tc); "
        "default $BLISSFUL_HELPER_IMAGE, else blissful/base:bookworm",
    )
    dependencies: dict[str, list[str]] = Field(
        default_factory=dict,
        description="dependency -> the endpoints that use it ('METHOD /path' as in the mix), e.g. "
                    "postgres: ['GET /greetings']; the capability rules compare affected and unaffected endpoints",
    )
    liveness_paths: list[str] = Field(
        default_factory=lambda: ["/live"], description="probe paths that must stay 200 while a dependency is down"
    )
    degraded_header: str | None = Field(
        default=None, description="response header the service sets on degraded answers (e.g. X-Degraded)"
    )

    @field_validator("dependencies")
    @classmethod
    def _endpoint_syntax(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for dependency, endpoints in value.items():
            for endpoint in endpoints:
                method, _, path = endpoint.partition(" ")
                if not method.isalpha() or not method.isupper() or not path.startswith("/"):
                    raise ValueError(f"{dependency}: endpoint {endpoint!r} must be 'METHOD /path', "
                                     "e.g. 'GET /greetings' (as in the load mix)")
        return value


class ComparisonThresholds(_Section):
    p95_latency_ms: float = Field(default=200.0, gt=0)
    p99_latency_ms: float = Field(default=500.0, gt=0)
    min_throughput_rps: float = Field(default=1000.0, ge=0)
    max_error_rate_percent: float = Field(default=1.0, ge=0, le=100)
    max_cpu_percent: float = Field(default=80.0, gt=0)
    max_memory_mb: float = Field(default=1024.0, gt=0)
    min_resilience_score: float = Field(default=80.0, ge=0, le=100)


class VersionConfig(_Section):
    """One side of a comparison ("old" or "new"): an image, a git ref built into one, and/or compose variables."""

    image: str | None = Field(default=None, description="image reference used for comparison.services")
    ref: str | None = Field(default=None, description="git ref of the service repo, built with `docker build`")
    repo: Path | None = Field(default=None, description="git repository of ref (default: the config file's repo)")
    context: Path = Field(default=Path("."), description="build context inside the repository (for ref)")
    dockerfile: Path | None = Field(default=None, description="Dockerfile inside the context (default: Dockerfile)")
    build_args: dict[str, str] = Field(default_factory=dict, description="--build-arg values (for ref)")
    env: dict[str, str] = Field(default_factory=dict, description="compose variables of this side")
    label: str | None = Field(default=None, description="name shown in reports (default: image, ref or side)")

    @field_validator("ref", "image")
    @classmethod
    def _not_blank(cls, value: str | None) -> str | None:
        if value is not None and not value.strip():
            raise ValueError("must not be empty")
        return value

    @model_validator(mode="after")
    def _image_or_ref(self) -> VersionConfig:
        if self.image is not None and self.ref is not None:
            raise ValueError("give either image or ref, not both")
        return self


def _check_metric_names(names: list[str]) -> list[str]:
    from pytest_blissful.grading.comparison import ComparisonError, check_metric_names

    try:
        check_metric_names(names)
    except ComparisonError as exc:
        raise ValueError(str(exc)) from None
    return names


def _default_critical_metrics() -> list[str]:
    from pytest_blissful.grading.comparison import DEFAULT_CRITICAL_METRICS

    return list(DEFAULT_CRITICAL_METRICS)


class ComparisonConfig(_Section):
    warmup_duration: Seconds = Field(default=30.0, ge=0)
    test_duration: Seconds = Field(default=300.0, gt=0)
    concurrent_users: int = Field(default=100, ge=1)
    include_chaos: bool = False
    thresholds: ComparisonThresholds = Field(default_factory=ComparisonThresholds)
    auto_promote: bool = False
    critical_metrics: Annotated[list[str], AfterValidator(_check_metric_names)] = Field(
        default_factory=_default_critical_metrics
    )
    old: VersionConfig | None = Field(default=None, description="the running version (default for the demo)")
    new: VersionConfig | None = Field(default=None, description="the candidate version")
    services: list[str] = Field(
        default_factory=list, description="compose services that run the version's image (for image / ref)"
    )
    block_duration: Seconds = Field(default=1.0, gt=0, description="length of one block of the statistics")
    tolerance_percent: float = Field(
        default=5.0, ge=0, le=100, description="practical effect: smaller relative shifts are 'no difference'"
    )
    mix: dict[str, int] = Field(default_factory=dict, description="load mix (default: load.mix, demo: its mix)")
    build_timeout: Seconds = Field(default=600.0, gt=0, description="limit of one `docker build` (ref)")


class CanaryStep(_Section):
    weight: int = Field(ge=0, le=100)
    pause: Seconds | None = None


def _check_condition(expression: str | None) -> str | None:
    if expression is None:
        return None
    from pytest_blissful.grading.expressions import ExpressionSyntaxError, parse_expression

    try:
        parse_expression(expression)
    except ExpressionSyntaxError as exc:
        raise ValueError(f"unparseable condition: {exc}") from None
    return expression


Condition = Annotated[str | None, AfterValidator(_check_condition)]


class CanaryMetric(_Section):
    """A metric of the spec's ``canary.analysis``: a name the plugin knows (error-rate, success-rate,
    p50/p90/p95/p99-latency, throughput) with a threshold such as ``"< 1%"``/``"< 200ms"``, or your own
    ``query`` (PromQL) with Argo's ``successCondition``/``failureCondition``."""

    name: str
    threshold: str | None = None
    query: str | None = Field(default=None, description="PromQL; absent or 'custom': the built-in figure for name")
    provider: Literal["blissful", "prometheus"] | None = None
    success_condition: Condition = Field(default=None, alias="successCondition")
    failure_condition: Condition = Field(default=None, alias="failureCondition")

    @field_validator("threshold")
    @classmethod
    def _threshold(cls, value: str | None) -> str | None:
        if value is not None:
            from pytest_blissful.config.argo import parse_metric_threshold

            parse_metric_threshold(value)
        return value


class CanaryAnalysis(_Section):
    interval: Seconds = Field(default=30.0, gt=0)
    count: int | None = Field(default=None, ge=0)
    initial_delay: Seconds = Field(default=0.0, ge=0, alias="initialDelay")
    failure_limit: int = Field(default=0, ge=-1, alias="failureLimit", description="Argo's default: 0")
    inconclusive_limit: int = Field(default=0, ge=0, alias="inconclusiveLimit")
    consecutive_error_limit: int = Field(default=4, ge=0, alias="consecutiveErrorLimit")
    metrics: list[CanaryMetric] = Field(
        default_factory=lambda: [CanaryMetric(name="error-rate", threshold="< 1%"),
                                 CanaryMetric(name="p95-latency", threshold="< 200ms")]
    )


class CanaryConfig(_Section):
    enabled: bool = True
    steps: list[CanaryStep] = Field(
        default_factory=lambda: [CanaryStep(weight=10, pause=120.0), CanaryStep(weight=25, pause=120.0),
                                 CanaryStep(weight=50, pause=300.0), CanaryStep(weight=100)]
    )
    analysis: CanaryAnalysis = Field(default_factory=CanaryAnalysis)
    rollout: Path | None = Field(default=None, description="an Argo Rollout manifest (strategy.canary.steps)")
    analysis_templates: list[Path] = Field(
        default_factory=list, alias="analysisTemplates", description="Argo AnalysisTemplate manifests"
    )
    provider: Literal["auto", "blissful", "prometheus"] = Field(
        default="auto", description="auto: Prometheus when a metric has a PromQL query, else the load timeline"
    )
    rollback_slo: Seconds = Field(default=30.0, gt=0, description="rollback must complete within this")
    max_pause: Seconds | None = Field(default=None, gt=0, description="shorten every timed pause (quick CI runs)")
    load_rate: float = Field(default=100.0, gt=0, description="requests/s sent through the router during a rollout")
    stable_version: str = "1.0.0"
    canary_version: str = "1.1.0"
    image: str | None = Field(
        default=None, description="Kubernetes stack: the new image the Argo Rollout (canary.rollout) rolls out")
    container: str | None = Field(
        default=None, description="Kubernetes stack: the Rollout's container that gets the image (default: first)")
    compose: Path | None = Field(
        default=None, description="compose recipe with services stable, canary, router (+ prometheus); "
                                  "default: the demo's fixtures/demo/canary/compose.yaml"
    )

    @field_validator("steps")
    @classmethod
    def _increasing(cls, steps: list[CanaryStep]) -> list[CanaryStep]:
        previous = None
        for i, step in enumerate(steps):
            if previous is not None and step.weight <= previous:
                raise ValueError(f"steps[{i}].weight {step.weight} does not increase on the previous weight "
                                 f"{previous}; canary weights must go up, e.g. 10, 25, 50, 100")
            previous = step.weight
        return steps


DEFAULT_SLOS = ("p95 < 200ms", "error_rate < 1%")
DEMO_CHAOS_TARGETS = {
    "app": "app1",
    "db": "postgres",
    "db_proxy": "postgres",
    "broker_proxy": "kafka",  # the Toxiproxy proxy in front of the demo's Kafka broker
    "dependency_proxy": "upstream",
    "memory_stress_size": "460M",  # 90% of the demo app's 512 MiB memory limit
}
DEMO_PROBE_PATHS = ("/ready", "/hello")
DEMO_CHAOS_MIX = {
    "GET /hello": 4, "GET /hello/{name}": 2, "GET /greetings": 2, "GET /dependency": 2, "GET /health": 1,
}
DEMO_COMPARE_MIX = {"GET /hello": 3, "GET /hello/{name}": 1, "GET /greetings": 2, "GET /health": 1}
# The demo comparison fits a shared 2-core machine: two stacks at once, a few users, a minute of load.
DEMO_COMPARISON = {
    "warmup_duration": 5.0, "test_duration": 60.0, "concurrent_users": 8, "services": ["app1", "app2"],
    "old": {"env": {"APP_VERSION": "1.0.0"}, "label": "demo 1.0.0"},
    "new": {"env": {"APP_VERSION": "1.1.0"}, "label": "demo 1.1.0"},
    # the demo's own budget (its chaos SLOs' scale): two stacks and the load share two cores here, which puts both
    # versions' p95 at 300-500 ms and 18-40 req/s each (18 in a full CI run); the spec's 200/500 ms and 1000 req/s
    # are for your service
    "thresholds": {"min_throughput_rps": 10.0, "p95_latency_ms": 1000.0, "p99_latency_ms": 2000.0},
    "mix": DEMO_COMPARE_MIX,
}
# which demo endpoints use which dependency (the Toxiproxy proxy names the scenarios fault)
DEMO_CHAOS_DEPENDENCIES = {
    "postgres": ["GET /greetings", "GET /hello/{name}"],
    "redis": ["GET /hello/{name}"],
    "upstream": ["GET /dependency"],
    "kafka": ["GET /hello/{name}"],
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
        return not self.stack.compose and self.stack.url is None and self.stack.kubernetes is None

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
            stack_updates["dependencies"] = ["postgres", "redis", "kafka"]
        for key, value in (("entry_service", "lb"), ("entry_port", 80), ("readiness_path", "/ready")):
            if getattr(self.stack, key) is None:
                stack_updates[key] = value
        if stack_updates:
            object.__setattr__(self, "stack", self.stack.model_copy(update=stack_updates))
        chaos_updates: dict[str, object] = {}
        if not self.chaos.targets:
            chaos_updates = {
                "targets": dict(DEMO_CHAOS_TARGETS),
                "mix": self.chaos.mix or dict(DEMO_CHAOS_MIX),
                "dependencies": self.chaos.dependencies or {k: list(v) for k, v in DEMO_CHAOS_DEPENDENCIES.items()},
                "degraded_header": self.chaos.degraded_header or "X-Degraded",
            }
        if "probe_paths" not in self.chaos.model_fields_set and not self.chaos.probe_paths:
            chaos_updates["probe_paths"] = list(DEMO_PROBE_PATHS)
        if chaos_updates:
            object.__setattr__(self, "chaos", self.chaos.model_copy(update=chaos_updates))
        if "canary" not in self.model_fields_set:
            # the demo's quick rehearsal: the spec's steps and thresholds, pauses and interval shortened
            quick = self.canary.model_copy(update={
                "max_pause": 4.0,
                "analysis": self.canary.analysis.model_copy(update={"interval": 2.0, "initial_delay": 2.0}),
            })
            object.__setattr__(self, "canary", quick)
        self._demo_comparison()

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

    def _demo_comparison(self) -> None:
        """Demo defaults for every comparison key the file leaves out (thresholds key by key)."""
        given = self.comparison.model_dump(exclude_unset=True)
        merged = {**DEMO_COMPARISON, **given}
        merged["thresholds"] = {**DEMO_COMPARISON["thresholds"], **given.get("thresholds", {})}  # type: ignore[dict-item]
        object.__setattr__(self, "comparison", ComparisonConfig.model_validate(merged))

    @property
    def chaos_endpoints(self) -> tuple[str, ...]:
        """The endpoints the chaos load sends (its mix); empty when a locustfile decides."""
        return tuple(self.chaos.mix or self.load.mix)

    def problems(self) -> list[tuple[tuple[str | int, ...], str]]:
        """Checks across sections, as (key path, message): ``chaos.dependencies`` must name endpoints of the
        chaos load mix (when there is one), or their evidence would be silently empty; ``chaos.tool: chaos-mesh``
        needs a Kubernetes stack."""
        found: list[tuple[tuple[str | int, ...], str]] = []
        if self.chaos.tool == "chaos-mesh" and self.stack.kubernetes is None:
            found.append((("chaos", "tool"),
                          "chaos-mesh needs a Kubernetes stack (stack.kubernetes): Chaos Mesh injects faults into a "
                          "cluster's pods; for a compose stack or a URL use tool: chaostoolkit (the default)"))
        known = self.chaos_endpoints
        if not known:
            return found
        for dependency, endpoints in self.chaos.dependencies.items():
            for index, endpoint in enumerate(endpoints):
                if endpoint not in known:
                    found.append((("chaos", "dependencies", dependency, index),
                                  f"unknown endpoint {endpoint!r}: not in the chaos load mix "
                                  f"(known: {', '.join(known)}); fix the name or add it to chaos.mix"))
        return found
