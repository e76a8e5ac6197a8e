"""``comparison.include_chaos``: the FMEA scenarios on both versions, one version after the other, and the
resilience score of each.

Each version runs the configured scenario set (``chaos.scenarios``, default every known one) against its own
compose project, with the same load and fault settings; the scorecard of each is computed over that whole set, so
a scenario that could not be graded on one side counts as uncovered there. The comparison's ``resilience_score``
row is then judged on the scenario verdicts (one run per version, no blocks to test): see
:func:`pytest_blissful.grading.comparison.judge_resilience`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_blissful.config.schema import BlissfulConfig
from pytest_blissful.stack.model import Stack

Progress = Callable[[str], None]


@dataclass(frozen=True)
class SideResilience:
    """One version's FMEA runs: its score over the configured set and each scenario's verdict and reason."""

    score: float
    verdicts: Mapping[str, tuple[str, str]]  # scenario → (verdict, reason); "not run" when it could not run
    rows: tuple[Mapping[str, Any], ...]


def measure_resilience(side: str, stack: Stack, config: BlissfulConfig, report_dir: Path,
                       progress: Progress) -> SideResilience:
    """Run every configured scenario against ``stack``; a scenario that cannot run is an inconclusive row."""
    from pytest_blissful._inconclusive import inconclusive_result
    from pytest_blissful.chaos.scenarios import ScenarioError, selected_scenarios
    from pytest_blissful.flows.fmea import Fmea, configured_weights
    from pytest_blissful.grading.scorecard import build_scorecard

    fmea = Fmea(stack, config, report_dir / f"chaos-{side}", progress=progress)
    rows: list[Mapping[str, Any]] = []
    for scenario in selected_scenarios(config):
        progress(f"blissful: resilience of the {side} version: {scenario}")
        try:
            result = fmea.run(scenario)
            capabilities = list(fmea.runs[-1].scenario.capabilities)
        except ScenarioError:
            raise
        except Exception as exc:  # one scenario that cannot run is evidence missing, not the end of the comparison
            result, capabilities = inconclusive_result(scenario, config, exc)
        rows.append({**result.to_dict(), "capabilities": capabilities})
    card = build_scorecard(rows, configured=configured_weights(config))
    verdicts = {name: ("not run", "it did not run") for name in card.configured}
    verdicts.update({str(row["scenario"]): (str(row["verdict"]), str(row.get("reason", ""))) for row in rows})
    return SideResilience(card.resilience_score, verdicts, tuple(rows))
