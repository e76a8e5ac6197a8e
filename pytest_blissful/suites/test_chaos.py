"""FMEA chaos suite: every configured scenario under load, graded against the chaos SLOs and by the capability
rules (a mechanism the scenario needs that is seen failing fails it).

Scenarios come from ``--blissful-scenario``, else ``chaos.scenarios`` in blissful.yaml, else all known ones. The
score is always computed over the configured set: running fewer leaves the rest uncovered.
"""

from __future__ import annotations

import pytest

from pytest_blissful.flows.fmea import Fmea


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "scenario" in metafunc.fixturenames:
        from pytest_blissful.chaos.scenarios import ScenarioError, load_scenario, selected_scenarios
        from pytest_blissful.flows.evidence import evidence_spec
        from pytest_blissful.plugin import blissful_config

        config = metafunc.config
        settings = blissful_config(config)
        try:
            names = selected_scenarios(settings, config.getoption("blissful_scenario") or None)
            for name in names:  # every faulted dependency needs its chaos.dependencies entry: say so up front
                evidence_spec(load_scenario(name, settings), settings)
        except ScenarioError as exc:
            raise pytest.UsageError(f"blissful: {exc}") from None
        metafunc.parametrize("scenario", names)


@pytest.mark.chaos
def test_scenario(fmea: Fmea, scenario: str) -> None:
    result = fmea.run(scenario)
    assert result.passed, result.explain()
