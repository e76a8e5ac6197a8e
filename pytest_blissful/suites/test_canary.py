"""Canary suite: a progressive rollout of the canary graded by its analysis, and a rollback drill.

Plan: ``canary:`` in blissful.yaml (the spec's steps and thresholds, or an Argo Rollout + AnalysisTemplates).
The drill's failure comes from ``--blissful-simulate-failure`` (default ``error-rate=5%``).
"""

from __future__ import annotations

import pytest

from pytest_blissful.fixtures_canary import Canary, simulated_failure

pytestmark = pytest.mark.canary


def test_canary_rollout(canary: Canary) -> None:
    """A healthy canary goes through every step to 100%; its analysis stays Successful."""
    result = canary.run()
    assert result.measurements, "the analysis took no measurement"
    assert result.passed, result.explain()


def test_rollback_drill(canary: Canary, pytestconfig: pytest.Config) -> None:
    """A misbehaving canary is detected by the analysis and rolled back without intervention, within the SLO."""
    drill = simulated_failure(pytestconfig)
    result = canary.drill(simulate=drill.simulate, value=drill.value)
    assert result.passed, result.explain()
