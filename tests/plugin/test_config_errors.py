"""Bad configuration is a usage error (exit 4) naming the file, key and line, never a traceback."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.usefixtures("isolated_state")


def _run(pytester: pytest.Pytester, *args: str) -> pytest.RunResult:
    pytester.makepyfile("def test_ok(): pass")
    return pytester.runpytest(*args)


def _assert_usage_error(result: pytest.RunResult, *patterns: str) -> None:
    assert result.ret == pytest.ExitCode.USAGE_ERROR, result.stdout.str() + result.stderr.str()
    result.stderr.fnmatch_lines(list(patterns))
    assert "Traceback" not in result.stderr.str() + result.stdout.str()


def test_malformed_yaml_names_file_line_and_column(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", blissful="stack:\n  compose: [a.yaml\nload:\n  users: 5\n")
    result = _run(pytester)
    _assert_usage_error(result, "*blissful.yaml:3:*invalid YAML*")


def test_unknown_key_names_key_and_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", blissful="load:\n  users: 5\n  duraton: 30s\n")
    result = _run(pytester)
    _assert_usage_error(result, "*blissful.yaml:3: load.duraton: unknown key*")


def test_wrong_type_names_key_and_line(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", blissful="stack:\n  entry_port: 80\nload:\n  users: many\n")
    result = _run(pytester)
    _assert_usage_error(result, "*blissful.yaml:4: load.users: *valid integer*")


def test_invalid_duration_is_explained(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", blissful="chaos:\n  default_duration: 2 minutes\n")
    result = _run(pytester)
    _assert_usage_error(result, "*blissful.yaml:2: chaos.default_duration: invalid duration*e.g. '500ms'*")


def test_top_level_must_be_a_mapping(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", blissful="- stack\n- load\n")
    _assert_usage_error(_run(pytester), "*blissful.yaml:1: the top level must be a mapping*")


def test_explicit_config_path_must_exist(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "--blissful-config", "nope.yaml")
    _assert_usage_error(result, "*--blissful-config: no such file: *nope.yaml*")


def test_pyproject_section_is_validated(pytester: pytest.Pytester) -> None:
    pytester.makefile(".toml", pyproject="[tool.blissful.load]\nusers = 0\n")
    _assert_usage_error(_run(pytester), "*pyproject.toml: tool.blissful.load.users: *greater than or equal to 1*")


def test_original_infra_sections_are_accepted_unchanged(pytester: pytest.Pytester) -> None:
    pytester.makefile(
        ".yaml",
        blissful="""
stack:
  kubernetes: {manifests: [k8s]}  # chaos-mesh needs a Kubernetes stack
chaos:
  enabled: true
  tool: chaos-mesh
  scenarios: [network-latency, pod-kill, kafka-down, db-latency]
  default_duration: 2m
  load_during_chaos: 50
  slos:
    max_error_rate_percent: 5
    max_p99_latency_ms: 2000
    max_recovery_time_s: 60
  abort_on_critical_failure: true
comparison:
  warmup_duration: 30s
  test_duration: 5m
  concurrent_users: 100
  include_chaos: true
  thresholds:
    p95_latency_ms: 200
    p99_latency_ms: 500
    min_throughput_rps: 1000
    max_error_rate_percent: 1
    max_cpu_percent: 80
    max_memory_mb: 1024
    min_resilience_score: 80
  auto_promote: false
  critical_metrics: [p95_latency_ms, error_rate_percent, resilience_score]
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
""",
    )
    pytester.makepyfile(
        """
        def test_values(blissful_config):
            assert blissful_config.chaos.default_duration == 120
            assert blissful_config.comparison.test_duration == 300
            assert blissful_config.canary.analysis.failure_limit == 3
            assert [s.weight for s in blissful_config.canary.steps] == [10, 25, 50, 100]
            assert blissful_config.canary.steps[2].pause == 300
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_an_unknown_chaos_tool_is_a_usage_error_naming_the_tools(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", blissful="chaos:\n  tool: litmus\n")
    _assert_usage_error(_run(pytester), "*blissful.yaml:2: chaos.tool: Input should be 'chaostoolkit' or 'chaos-mesh'*")


def test_chaos_mesh_without_a_kubernetes_stack_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", blissful="stack:\n  compose: [compose.yaml]\nchaos:\n  tool: chaos-mesh\n")
    _assert_usage_error(_run(pytester), "*blissful.yaml:4: chaos.tool: chaos-mesh needs a Kubernetes stack "
                                        "(stack.kubernetes)*")


def test_no_config_means_the_embedded_demo_stack(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(
        """
        def test_values(blissful_config):
            assert blissful_config.uses_demo_stack
            assert blissful_config.source is None
            assert blissful_config.slos == ["p95 < 200ms", "error_rate < 1%"]
        """
    )
    pytester.runpytest().assert_outcomes(passed=1)


def test_bad_url_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makepyfile("def test_x(blissful_config): pass")
    result = pytester.runpytest("--blissful-url", "not a url")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*--blissful-url 'not a url'*"])


def test_unknown_scenario_option_is_a_usage_error(pytester: pytest.Pytester) -> None:
    _assert_usage_error(_run(pytester, "--blissful-scenario", "db-donw"),
                        "*--blissful-scenario: unknown scenario 'db-donw'; known: *db-down*")


def test_unknown_scenario_in_config_is_a_usage_error(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", blissful="chaos:\n  scenarios: [pod-kil]\n")
    _assert_usage_error(_run(pytester), "*chaos.scenarios in *blissful.yaml: unknown scenario 'pod-kil'*")


def test_canary_weights_not_increasing_name_the_key(pytester: pytest.Pytester) -> None:
    pytester.makefile(".yaml", blissful="canary:\n  steps:\n    - {weight: 50}\n    - {weight: 20}\n")
    result = _run(pytester)
    _assert_usage_error(result, "*blissful.yaml:2: canary.steps: *20 does not increase*")


def test_canary_unknown_provider_in_a_template_names_file_and_key(pytester: pytest.Pytester) -> None:
    steps = "        - setWeight: 10\n        - analysis: {templates: [{templateName: t}]}\n"
    pytester.makefile(".yaml", rollout="kind: Rollout\nspec:\n  strategy:\n    canary:\n      steps:\n" + steps)
    pytester.makefile(".yaml", template="kind: AnalysisTemplate\nmetadata: {name: t}\nspec:\n  metrics:\n"
                                        "    - name: m\n      provider: {newrelic: {query: x}}\n")
    pytester.makefile(".yaml", blissful="canary:\n  rollout: rollout.yaml\n  analysisTemplates: [template.yaml]\n")
    result = _run(pytester)
    _assert_usage_error(result, "*template.yaml: spec.metrics[[]0[]].provider.newrelic: unknown metric provider*")


def test_simulate_failure_syntax_is_checked(pytester: pytest.Pytester) -> None:
    result = _run(pytester, "--blissful-simulate-failure", "cpu=90%")
    _assert_usage_error(result, "*--blissful-simulate-failure 'cpu=90%': use error-rate=5% or p95-latency=500ms*")
