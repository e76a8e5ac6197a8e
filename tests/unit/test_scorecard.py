"""Scorecard grading and its files, on FMEA rows whose verdicts are known."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import given
from hypothesis import strategies as st

from pytest_blissful.grading.capabilities import Finding
from pytest_blissful.grading.scorecard import build_scorecard
from pytest_blissful.report.scorecard_files import (
    SCHEMA_PATH,
    previous_scores,
    scorecard_document,
    write_scorecard,
)
from pytest_blissful.report.step_summary import markdown


def _finding(capability: str, status: str, scenario: str, summary: str = "seen") -> dict[str, Any]:
    return Finding(capability, status, scenario, summary, {"n": 1}).to_dict()  # type: ignore[arg-type]


def _row(scenario: str, verdict: str, weight: float = 1.0, capabilities: tuple[str, ...] = (),
         mitigation: str = "", findings: tuple[dict[str, Any], ...] = ()) -> dict[str, Any]:
    return {
        "scenario": scenario, "verdict": verdict, "reason": f"{scenario} reason", "severity": "High",
        "detection_s": 0.2 if verdict != "inconclusive" else None, "recovery_s": 1.5, "rpn": 70,
        "action_priority": "low", "impact": {"summary": "no user-facing impact"}, "mitigation_status": "✅ in place",
        "weight": weight, "capabilities": list(capabilities), "mitigation": mitigation, "findings": list(findings),
    }


ROWS = [
    _row("db-down", "pass", 3, ("caching", "health_checks"),
         findings=(_finding("caching", "✅", "db-down"), _finding("health_checks", "✅", "db-down"))),
    _row("kafka-down", "fail", 2, ("retries", "caching"),
         "no fallback when the broker is unavailable - add a circuit breaker for event publishing",
         findings=(_finding("caching", "❌", "kafka-down", "70% failed"),
                   _finding("retries", "not shown", "kafka-down"))),
    _row("dns-failure", "inconclusive", 1, ("retries",)),
    _row("dependency-timeout", "fail", 2, ("circuit_breaker",), "add a circuit breaker",
         findings=(_finding("circuit_breakers", "❌", "dependency-timeout", "calls kept waiting"),)),
]
CONFIGURED = {"db-down": 3.0, "kafka-down": 2.0, "dns-failure": 1.0, "dependency-timeout": 2.0, "overload": 2.0}


def test_score_is_the_weighted_share_of_passes_and_inconclusive_is_never_credited() -> None:
    card = build_scorecard(ROWS)
    assert card.resilience_score == pytest.approx(100 * 3 / 8, abs=0.05)
    assert card.fmea_pass_rate == 25.0
    assert card.coverage == 75.0  # 3 of 4 conclusive
    assert card.uncovered == ("dns-failure",)
    assert not card.promotable
    assert not card.passed


def test_score_counts_what_was_not_run() -> None:
    one_pass = build_scorecard([_row("db-down", "pass", 3)], configured=CONFIGURED)
    assert one_pass.resilience_score == pytest.approx(100 * 3 / 10, abs=0.05)
    assert one_pass.fmea_pass_rate == 20.0
    assert one_pass.coverage == 20.0
    assert set(one_pass.uncovered) == {"kafka-down", "dns-failure", "dependency-timeout", "overload"}
    assert not one_pass.promotable
    assert "coverage 20% < 100%" in one_pass.promotion_reason
    assert any(r.startswith("not run (uncovered): ") for r in one_pass.recommendations)


def test_promotion_needs_the_pass_rate_and_the_coverage() -> None:
    configured = {f"s{i}": 1.0 for i in range(10)}
    nine = [_row(f"s{i}", "pass") for i in range(9)]
    assert not build_scorecard(nine, configured=configured).promotable  # 90% coverage < 100%
    assert build_scorecard(nine, configured=configured, min_coverage=90).promotable
    eight_of_ten = [*nine[:8], _row("s9", "fail")]
    card = build_scorecard(eight_of_ten, configured=configured, min_coverage=90)
    assert card.fmea_pass_rate == 80.0 and card.promotable
    seven = [*nine[:7], _row("s8", "fail"), _row("s9", "fail")]
    assert not build_scorecard(seven, configured=configured).promotable


def test_capabilities_come_from_findings_any_failure_wins() -> None:
    checks = {c.name: c for c in build_scorecard(ROWS).capabilities}
    assert checks["health_checks"].status == "✅"
    assert checks["caching"].status == "❌"  # shown in db-down, failed in kafka-down: the failure was observed
    assert "kafka-down: 70% failed" in checks["caching"].note
    assert checks["circuit_breakers"].status == "❌"
    assert checks["retries"].status == "not shown"
    assert checks["rate_limiting"].status == "not shown"
    assert checks["rate_limiting"].note == "not exercised by any scenario that ran"
    assert all(c.rule for c in checks.values())


def test_a_passing_scenario_without_findings_shows_no_capability() -> None:
    card = build_scorecard([_row("cpu-stress", "pass", 1, ("bulkheads", "rate_limiting"))])
    assert card.resilience_score == 100.0
    assert all(c.status == "not shown" for c in card.capabilities)


def test_failing_scenarios_come_with_their_suggestion() -> None:
    recommendations = build_scorecard(ROWS).recommendations
    assert any(r.startswith("kafka-down:") and "add a circuit breaker for event publishing" in r
               for r in recommendations)
    assert any(r.startswith("dns-failure: inconclusive") for r in recommendations)
    assert any(r.startswith("circuit breakers: add circuit breakers") for r in recommendations)


@given(st.lists(st.tuples(st.sampled_from(["pass", "fail", "inconclusive"]), st.floats(0.1, 10)), max_size=30))
def test_score_is_bounded_and_only_passes_raise_it(rows: list[tuple[str, float]]) -> None:
    card = build_scorecard([_row(f"s{i}", verdict, weight) for i, (verdict, weight) in enumerate(rows)])
    assert 0.0 <= card.resilience_score <= 100.0
    assert 0.0 <= card.fmea_pass_rate <= 100.0
    if all(verdict != "pass" for verdict, _ in rows):
        assert card.resilience_score == 0.0


def test_document_matches_its_json_schema_and_history_grows_a_line_per_run(tmp_path: Path) -> None:
    schema = json.loads(SCHEMA_PATH.read_text())
    for run in range(3):
        card = build_scorecard(ROWS[: run + 1], history=previous_scores(tmp_path))
        document = scorecard_document(card, {"run_id": f"r{run}"})
        jsonschema.validate(document, schema)
        write_scorecard(tmp_path, document)
    history = (tmp_path / "history.jsonl").read_text().splitlines()
    assert len(history) == 3
    assert previous_scores(tmp_path) == [100.0, 60.0, 50.0]
    assert json.loads((tmp_path / "scorecard.json").read_text())["trend"] == "↓ -10.0 vs previous run (60.0)"


def test_schema_rejects_a_score_out_of_bounds() -> None:
    document = scorecard_document(build_scorecard(ROWS), {})
    document["resilience_score"] = 120
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(document, json.loads(SCHEMA_PATH.read_text()))


def test_step_summary_is_a_markdown_scorecard() -> None:
    text = markdown(build_scorecard(ROWS), [50.0, 37.5])
    assert text.startswith("## Resilience scorecard")
    assert "| kafka-down | fail | High | 0.20 s | 1.50 s |" in text
    assert "| circuit breakers | ❌ | dependency-timeout: calls kept waiting |" in text
    assert "Uncovered (not run or inconclusive): dns-failure" in text
    assert "Score trend: 50 → 38" in text


def test_min_score_is_enforced_only_when_configured() -> None:
    assert not build_scorecard(ROWS).min_score_enforced
    card = build_scorecard(ROWS, min_score=30)
    assert card.min_score_enforced
    assert card.passed
