"""Plain-text tables for the terminal summary."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

VERDICT_MARK = {"pass": "✓ pass", "fail": "✗ fail", "inconclusive": "? inconclusive"}


def _seconds(value: float | None, missing: str) -> str:
    return missing if value is None else f"{value:.2f}"


def fmea_table(rows: Sequence[Mapping[str, Any]]) -> str:
    """The FMEA table from ``FmeaResult.to_dict()`` rows, followed by each failure's reason and suggestion."""
    header = ("scenario", "verdict", "severity", "detect s", "recover s", "RPN", "AP", "impact", "mitigation")
    body = [
        (
            row["scenario"],
            VERDICT_MARK.get(row["verdict"], row["verdict"]),
            row["severity"],
            _seconds(row["detection_s"], "-"),
            _seconds(row["recovery_s"], "never"),
            str(row["rpn"]),
            row["action_priority"],
            row["impact"]["summary"],
            row["mitigation_status"],
        )
        for row in rows
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *body, strict=False)]
    lines = ["  ".join(str(cell).ljust(width) for cell, width in zip(line, widths, strict=False)).rstrip()
             for line in (header, *body)]
    lines.insert(1, "  ".join("-" * width for width in widths))
    passed = sum(row["verdict"] == "pass" for row in rows)
    lines.append("")
    lines.append(f"FMEA pass rate of the scenarios that ran: {passed}/{len(rows)} ({100 * passed / len(rows):.0f}%)")
    for row in rows:
        if row["verdict"] != "pass":
            lines.append(f"  {row['scenario']}: {row['reason']}")
            if row["verdict"] == "fail" and row.get("mitigation"):
                lines.append(f"    suggestion: {row['mitigation']}")
    for row in rows:
        for finding in row.get("findings", ()):
            lines.append(f"  {row['scenario']}: {finding['status']} {finding['capability']}: {finding['summary']}")
    return "\n".join(lines)
