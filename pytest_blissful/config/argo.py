"""Argo Rollouts manifests read verbatim, and the spec's ``canary:`` section, as one :class:`RolloutPlan`.

* ``Rollout``: ``spec.strategy.canary.steps`` (``setWeight``, ``pause`` with or without ``duration``,
  ``analysis`` with ``templates[].templateName`` and ``args``) and the background ``spec.strategy.canary.analysis``
  (``templates``, ``args``, ``startingStep``);
* ``AnalysisTemplate`` / ``ClusterAnalysisTemplate``: ``spec.args`` (with ``value`` defaults), ``spec.dryRun``
  (``metricName`` patterns), ``spec.metrics[]`` with ``provider.prometheus.query``, ``successCondition``,
  ``failureCondition``, ``interval``, ``count``, ``initialDelay``, ``failureLimit``, ``inconclusiveLimit``,
  ``consecutiveErrorLimit`` and ``consecutiveSuccessLimit``.

``{{args.NAME}}`` in a query is replaced by the argument's value.  The plugin supplies ``version`` and
``canary-version`` (the canary's ``version`` label in the local Prometheus: ``canary``) and ``stable-version``
(``stable``), so a template written as ``http_requests_total{version="{{args.version}}"}`` is scoped to the
canary.  ``provider.prometheus.address`` is ignored locally: the plugin's own Prometheus answers.

A ``web`` metric that reads the plugin's figures (``url: "{{args.blissful-metrics-url}}/figure/error_rate"``,
``jsonPath: "{$.value}"``) is the same template on both sides: locally it is the ``blissful`` provider's figure;
on Kubernetes the Argo Rollouts controller fetches it from the plugin's metric endpoint
(:mod:`pytest_blissful.flows.canary_web`).  Other ``web`` URLs cannot be graded locally and are an error.

Every error names the file and the key, e.g. ``rollout.yaml: spec.strategy.canary.steps[2].setWeight: ...``.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

import yaml

from pytest_blissful._durations import parse_duration
from pytest_blissful.config.discovery import ConfigError
from pytest_blissful.grading.canary import (
    DEFAULT_CONSECUTIVE_ERROR_LIMIT,
    AnalysisStep,
    MetricSpec,
    PauseStep,
    PlanError,
    RolloutPlan,
    RolloutStep,
    SetWeightStep,
)
from pytest_blissful.grading.expressions import ExpressionSyntaxError, parse_expression

__all__ = [
    "BUILTIN_ARGS",
    "BUILTIN_FIGURES",
    "FIGURE_PATH",
    "METRICS_URL_ARG",
    "load_manifests",
    "parse_metric_threshold",
    "plan_from_config",
    "plan_from_rollout",
    "template_metrics",
]

#: Arguments the local driver supplies to every template.
BUILTIN_ARGS: Final = {"version": "canary", "canary-version": "canary", "stable-version": "stable"}

#: metric names of the spec's canary section → (figure of the blissful provider, PromQL scoped to the canary)
BUILTIN_FIGURES: Final[dict[str, tuple[str, str]]] = {
    # the spec's PromQL, scoped to the canary; `or vector(0)`: without any 5xx the numerator has no series at all
    "error-rate": ("error_rate", '(sum(rate(http_requests_total{version="{{args.version}}",status=~"5.*"}[5m])) '
                                 'or vector(0)) / sum(rate(http_requests_total{version="{{args.version}}"}[5m]))'
                                 ' * 100'),
    "success-rate": ("success_rate", '(1 - (sum(rate(http_requests_total{version="{{args.version}}",status=~"5.*"}'
                                     '[5m])) or vector(0)) / sum(rate(http_requests_total{version="{{args.version}}"}'
                                     '[5m]))) * 100'),
    "throughput": ("rps", 'sum(rate(http_requests_total{version="{{args.version}}"}[1m]))'),
    **{f"p{q}-latency": (f"p{q}", f"histogram_quantile(0.{q}, sum(rate(http_request_duration_seconds_bucket"
                                  f'{{version="{{{{args.version}}}}"}}[5m])) by (le)) * 1000')
       for q in ("50", "90", "95", "99")},
}
_THRESHOLD: Final = re.compile(r"^\s*(<=|>=|<|>|==|!=)\s*(-?\d+(?:\.\d+)?)\s*(%|ms|s|/s|rps)?\s*$")
_KNOWN_PROVIDERS: Final = ("prometheus", "blissful", "web")
#: the AnalysisTemplate argument that carries the plugin's metric endpoint (filled in by the Argo driver)
METRICS_URL_ARG: Final = "blissful-metrics-url"
#: ``{{args.blissful-metrics-url}}/figure/<figure>``: one figure of the plugin, answered as ``{"value": ...}``
FIGURE_PATH: Final = "/figure/"
_PLUGIN_URL: Final = re.compile(r"^\{\{\s*args\." + re.escape(METRICS_URL_ARG) + r"\s*\}\}" + re.escape(FIGURE_PATH)
                                + r"(error_rate|success_rate|rps|p\d{1,2}(?:\.\d+)?)$")
_PLUGIN_JSONPATH: Final = "{$.value}"
_ARG: Final = re.compile(r"\{\{\s*args\.([A-Za-z0-9_.-]+)\s*\}\}")


def parse_metric_threshold(text: str) -> tuple[str, float, str]:
    """``"< 1%"`` → (``<``, 1.0, ``%``); ``"< 0.2s"`` → (``<``, 200.0, ``ms``). Raises ValueError with an example."""
    m = _THRESHOLD.match(text)
    if m is None:
        raise ValueError(f"threshold {text!r} is not understood: write an operator and a number with an optional "
                         f"unit, e.g. '< 1%', '< 200ms', '> 99%'")
    op, number, unit = m.group(1), float(m.group(2)), m.group(3) or ""
    if unit == "s":
        number, unit = number * 1000.0, "ms"
    return op, number, unit


# ------------------------------------------------------------------------------------------- spec section
def plan_from_config(canary: Any, source: str = "blissful.yaml", base_dir: Path | None = None) -> RolloutPlan:
    """The plan of ``canary:`` (a :class:`~pytest_blissful.config.schema.CanaryConfig`), or of its Argo manifests
    when ``canary.rollout`` is set."""
    if canary.rollout is not None:
        base = base_dir or Path.cwd()
        rollout = _resolve(canary.rollout, base)
        templates = [_resolve(p, base) for p in canary.analysis_templates]
        plan = plan_from_rollout(rollout, templates, provider=canary.provider)
        return RolloutPlan(plan.steps, plan.background, plan.source, canary.rollback_slo)
    analysis = canary.analysis
    metrics = []
    for i, metric in enumerate(analysis.metrics):
        where = f"{source}: canary.analysis.metrics[{i}]"
        metrics.append(_spec_metric(metric, analysis, canary.provider, where))
    steps: list[RolloutStep] = []
    for step in canary.steps:
        steps.append(SetWeightStep(step.weight))
        if step.pause is not None:
            steps.append(PauseStep(step.pause))
    try:
        return RolloutPlan(tuple(steps), tuple(metrics), f"{source}: canary", canary.rollback_slo)
    except PlanError as exc:
        raise ConfigError(str(exc)) from None


def _spec_metric(metric: Any, analysis: Any, provider: str, where: str) -> MetricSpec:
    builtin = BUILTIN_FIGURES.get(metric.name)
    query = metric.query if metric.query not in (None, "custom") else None
    chosen = metric.provider or ("prometheus" if query else "blissful" if provider == "auto" else provider)
    if query is None:
        if builtin is None:
            known = ", ".join(BUILTIN_FIGURES)
            raise ConfigError(f"{where}.name: {metric.name!r} is not a built-in metric ({known}); give it a "
                              f"PromQL query and a successCondition")
        query = builtin[0] if chosen == "blissful" else builtin[1]
    elif chosen == "blissful":
        raise ConfigError(f"{where}.query: the blissful provider reads built-in figures only; "
                          f"use provider: prometheus for PromQL")
    if chosen == "prometheus":
        query = _ARG.sub(lambda m: BUILTIN_ARGS.get(m.group(1), m.group(0)), query)
    success, failure = metric.success_condition, metric.failure_condition
    if metric.threshold is not None and success is None and failure is None:
        op, number, _unit = parse_metric_threshold(metric.threshold)
        value = "result" if chosen == "blissful" else "result[0]"
        success = f"{value} {op} {number!r}"
    if success is None and failure is None:
        raise ConfigError(f"{where}: give a threshold (e.g. '< 1%') or a successCondition/failureCondition")
    return MetricSpec(
        name=metric.name, provider=chosen, query=query, success_condition=success, failure_condition=failure,
        interval_s=analysis.interval, count=analysis.count or None, initial_delay_s=analysis.initial_delay,
        failure_limit=analysis.failure_limit, inconclusive_limit=analysis.inconclusive_limit,
        consecutive_error_limit=analysis.consecutive_error_limit, source=where,
    )


def _resolve(path: Path, base: Path) -> Path:
    return path if path.is_absolute() else base / path


# ------------------------------------------------------------------------------------------- manifests
def load_manifests(paths: Sequence[Path]) -> list[tuple[Path, int, dict[str, Any]]]:
    """Every YAML document of ``paths`` as (file, document index, mapping)."""
    out = []
    for path in paths:
        if not path.is_file():
            raise ConfigError(f"{path}: no such file (an Argo manifest named in canary:)")
        try:
            docs = list(yaml.safe_load_all(path.read_text(encoding="utf-8")))
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML: {exc}") from None
        for i, doc in enumerate(docs):
            if doc is None:
                continue
            if not isinstance(doc, dict):
                raise ConfigError(f"{path}: document {i + 1} is not a mapping")
            out.append((path, i, doc))
    return out


class _Where:
    def __init__(self, path: Path, doc: int, multi: bool) -> None:
        self.prefix = f"{path}" + (f" (document {doc + 1})" if multi else "")

    def error(self, key: str, problem: str) -> ConfigError:
        return ConfigError(f"{self.prefix}: {key}: {problem}")


def plan_from_rollout(rollout: Path, templates: Sequence[Path], *, provider: str = "auto") -> RolloutPlan:
    """A plan from an Argo ``Rollout`` file and the ``AnalysisTemplate`` files it refers to."""
    docs = load_manifests([rollout, *templates])
    multi = len([d for d in docs if d[0] == rollout]) > 1
    rollouts = [(p, i, d) for p, i, d in docs if d.get("kind") == "Rollout"]
    if not rollouts:
        raise ConfigError(f"{rollout}: kind: no 'Rollout' document found")
    r_path, r_index, r_doc = rollouts[0]
    where = _Where(r_path, r_index, multi)
    by_name: dict[str, tuple[_Where, dict[str, Any]]] = {}
    for path, index, doc in docs:
        if doc.get("kind") in ("AnalysisTemplate", "ClusterAnalysisTemplate"):
            name = str(_get(doc, "metadata", "name") or "")
            by_name[name] = (_Where(path, index, len([d for d in docs if d[0] == path]) > 1), doc)
    canary = _get(r_doc, "spec", "strategy", "canary")
    if not isinstance(canary, dict):
        raise where.error("spec.strategy.canary", "missing: only the canary strategy is supported")
    raw_steps = canary.get("steps") or []
    if not isinstance(raw_steps, list):
        raise where.error("spec.strategy.canary.steps", "must be a list")
    steps: list[RolloutStep] = []
    for i, raw in enumerate(raw_steps):
        key = f"spec.strategy.canary.steps[{i}]"
        if not isinstance(raw, dict) or len(raw) != 1:
            raise where.error(key, "each step is one of setWeight, pause, analysis")
        kind, body = next(iter(raw.items()))
        if kind == "setWeight":
            if isinstance(body, bool) or not isinstance(body, int):
                raise where.error(f"{key}.setWeight", f"must be an integer percentage, got {body!r}")
            steps.append(SetWeightStep(body))
        elif kind == "pause":
            steps.append(PauseStep(_pause(body, where, f"{key}.pause")))
        elif kind == "analysis":
            metrics = _analysis_ref(body, by_name, where, f"{key}.analysis", provider)
            names = tuple(str(t.get("templateName")) for t in body.get("templates", []))
            steps.append(AnalysisStep(tuple(metrics), names))
        else:
            raise where.error(f"{key}.{kind}", "unsupported step (supported: setWeight, pause, analysis)")
    background: list[MetricSpec] = []
    if canary.get("analysis") is not None:
        background = _analysis_ref(canary["analysis"], by_name, where, "spec.strategy.canary.analysis", provider)
    try:
        return RolloutPlan(tuple(steps), tuple(background), where.prefix)
    except PlanError as exc:
        raise ConfigError(str(exc).replace(": steps[", ": spec.strategy.canary.steps[")) from None


def _get(doc: Any, *keys: str) -> Any:
    for k in keys:
        if not isinstance(doc, dict):
            return None
        doc = doc.get(k)
    return doc


def _pause(body: Any, where: _Where, key: str) -> float | None:
    if body in (None, {}):
        return None
    if not isinstance(body, dict):
        raise where.error(key, f"must be a mapping such as {{duration: 30s}}, got {body!r}")
    duration = body.get("duration")
    if duration is None:
        return None
    try:
        return parse_duration(duration)
    except ValueError as exc:
        raise where.error(f"{key}.duration", str(exc)) from None


def _analysis_ref(body: Any, by_name: Mapping[str, tuple[_Where, dict[str, Any]]], where: _Where, key: str,
                  provider: str) -> list[MetricSpec]:
    if not isinstance(body, dict) or not isinstance(body.get("templates"), list) or not body["templates"]:
        raise where.error(f"{key}.templates", "needs at least one {templateName: NAME}")
    args: dict[str, str] = dict(BUILTIN_ARGS)
    for j, arg in enumerate(body.get("args") or []):
        if not isinstance(arg, dict) or "name" not in arg:
            raise where.error(f"{key}.args[{j}]", "needs name and value")
        if "value" in arg:
            args[str(arg["name"])] = str(arg["value"])
        elif arg["name"] not in args:
            raise where.error(f"{key}.args[{j}].valueFrom", "only literal values are supported locally")
    metrics: list[MetricSpec] = []
    for j, ref in enumerate(body["templates"]):
        name = str(ref.get("templateName")) if isinstance(ref, dict) else ""
        if name not in by_name:
            known = ", ".join(sorted(by_name)) or "none given"
            raise where.error(f"{key}.templates[{j}].templateName",
                              f"no AnalysisTemplate named {name!r} in canary.analysisTemplates (found: {known})")
        t_where, doc = by_name[name]
        metrics.extend(_template_metrics(doc, t_where, args, provider))
    return metrics


def template_metrics(doc: dict[str, Any], source: str) -> list[MetricSpec]:
    """The metrics of one AnalysisTemplate document as the plugin grades them (``source`` names it in errors)."""
    return _template_metrics(doc, _Where(Path(source), 0, False), BUILTIN_ARGS, "auto")


def _template_metrics(doc: dict[str, Any], where: _Where, given: Mapping[str, str], provider: str) -> list[MetricSpec]:
    spec = doc.get("spec") or {}
    args = dict(given)
    args.setdefault(METRICS_URL_ARG, f"{{{{args.{METRICS_URL_ARG}}}}}")  # the Argo driver fills it in
    for j, arg in enumerate(spec.get("args") or []):
        name = str(arg.get("name", ""))
        if name not in args:
            if "value" not in arg:
                raise where.error(f"spec.args[{j}]", f"argument {name!r} has no value and the rollout gives none")
            args[name] = str(arg["value"])
    dry_patterns = []
    for j, entry in enumerate(spec.get("dryRun") or []):
        try:
            dry_patterns.append(re.compile(str(entry["metricName"])))
        except (KeyError, TypeError, re.error) as exc:
            raise where.error(f"spec.dryRun[{j}].metricName", f"not a valid pattern: {exc}") from None
    raw_metrics = spec.get("metrics")
    if not isinstance(raw_metrics, list) or not raw_metrics:
        raise where.error("spec.metrics", "needs at least one metric")
    out = []
    for i, m in enumerate(raw_metrics):
        key = f"spec.metrics[{i}]"
        if not isinstance(m, dict) or not m.get("name"):
            raise where.error(key, "each metric needs a name")
        prov = m.get("provider")
        if not isinstance(prov, dict) or len(prov) != 1:
            raise where.error(f"{key}.provider", "needs exactly one provider, e.g. prometheus: {query: ...}")
        kind, body = next(iter(prov.items()))
        if kind not in _KNOWN_PROVIDERS:
            raise where.error(f"{key}.provider.{kind}",
                              f"unknown metric provider {kind!r} (supported here: {', '.join(_KNOWN_PROVIDERS)})")
        chosen = kind if provider in ("auto", kind) else provider
        if kind == "web":
            query, chosen = _plugin_figure(body, where, f"{key}.provider.web"), "blissful"
        elif not isinstance(body, dict) or not isinstance(body.get("query"), str):
            raise where.error(f"{key}.provider.{kind}.query", "missing")
        else:
            query = _substitute(body["query"], args, where, f"{key}.provider.{kind}.query")
        for cond in ("successCondition", "failureCondition"):
            if m.get(cond) is not None:
                try:
                    parse_expression(str(m[cond]))
                except ExpressionSyntaxError as exc:
                    raise where.error(f"{key}.{cond}", f"unparseable condition: {exc}") from None
        out.append(MetricSpec(
            name=str(m["name"]), provider=chosen, query=query,
            success_condition=_opt_str(m.get("successCondition")),
            failure_condition=_opt_str(m.get("failureCondition")),
            interval_s=_opt_duration(m.get("interval"), where, f"{key}.interval"),
            count=_opt_int(m.get("count"), where, f"{key}.count"),
            initial_delay_s=_opt_duration(m.get("initialDelay"), where, f"{key}.initialDelay") or 0.0,
            failure_limit=_opt_int(m.get("failureLimit"), where, f"{key}.failureLimit", 0),
            inconclusive_limit=_opt_int(m.get("inconclusiveLimit"), where, f"{key}.inconclusiveLimit", 0),
            consecutive_error_limit=_opt_int(m.get("consecutiveErrorLimit"), where, f"{key}.consecutiveErrorLimit",
                                             DEFAULT_CONSECUTIVE_ERROR_LIMIT),
            consecutive_success_limit=_opt_int(m.get("consecutiveSuccessLimit"), where,
                                               f"{key}.consecutiveSuccessLimit"),
            dry_run=any(p.fullmatch(str(m["name"])) for p in dry_patterns),
            source=f"{where.prefix}: {key}",
        ))
    return out


def _plugin_figure(body: Any, where: _Where, key: str) -> str:
    """The figure a ``web`` metric reads from the plugin (locally: the blissful provider's figure)."""
    url = body.get("url") if isinstance(body, dict) else None
    if not isinstance(url, str):
        raise where.error(f"{key}.url", "missing")
    found = _PLUGIN_URL.match(url.strip())
    if found is None:
        raise where.error(f"{key}.url", f"{url!r}: a web metric is graded locally only when it reads the plugin's "
                          f"figures: '{{{{args.{METRICS_URL_ARG}}}}}{FIGURE_PATH}<figure>' with a figure among "
                          "error_rate, success_rate, rps, p50..p99")
    json_path = str(body.get("jsonPath", "")).replace(" ", "")
    if json_path != _PLUGIN_JSONPATH:
        raise where.error(f"{key}.jsonPath", f"{body.get('jsonPath')!r}: the plugin answers {{\"value\": ...}}; "
                          f"read it with jsonPath: \"{_PLUGIN_JSONPATH}\"")
    return found.group(1)


def _substitute(query: str, args: Mapping[str, str], where: _Where, key: str) -> str:
    def repl(m: re.Match[str]) -> str:
        name = m.group(1)
        if name not in args:
            raise where.error(key, f"{{{{args.{name}}}}} is not a known argument ({', '.join(sorted(args))})")
        return args[name]

    return _ARG.sub(repl, query)


def _opt_str(value: Any) -> str | None:
    return None if value is None else str(value)


def _opt_duration(value: Any, where: _Where, key: str) -> float | None:
    if value is None or value == "":
        return None
    try:
        return parse_duration(value)
    except ValueError as exc:
        raise where.error(key, str(exc)) from None


def _opt_int(value: Any, where: _Where, key: str, default: int | None = None) -> Any:
    if value is None:
        return default
    try:
        if isinstance(value, bool):
            raise ValueError
        return int(str(value))
    except ValueError:
        raise where.error(key, f"must be an integer, got {value!r}") from None
