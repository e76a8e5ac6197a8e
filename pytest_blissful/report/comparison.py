"""Renderers of comparisons (``ComparisonResult.to_dict()`` documents, so that results from xdist workers render the
same): the terminal table ``Metric | Old | New | Change (98% CI) | Winner`` with the recommendation line,
``reports/comparison.json`` (schema: ``comparison.schema.json`` next to this file) and a GitHub step summary row.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any, Final

SCHEMA_PATH: Final = Path(__file__).with_name("comparison.schema.json")
SCHEMA_ID: Final = "pytest-blissful/comparison/1"
HEADER: Final = ("Metric", "Old", "New", "Change (98% CI)", "Winner")


def _value(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    text = f"{value:,.2f}" if abs(value) < 1000 else f"{value:,.0f}"
    return f"{text}%" if unit == "%" else f"{text} {unit}"


def change_text(row: Mapping[str, Any]) -> str:
    if row.get("shift") is None:
        return f"— ({row.get('note') or 'not measured'})"
    unit = {"%": " pp", "/100": ""}.get(row["unit"], f" {row['unit']}")
    rel = f" ({row['relative_change']:+.1%})" if row.get("relative_change") is not None else ""
    return f"{row['shift']:+.2f}{unit}{rel} [{row['ci_low']:+.2f} … {row['ci_high']:+.2f}]"


def winner_text(row: Mapping[str, Any]) -> str:
    outcome = row["outcome"]
    if outcome == "better":
        return "new ✓"
    if outcome == "worse":
        return "old ✓" + (" (critical)" if row.get("critical") else "")
    if outcome == "inconclusive":
        return "not shown" if str(row.get("note", "")).startswith("not measured") else "inconclusive"
    return "no significant difference"


def table_rows(document: Mapping[str, Any]) -> list[tuple[str, str, str, str, str]]:
    rows = []
    for row in document["metrics"]:
        label = row["label"] + (" *" if row.get("critical") else "")
        rows.append((label, _value(row["old"], row["unit"]), _value(row["new"], row["unit"]), change_text(row),
                     winner_text(row)))
    return rows


def recommendation_line(document: Mapping[str, Any]) -> str:
    line = f"Recommendation: {document['recommendation']}"
    if document["winner"] in ("new", "old"):
        line += f" — winner: {document['winner']} version, with {document['confidence']:.0%} confidence"
    if document.get("reasons"):
        line += f" ({'; '.join(document['reasons'])})"
    if document.get("auto_promote"):
        line += " [auto_promote: reported only, nothing was deployed]"
    return line


def terminal_table(document: Mapping[str, Any]) -> str:
    rows = table_rows(document)
    widths = [max(len(str(r[i])) for r in [HEADER, *rows]) for i in range(len(HEADER))]

    def line(cells: Sequence[str]) -> str:
        return " | ".join(str(c).ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    out = [f"{document['old']} (old) vs {document['new']} (new)", line(HEADER),
           "-+-".join("-" * w for w in widths)]
    out.extend(line(r) for r in rows)
    out.append("* critical metric")
    out.extend(f"⚠ {w}" for w in document.get("warnings", ()))
    out.append(recommendation_line(document))
    return "\n".join(out)


def json_document(comparisons: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    return {"schema": SCHEMA_ID, "schema_version": 1,
            "generated_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "comparisons": list(comparisons)}


def write_json(report_dir: Path, comparisons: Sequence[Mapping[str, Any]]) -> Path:
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / "comparison.json"
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(json_document(comparisons), indent=2, default=str))
    tmp.replace(path)
    return path


def step_summary_markdown(comparisons: Sequence[Mapping[str, Any]]) -> str:
    lines = ["## Version comparison", "", "| Old | New | Recommendation | Winner | Critical metrics |",
             "|---|---|---|---|---|"]
    for doc in comparisons:
        critical = "; ".join(f"{m['label']}: {change_text(m)} → {winner_text(m)}" for m in doc["metrics"]
                             if m.get("critical") and not str(m.get("note", "")).startswith("not measured"))
        lines.append(f"| {doc['old']} | {doc['new']} | {doc['recommendation']} | {doc['winner']} | {critical} |")
    return "\n".join(lines) + "\n"


def append_step_summary(comparisons: Sequence[Mapping[str, Any]]) -> Path | None:
    """Append the comparison rows to ``$GITHUB_STEP_SUMMARY`` when it is set (GitHub Actions)."""
    target = os.environ.get("GITHUB_STEP_SUMMARY")
    if not target or not comparisons:
        return None
    path = Path(target)
    with path.open("a", encoding="utf-8") as f:
        f.write(step_summary_markdown(comparisons))
    return path
