"""An FMEA run that could not be graded (the stack went away, a probe path is wrong, the grading itself raised)
becomes an *inconclusive* row that says why, never a raw traceback: nothing was shown, so nothing is claimed."""

from __future__ import annotations

from pytest_blissful.config.schema import BlissfulConfig
from pytest_blissful.grading.fmea import SEVERITY_RATING, FmeaExpectation, FmeaResult, Impact


def inconclusive_result(scenario: str, config: BlissfulConfig, error: BaseException) -> tuple[FmeaResult, list[str]]:
    """The scenario's row with verdict ``inconclusive`` and the error as its reason; plus its capabilities."""
    from pytest_blissful.chaos.scenarios import load_scenario

    try:
        spec = load_scenario(scenario, config)
        expectation, capabilities = spec.expectation, list(spec.capabilities)
    except Exception:  # the scenario itself may be what failed: grade against neutral expectations
        expectation, capabilities = FmeaExpectation(scenario=scenario, expected_behaviour="(not known)"), []
    message = str(error).strip().splitlines()[0] if str(error).strip() else ""
    reason = f"the run could not be graded: {type(error).__name__}" + (f": {message}" if message else "")
    result = FmeaResult(
        scenario=scenario,
        verdict="inconclusive",
        reason=reason,
        severity=expectation.severity,
        detection_s=None,
        recovery_s=None,
        impact=Impact(0.0, 0.0, 0.0, 0.0, 0, "not measured"),
        severity_rating=SEVERITY_RATING[expectation.severity],
        occurrence_rating=min(10, max(1, expectation.occurrence)),
        detection_rating=10,
        expected_behaviour=expectation.expected_behaviour,
        mitigation=expectation.mitigation,
        weight=expectation.weight,
        evidence={"error": f"{type(error).__name__}: {error}"},
    )
    return result, capabilities
