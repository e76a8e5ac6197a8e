"""FMEA chaos suite: every configured scenario under load, graded against the chaos SLOs.

Scenarios come from ``--blissful-scenario``, else ``chaos.scenarios`` in blissful.yaml, else all known ones.
"""

from __future__ import annotations

import pytest

from pytest_blissful.flows.fmea import Fmea


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "scenario" in metafunc.fixturenames:
        from pytest_blissful.chaos.scenarios import ScenarioError, selected_scenarios
        from pytest_blissful.plugin import blissful_config

        config = metafunc.config
        try:
            names = selected_scenarios(blissful_config(config), config.getoption("blissful_scenario") or None)
        except ScenarioError as exc:
            raise pytest.UsageError(f"blissful: {exc}") from None
        metafunc.parametrize("scenario", names)


@pytest.mark.chaos
def test_scenario(fmea: Fmea, scenario: str) -> None:
    result = fmea.run(scenario)
    assert result.passed, result.explain()
