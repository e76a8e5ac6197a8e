"""The scorecard as GitHub-flavoured Markdown, appended to ``$GITHUB_STEP_SUMMARY`` when it is set."""

from __future__ import annotations

from collections.abc import Sequence

from pytest_blissful.grading.scorecard import Scorecard


def markdown(scorecard: Scorecard, trend_scores: Sequence[float] = ()) -> str:
    lines = [
        "## Resilience scorecard",
        "",
        f"**Score {scorecard.resilience_score:.1f}/100** over {len(scorecard.configured)} configured scenarios "
        f"(minimum {scorecard.min_score:g}) · FMEA pass rate {scorecard.fmea_pass_rate:.0f}% · "
        f"coverage {scorecard.coverage:.0f}% · promotable: {scorecard.promotion_reason} · {scorecard.trend}",
        "",
        "| Failure mode | Verdict | Severity | Detection | Recovery | Impact | Mitigation | RPN | AP |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for row in scorecard.scenarios:
        detection = "—" if row["detection_s"] is None else f"{row['detection_s']:.2f} s"
        recovery = "never" if row["recovery_s"] is None else f"{row['recovery_s']:.2f} s"
        lines.append(f"| {row['scenario']} | {row['verdict']} | {row['severity']} | {detection} | {recovery} | "
                     f"{row['impact']['summary']} | {row['mitigation_status']} | {row['rpn']} | "
                     f"{row.get('action_priority', '')} |")
    if scorecard.uncovered:
        lines += ["", f"Uncovered (not run or inconclusive): {', '.join(scorecard.uncovered)}"]
    lines += ["", "| Capability | Status | Evidence | Rule |", "|---|---|---|---|"]
    lines += [f"| {c.title} | {c.status} | {_cell(c.note)} | {_cell(c.rule)} |" for c in scorecard.capabilities]
    if scorecard.recommendations:
        lines += ["", "### Recommendations", ""] + [f"- {item}" for item in scorecard.recommendations]
    if len(trend_scores) > 1:
        lines += ["", "Score trend: " + " → ".join(f"{score:.0f}" for score in trend_scores[-10:])]
    return "\n".join(lines) + "\n"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")
