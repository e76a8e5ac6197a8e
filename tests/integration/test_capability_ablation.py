"""The grading tells services apart: the demo's resilience switches, one at a time and all together.

One demo stack for the whole module, its app replicas recreated per profile (tests/integration/ablation.py):

* resilient → 100/100 over the profile's scenarios, all eight capabilities shown ✅ by their mechanism;
* each single switch off → the capability it implements is not ✅ and the scenarios that need it fail;
* fragile (every protection off) → at most 20/100 and no ✅ at all.

A scenario that came out inconclusive (e.g. a steady state broken by a busy machine) is reported as such: it
never passes, and its findings count for nothing.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest

from tests.integration.ablation import ABLATIONS, FRAGILE, PROFILE_SCENARIOS, RESILIENT, Ablation, DemoLab

pytestmark = pytest.mark.chaos


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoLab]:
    demo = DemoLab(tmp_path_factory.mktemp("ablation-reports"), progress=print)
    try:
        yield demo
    finally:
        demo.close()


def _statuses(card: object) -> dict[str, str]:
    return {c.name: c.status for c in card.capabilities}  # type: ignore[attr-defined]


def test_resilient_profile_scores_100_with_all_eight_capabilities_shown(lab: DemoLab) -> None:
    card, rows = lab.run(RESILIENT, PROFILE_SCENARIOS)
    assert card.resilience_score == 100.0, card.explain()
    assert _statuses(card) == {name: "✅" for name in _statuses(card)}, card.explain()
    assert card.promotable, card.explain()
    assert all(row["verdict"] == "pass" for row in rows)


@pytest.mark.parametrize("ablation", ABLATIONS, ids=[a.name for a in ABLATIONS])
def test_each_switch_off_takes_its_capability_away(lab: DemoLab, ablation: Ablation) -> None:
    card, rows = lab.run({**RESILIENT, **ablation.env}, ablation.scenarios)
    statuses = _statuses(card)
    assert statuses[ablation.capability] != "✅", card.explain()
    for row in rows:
        assert row["verdict"] == "fail", f"{row['scenario']} should fail with {ablation.name}: {row['reason']}"


def test_fragile_profile_scores_at_most_20_and_shows_nothing(lab: DemoLab) -> None:
    card, _ = lab.run(FRAGILE, PROFILE_SCENARIOS)
    assert card.resilience_score <= 20.0, card.explain()
    assert "✅" not in _statuses(card).values(), card.explain()
    assert not card.promotable


def test_reports_of_a_profile_keep_their_rules_and_numbers(lab: DemoLab) -> None:
    """The findings the other tests judged are in the FMEA evidence files with their numbers."""
    files = sorted((lab.report_dir / "fmea").glob("*.json"))
    assert files, "every scenario run writes its evidence"
    document = json.loads(files[-1].read_text())
    findings = document["result"]["findings"]
    assert findings and all(f["rule"] and isinstance(f["evidence"], dict) for f in findings)
    assert "endpoints" in document["result"]["evidence"]

