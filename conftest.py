"""Root conftest of the pytest-blissful repository (the plugin itself loads through its entry point)."""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

# CI machines are shared and slow: no per-example deadline there, and a fixed seed so a red run can be replayed.
settings.register_profile("ci", deadline=None, derandomize=True, suppress_health_check=[HealthCheck.too_slow])
settings.register_profile("dev", deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


# Known gaps of this repository's own run on a 2-core CI machine, each written on its issue: marked xfail (not
# strict, so a pass shows as XPASS), never skipped, so every one still runs and reports its outcome.
KNOWN_GAPS = {
    "tests/integration/test_capability_ablation.py::test_resilient_profile_scores_100_with_all_eight_capabilities_shown":
        "issue 8: 8/8 capabilities are shown, but under the overload the closed-model users' p99 (~3 s) measures the "
        "two load generators starving each other on 2 cores (the probes' admitted p99 is ~260 ms)",
    "tests/integration/test_capability_ablation.py::test_each_switch_off_takes_its_capability_away[RETRIES=0]":
        "issue 8: flaky: without retries the plain answers sometimes land in the undecided band (63% of 51 probes at "
        "a 50% per-attempt rate: retries 'not shown', never ✅) and the cache fallback keeps the SLOs, so "
        "dependency-flaky passes",
    "suites/test_chaos.py::test_scenario[overload]":
        "issue 8: on 2 cores the demo's admitted requests under overload have a p99 near the 2 s SLO (2171 ms in one "
        "full CI run, inconclusive in another, passed in the rest): the two load generators share the cores",
    "suites/test_canary.py::test_canary_rollout":
        "issue 11: a healthy canary's p95 < 200 ms analysis depends on the machine's load",
    "tests/integration/test_allure_report.py::test_allure_results_and_the_single_file_report":
        "flaky on 2 cores: failed once in the full run, passed twice alone (its inner -n 2 chaos session)",
    "tests/load/test_load_runner.py::test_master_and_two_workers_merge":
        "flaky on 2 cores: master + 2 Locust workers + target; failed once in the full run, passes alone",
}


def pytest_collection_modifyitems(config: object, items: list[object]) -> None:
    import pytest

    for item in items:
        reason = KNOWN_GAPS.get(item.nodeid)  # type: ignore[attr-defined]
        if reason:
            item.add_marker(pytest.mark.xfail(reason=reason, strict=False))  # type: ignore[attr-defined]
