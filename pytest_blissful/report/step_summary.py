"""The scorecard as GitHub-flavoured Markdown, appended to ``$GITHUB_STEP_SUMMARY`` when it is set."""

from __future__ import annotations

from collections.abc import Sequence

from pytest_blissful.grading.scorecard import Scorecard


def markdown(scorecard: Scorecard, trend_scores: Sequence[float] = ()) -> str:
    lines = [
        "## Resilience scorecard",
        "",
        f"**Score {scorecard.resilience_score:.1f}/100** (minimum {scorecard.min_score:g}) · "
        f"FMEA pass rate {scorecard.fmea_pass_rate:.0f}% · {scorecard.trend}",
        "",
        "| Failure mode | Verdict | Severity | Detection | Recovery | Impact | Mitigation | RPN |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for row in scorecard.scenarios:
        detection = "—" if row["detection_s"] is None else f"{row['detection_s']:.2f} s"
        recovery = "never" if row["recovery_s"] is None else f"{row['recovery_s']:.2f} s"
        lines.append(f"| {row['scenario']} | {row['verdict']} | {row['severity']} | {detection} | {recovery} | "
                     f"{row['impact']['summary']} | {row['mitigation_status']} | {row['rpn']} |")
    lines += ["", "| Capability | Status | Evidence |", "|---|---|---|"]
    lines += [f"| {c.title} | {c.status} | {c.note} |" for c in scorecard.capabilities]
    if scorecard.recommendations:
        lines += ["", "### Recommendations", ""] + [f"- {item}" for item in scorecard.recommendations]
    if len(trend_scores) > 1:
        lines += ["", "Score trend: " + " → ".join(f"{score:.0f}" for score in trend_scores[-10:])]
    return "\n".join(lines) + "\n"
