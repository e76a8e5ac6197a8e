"""The canary: section and Argo Rollout/AnalysisTemplate manifests as a rollout plan; bad input names file and key."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_blissful.config.argo import plan_from_config, plan_from_rollout
from pytest_blissful.config.discovery import ConfigError
from pytest_blissful.config.loader import load_config
from pytest_blissful.grading.canary import AnalysisStep, PauseStep, SetWeightStep

DEMO = Path(__file__).resolve().parents[2] / "fixtures" / "demo" / "canary"

SPEC_SECTION = """\
canary:
  enabled: true
  steps:
    - {weight: 10, pause: 2m}
    - {weight: 25, pause: 2m}
    - {weight: 50, pause: 5m}
    - {weight: 100}
  analysis:
    interval: 30s
    failureLimit: 3
    metrics:
      - {name: error-rate, threshold: "< 1%", query: custom}
      - {name: p95-latency, threshold: "< 200ms"}
      - {name: p99-latency, threshold: "< 500ms"}
      - {name: success-rate, threshold: "> 99%"}
"""


def _config(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "blissful.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_spec_section_as_written(tmp_path: Path) -> None:
    cfg = load_config(tmp_path, _config(tmp_path, SPEC_SECTION))
    plan = plan_from_config(cfg.canary, "blissful.yaml", tmp_path)
    assert plan.weights == [10, 25, 50, 100]
    assert [s.duration_s for s in plan.steps if isinstance(s, PauseStep)] == [120.0, 120.0, 300.0]
    metrics = {m.name: m for m in plan.background}
    assert metrics["error-rate"].success_condition == "result < 1.0"
    assert metrics["error-rate"].provider == "blissful" and metrics["error-rate"].query == "error_rate"
    assert metrics["p95-latency"].success_condition == "result < 200.0"
    assert metrics["success-rate"].success_condition == "result > 99.0"
    assert all(m.failure_limit == 3 and m.interval_s == 30.0 for m in plan.background)
    assert plan.rollback_slo_s == 30.0


def test_prometheus_provider_uses_the_spec_promql_scoped_to_the_canary(tmp_path: Path) -> None:
    text = SPEC_SECTION.replace("canary:\n", "canary:\n  provider: prometheus\n")
    cfg = load_config(tmp_path, _config(tmp_path, text))
    plan = plan_from_config(cfg.canary, "blissful.yaml", tmp_path)
    error_rate = plan.background[0]
    assert error_rate.provider == "prometheus"
    assert 'http_requests_total{version="canary",status=~"5.*"}[5m])) or vector(0)' in error_rate.query
    assert error_rate.success_condition == "result[0] < 1.0"


def test_failure_limit_defaults_to_zero_as_in_argo(tmp_path: Path) -> None:
    cfg = load_config(tmp_path, _config(tmp_path, "canary:\n  rollback_slo: 10s\n"))
    assert cfg.canary.analysis.failure_limit == 0
    assert cfg.canary.analysis.consecutive_error_limit == 4
    assert cfg.canary.rollback_slo == 10.0


@pytest.mark.parametrize(
    ("text", "fragment"),
    [
        ("canary:\n  steps:\n    - {weight: 50}\n    - {weight: 25}\n", "canary.steps: *does not increase*"),
        ("canary:\n  steps:\n    - {weight: 150}\n", "canary.steps.0.weight: *less than or equal to 100*"),
        ("canary:\n  analysis:\n    metrics:\n      - {name: error-rate, threshold: 'below 1'}\n",
         "canary.analysis.metrics.0.threshold: *not understood*"),
        ("canary:\n  analysis:\n    metrics:\n      - {name: x, query: up, successCondition: 'result[0] <'}\n",
         "canary.analysis.metrics.0.successCondition: unparseable condition*column 12*"),
    ],
)
def test_bad_spec_section_names_file_line_and_key(tmp_path: Path, text: str, fragment: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(tmp_path, _config(tmp_path, text))
    import fnmatch

    assert any(fnmatch.fnmatch(line.strip(), f"*blissful.yaml:*{fragment}") for line in str(info.value).splitlines()), \
        str(info.value)


def test_demo_manifests_read_verbatim() -> None:
    plan = plan_from_rollout(DEMO / "rollout.yaml", [DEMO / "analysis-template.yaml"])
    assert plan.weights == [10, 25, 50, 100]
    names = [m.name for m in plan.background]
    assert names == ["error-rate", "p95-latency"]
    error_rate = plan.background[0]
    assert error_rate.provider == "prometheus"
    assert '{version="canary",status=~"5.*"}' in error_rate.query  # {{args.version}} substituted
    assert error_rate.interval_s == 5.0 and error_rate.initial_delay_s == 2.0
    assert error_rate.failure_limit == 0 and error_rate.consecutive_error_limit == 4
    assert error_rate.success_condition == "isNaN(result[0]) || result[0] < 1"


TEMPLATE = """\
apiVersion: argoproj.io/v1alpha1
kind: AnalysisTemplate
metadata: {name: t}
spec:
  dryRun: [{metricName: "dry.*"}]
  metrics:
    - name: m
      interval: 10s
      count: "3"
      failureLimit: 2
      inconclusiveLimit: 1
      successCondition: result[0] < 1
      failureCondition: result[0] > 5
      provider: {PROVIDER}
    - name: dry-one
      provider: {prometheus: {query: up}}
"""
ROLLOUT = """\
apiVersion: argoproj.io/v1alpha1
kind: Rollout
metadata: {name: r}
spec:
  strategy:
    canary:
      steps:
        - setWeight: 20
        - pause: {}
        - analysis: {templates: [{templateName: t}]}
        - setWeight: WEIGHT
"""


def _manifests(tmp_path: Path, provider: str = "{prometheus: {query: up}}", weight: str = "60",
               template: str = TEMPLATE) -> tuple[Path, Path]:
    rollout = tmp_path / "rollout.yaml"
    rollout.write_text(ROLLOUT.replace("WEIGHT", weight), encoding="utf-8")
    tmpl = tmp_path / "template.yaml"
    tmpl.write_text(template.replace("{PROVIDER}", provider), encoding="utf-8")
    return rollout, tmpl


def test_template_fields(tmp_path: Path) -> None:
    plan = plan_from_rollout(*_manifests(tmp_path)[:1], [_manifests(tmp_path)[1]])
    assert isinstance(plan.steps[1], PauseStep) and plan.steps[1].duration_s is None
    analysis = plan.steps[2]
    assert isinstance(analysis, AnalysisStep) and analysis.templates == ("t",)
    m, dry = analysis.metrics
    assert (m.count, m.failure_limit, m.inconclusive_limit, m.failure_condition) == (3, 2, 1, "result[0] > 5")
    assert not m.dry_run and dry.dry_run
    assert isinstance(plan.steps[3], SetWeightStep)


def test_unknown_provider_names_file_and_key(tmp_path: Path) -> None:
    rollout, tmpl = _manifests(tmp_path, provider="{datadog: {query: x}}")
    key = r"template.yaml: spec.metrics\[0\].provider.datadog"
    with pytest.raises(ConfigError, match=rf"{key}: unknown metric provider"):
        plan_from_rollout(rollout, [tmpl])


def test_unparseable_condition_names_file_and_key(tmp_path: Path) -> None:
    rollout, tmpl = _manifests(tmp_path, template=TEMPLATE.replace("result[0] < 1", "result[0] << 1"))
    with pytest.raises(ConfigError, match=r"template.yaml: spec.metrics\[0\].successCondition: unparseable"):
        plan_from_rollout(rollout, [tmpl])


@pytest.mark.parametrize(("weight", "problem"), [("10", "does not increase"), ("120", "is outside 0..100")])
def test_bad_weights_name_file_and_key(tmp_path: Path, weight: str, problem: str) -> None:
    rollout, tmpl = _manifests(tmp_path, weight=weight)
    key = r"rollout.yaml: spec.strategy.canary.steps\[3\].setWeight"
    with pytest.raises(ConfigError, match=rf"{key}: {weight} {problem}"):
        plan_from_rollout(rollout, [tmpl])


def test_missing_template_names_the_reference(tmp_path: Path) -> None:
    rollout, _ = _manifests(tmp_path)
    with pytest.raises(ConfigError, match=r"steps\[2\].analysis.templates\[0\].templateName: no AnalysisTemplate"):
        plan_from_rollout(rollout, [])


WEB_TEMPLATE = DEMO / "analysis-template-web.yaml"


def test_web_template_reading_the_plugins_figures_is_graded_locally(tmp_path: Path) -> None:
    """The template the Argo driver serves through the web provider is, locally, the blissful figure with the
    same conditions: both sides grade one template."""
    rollout = tmp_path / "rollout.yaml"
    rollout.write_text(ROLLOUT.replace("templateName: t", "templateName: error-rate").replace("WEIGHT", "60"))
    plan = plan_from_rollout(rollout, [WEB_TEMPLATE])
    analysis = plan.steps[2]
    assert isinstance(analysis, AnalysisStep)
    (metric,) = analysis.metrics
    assert (metric.provider, metric.query) == ("blissful", "error_rate")
    assert (metric.success_condition, metric.failure_condition) == ("result < 1", "result >= 5")
    assert (metric.interval_s, metric.count) == (1.0, 2)
    from pytest_blissful.grading.canary import Phase, evaluate_result

    assert [evaluate_result(v, metric)[0] for v in (0.2, 3.0, 5.0)] == [
        Phase.SUCCESSFUL, Phase.INCONCLUSIVE, Phase.FAILED]


@pytest.mark.parametrize(("provider", "key", "problem"), [
    ('{web: {url: "http://metrics.example/x", jsonPath: "{$.value}"}}', r"provider.web.url",
     "graded locally only when it reads the plugin's figures"),
    ('{web: {url: "{{args.blissful-metrics-url}}/figure/latency", jsonPath: "{$.value}"}}', r"provider.web.url",
     "with a figure among error_rate"),
    ('{web: {url: "{{args.blissful-metrics-url}}/figure/p95", jsonPath: "{$.data}"}}', r"provider.web.jsonPath",
     r"read it with jsonPath: \"\{\$.value\}\""),
    ("{web: {jsonPath: x}}", r"provider.web.url", "missing"),
])
def test_web_metrics_the_plugin_cannot_answer_name_file_and_key(tmp_path: Path, provider: str, key: str,
                                                                  problem: str) -> None:
    rollout, tmpl = _manifests(tmp_path, provider=provider)
    with pytest.raises(ConfigError, match=rf"template.yaml: spec.metrics\[0\].{key}: .*{problem}"):
        plan_from_rollout(rollout, [tmpl])
