"""Control-plane tier: canaries run by the real Argo Rollouts v1.10.1 controller (kwok's simulated node, a real
apiserver). The plugin serves the ``web`` metric the AnalysisTemplate reads, the controller takes the measurements
and decides; :class:`~pytest_blissful.flows.canary_argo.ArgoCanary` follows it and reports a ``CanaryResult``.
Each test also checks the Rollout's own end state and that nothing is left in the namespace."""

from __future__ import annotations

import time
from typing import Any

import pytest

from pytest_blissful.config.argo import METRICS_URL_ARG, template_metrics
from pytest_blissful.flows.canary import canary_compose_file
from pytest_blissful.flows.canary_argo import ArgoCanary, leftovers
from pytest_blissful.grading.canary import DrillRequest, Measurement, Phase, evaluate_result
from pytest_blissful.stack import StackError
from pytest_blissful.stack.kubernetes_client import Cluster
from pytest_blissful.stack.kubernetes_manifests import Manifest, load_manifests
from tests.kubernetes.conftest import KWOK_PLACEMENT, deployment

GROUP, VERSION = "argoproj.io", "v1alpha1"
REPLICAS = 4
WEB_TEMPLATE = canary_compose_file().parent / "analysis-template-web.yaml"


def _template() -> Manifest:
    """The demo's web template (error rate of the canary in percent, from the plugin's figures): the same file
    the local canary grades (tests/unit/test_canary_config.py)."""
    (template,) = load_manifests([WEB_TEMPLATE])
    assert template.body["spec"]["args"] == [{"name": METRICS_URL_ARG}]
    return template


def _local_phase(measurement: Measurement) -> Phase:
    """How the local canary grades the value the controller measured, from the same template file."""
    (spec,) = template_metrics(_template().body, str(WEB_TEMPLATE))
    return evaluate_result(float(measurement.value), spec)[0]


def _rollout(steps: list[dict[str, Any]]) -> Manifest:
    spec = deployment("shop", replicas=REPLICAS, image="blissful/shop:1", **KWOK_PLACEMENT)["spec"]
    return Manifest("rollout.yaml", {
        "apiVersion": f"{GROUP}/{VERSION}", "kind": "Rollout", "metadata": {"name": "shop"},
        "spec": {**spec, "revisionHistoryLimit": 2, "strategy": {"canary": {"steps": steps}}},
    })


STEPS: list[dict[str, Any]] = [
    {"setWeight": 25}, {"pause": {"duration": "1s"}},
    {"analysis": {"templates": [{"templateName": "error-rate"}]}},
    {"setWeight": 50}, {"pause": {}},  # indefinite: promoted by the driver after max_pause_s
]


def _canary(cluster: Cluster, namespace: str, run_id: str, figures: dict[str, float], **options: Any) -> ArgoCanary:
    messages: list[str] = []
    return ArgoCanary(cluster, namespace, _rollout(STEPS), [_template()], run_id=run_id, image="blissful/shop:2",
                      figures=figures.get, max_pause_s=1.0, deadline_s=60, progress=messages.append, **options)


def _assert_nothing_left(cluster: Cluster, namespace: str) -> None:
    assert leftovers(cluster, namespace, "shop", ["error-rate"]) == []


def _record_states(canary: ArgoCanary) -> list[dict[str, Any]]:
    """Every Rollout object the driver read, in order (the controller's own view of the rollout)."""
    seen: list[dict[str, Any]] = []
    original = canary._get

    def get() -> dict[str, Any]:
        obj = original()
        seen.append(obj)
        return obj

    canary._get = get  # type: ignore[method-assign]
    return seen


def _rollout_gone(cluster: Cluster, namespace: str) -> bool:
    from kubernetes import client

    co = client.CustomObjectsApi(cluster.api)
    return not co.list_namespaced_custom_object(GROUP, VERSION, namespace, "rollouts")["items"]


def test_canary_promotes_when_the_analysis_passes(cluster: Cluster, namespace: str, run_id: str) -> None:
    canary = _canary(cluster, namespace, run_id, {"error_rate": 0.2})
    states: list[dict[str, Any]] = []
    original = canary._promoted

    def promoted(obj: dict[str, Any]) -> bool:  # the Rollout's own state when the driver called it promoted
        done = original(obj)
        if done:
            states.append(obj)
        return done

    canary._promoted = promoted  # type: ignore[method-assign]
    assert [s.status for s in canary.status()] == ["Pending"] * len(STEPS)
    result = canary.run()
    print(result.explain())
    assert result.outcome == "promoted" and result.analysis_phase is Phase.SUCCESSFUL, result.explain()
    assert result.verdict == "pass" and result.driver == "argo-rollouts" and result.provider == "web"
    assert result.versions == {"stable": "blissful/shop:1", "canary": "blissful/shop:2"}
    assert [s.status for s in result.steps] == ["Completed"] * len(STEPS)
    assert all(s.started_at is not None and s.finished_at is not None and s.finished_at >= s.started_at
               for s in result.steps)
    assert [m.phase for m in result.measurements] == [Phase.SUCCESSFUL, Phase.SUCCESSFUL]
    assert {m.value for m in result.measurements} == {"0.2"} and {m.step for m in result.measurements} == {2}
    assert result.steps[2].analysis.startswith("Successful")
    assert [w.weight for w in result.weights] == [0, 25, 50, 100]
    assert result.warnings == ()  # the local grading of the template agrees with the controller's
    assert [_local_phase(m) for m in result.measurements] == [m.phase for m in result.measurements]
    assert canary.server is None  # the metric server is stopped
    # the Rollout itself: Healthy on the new version when the driver said promoted
    status = states[-1]["status"]
    assert status["phase"] == "Healthy" and status["stableRS"] == status["currentPodHash"]
    assert status["currentStepIndex"] == len(STEPS)
    _assert_nothing_left(cluster, namespace)


def test_canary_aborts_when_the_analysis_fails_and_reports_the_rollback(cluster: Cluster, namespace: str,
                                                                        run_id: str) -> None:
    drill = DrillRequest("error-rate", "5%")
    figures = {"error_rate": 100 * drill.amount()}  # the canary misbehaves: the plugin measures 5% errors
    canary = _canary(cluster, namespace, run_id, figures, drill=drill, rollback_slo_s=10)
    seen = _record_states(canary)
    result = canary.run()
    print(result.explain())
    assert result.outcome == "aborted" and result.analysis_phase is Phase.FAILED, result.explain()
    assert result.verdict == "pass", result.explain()  # a drill passes: detected, aborted, rolled back in time
    failed = [m for m in result.measurements if m.phase is Phase.FAILED]
    assert len(failed) == 1 and failed[0].value == "5" and failed[0].step == 2
    assert result.detected_at == failed[0].finished_at
    assert _local_phase(failed[0]) is Phase.FAILED
    assert "RolloutAborted" in result.message and 'Metric "error-rate" assessed Failed' in result.message
    assert [s.status for s in result.steps] == ["Completed", "Completed", "Aborted", "Pending", "Pending"]
    assert result.weights[-1].weight == 0 and result.weights[-1].reason == "abort"
    rollback = result.rollback
    assert rollback is not None and rollback.completed_s is not None
    assert rollback.first_failed_at <= rollback.rollback_started_at
    assert rollback.stable_full_at is not None and rollback.stable_full_at >= rollback.rollback_started_at
    assert result.reason.startswith(f"Rollback completed in {rollback.completed_s:.1f} s")
    print(f"rollback: the controller read the failing value at t={failed[0].started_at:.2f} s, the abort was seen "
          f"at t={rollback.rollback_started_at:.2f} s, "
          f"abort → stable serving {REPLICAS}/{REPLICAS} {rollback.stable_full_at - rollback.rollback_started_at:.2f}"
          f" s; {result.reason}")
    assert result.warnings == ()
    last = seen[-1]["status"]  # the Rollout's own state: aborted, Degraded, back on the stable ReplicaSet
    assert last["abort"] is True and last["phase"] == "Degraded" and last["stableRS"] != last["currentPodHash"]
    _assert_nothing_left(cluster, namespace)


def test_inconclusive_analysis_pauses_the_rollout_and_is_never_a_pass(cluster: Cluster, namespace: str,
                                                                      run_id: str) -> None:
    canary = _canary(cluster, namespace, run_id, {"error_rate": 3.0})  # neither < 1 nor >= 5
    seen = _record_states(canary)
    result = canary.run()
    print(result.explain())
    assert result.outcome == "paused" and result.analysis_phase is Phase.INCONCLUSIVE, result.explain()
    assert result.verdict == "inconclusive" and not result.passed
    assert [m.phase for m in result.measurements] == [Phase.INCONCLUSIVE]
    assert _local_phase(result.measurements[0]) is Phase.INCONCLUSIVE and result.warnings == ()
    assert result.steps[2].status == "Paused" and result.steps[2].analysis.startswith("Inconclusive")
    assert result.rollback is None
    paused = [o for o in seen if any(c.get("reason") == "InconclusiveAnalysisRun"
                                     for c in (o.get("status") or {}).get("pauseConditions") or [])]
    assert paused and paused[0]["status"]["phase"] == "Paused"  # the Rollout's own state
    _assert_nothing_left(cluster, namespace)


def test_abort_through_the_api(cluster: Cluster, namespace: str, run_id: str) -> None:
    """canary.abort() during the analysis: the status patch of `kubectl argo rollouts abort`; no metric failed,
    so the analysis is reported Failed by the test's abort and the rollback is still timed."""
    from pytest_blissful.flows.canary import CanaryControls

    controls = CanaryControls()
    figures = {"error_rate": 0.1}

    def source(figure: str) -> float | None:
        controls.abort()  # asked for while the controller measures
        return figures.get(figure)

    messages: list[str] = []
    canary = ArgoCanary(cluster, namespace, _rollout(STEPS), [_template()], run_id=run_id, image="blissful/shop:2",
                        figures=source, controls=controls, deadline_s=60, progress=messages.append)
    result = canary.run()
    assert result.outcome == "aborted" and result.rollback is not None, result.explain()
    assert result.rollback.stable_full_at is not None
    assert any("kubectl argo rollouts abort" in m for m in messages)
    assert result.message == "aborted by the test (canary.abort())" and result.analysis_phase is Phase.FAILED
    _assert_nothing_left(cluster, namespace)


def test_missing_metric_server_value_is_an_error_not_a_pass(cluster: Cluster, namespace: str,
                                                            run_id: str) -> None:
    """No figure (the plugin has no data): the controller records Error measurements and aborts after
    consecutiveErrorLimit; a drill that only saw errors is inconclusive, never a pass."""
    template = _template()
    template.body["spec"]["metrics"][0]["consecutiveErrorLimit"] = 0
    canary = ArgoCanary(cluster, namespace, _rollout(STEPS), [template], run_id=run_id, image="blissful/shop:2",
                        figures=None, drill=DrillRequest("error-rate", "5%"), deadline_s=60)
    result = canary.run()
    print(result.explain())
    assert result.outcome == "aborted" and result.analysis_phase is Phase.ERROR, result.explain()
    assert result.measurements and all(m.phase is Phase.ERROR for m in result.measurements)
    assert result.verdict == "inconclusive"
    assert result.warnings == ("the templates read {{args.blissful-metrics-url}} but no figures were given: the "
                               "plugin answered null (no data) to every measurement",)
    _assert_nothing_left(cluster, namespace)


def test_errors_name_the_rollout_and_the_cause(cluster: Cluster, namespace: str, run_id: str,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(StackError, match="give the new image"):
        ArgoCanary(cluster, namespace, _rollout(STEPS), [_template()], run_id=run_id)
    canary = ArgoCanary(cluster, namespace, _rollout(STEPS), [_template()], run_id=run_id, image="blissful/shop:2",
                        container="nope", deadline_s=30)
    started = time.monotonic()
    with pytest.raises(StackError, match=r"rollout/shop: no container 'nope' in its pod template \(containers: main"):
        canary.run()
    assert time.monotonic() - started < 30
    with pytest.raises(StackError, match="namespace blissful-test-nowhere does not exist"):
        ArgoCanary(cluster, "blissful-test-nowhere", _rollout(STEPS), [_template()], run_id=run_id,
                   image="blissful/shop:2").run()
    # the local cluster serves the Rollout kind; a cluster without Argo Rollouts is named before anything is applied
    from pytest_blissful.flows import canary_argo

    assert canary_argo.has_rollouts(cluster)
    monkeypatch.setattr(canary_argo, "has_rollouts", lambda _cluster: False)
    with pytest.raises(StackError, match=r"rollout.yaml: rollout/shop needs Argo Rollouts, which is not installed"):
        ArgoCanary(cluster, namespace, _rollout(STEPS), [_template()], run_id=run_id, image="blissful/shop:2").run()
    assert _rollout_gone(cluster, namespace)
    assert _rollout_gone(cluster, namespace)
    _assert_nothing_left(cluster, namespace)
