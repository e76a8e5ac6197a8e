"""``reports/scorecard.json`` (versioned, see scorecard.schema.json) and ``reports/history.jsonl`` (one line a run)."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pytest_blissful.grading.scorecard import Scorecard

SCHEMA_VERSION = 2  # 2: configured set, coverage gate, capability findings with rules and numbers, FMEA ratings
SCHEMA_PATH = Path(__file__).with_name("scorecard.schema.json")


def scorecard_document(scorecard: Scorecard, run: dict[str, Any]) -> dict[str, Any]:
    data = scorecard.to_dict()
    return {
        "schema_version": SCHEMA_VERSION,
        "generated_at": datetime.now(UTC).isoformat(timespec="seconds"),
        "run": run,
        "resilience_score": data["resilience_score"],
        "fmea_pass_rate": data["fmea_pass_rate"],
        "coverage": data["coverage"],
        "min_coverage": data["min_coverage"],
        "configured": data["configured"],
        "uncovered": data["uncovered"],
        "min_score": data["min_score"],
        "passed": data["passed"],
        "promotable": data["promotable"],
        "promotion": scorecard.promotion_reason,
        "trend": data["trend"],
        "scenarios": [
            {
                "name": row["scenario"], "verdict": row["verdict"], "reason": row["reason"],
                "detection_s": row["detection_s"], "recovery_s": row["recovery_s"], "severity": row["severity"],
                "severity_rating": row.get("severity_rating"), "occurrence_rating": row.get("occurrence_rating"),
                "detection_rating": row.get("detection_rating"), "detection_signal": row.get("detection_signal", ""),
                "rpn": row["rpn"], "action_priority": row["action_priority"], "impact": row["impact"]["summary"],
                "mitigation_status": row["mitigation_status"], "weight": row["weight"],
                "capabilities": list(row.get("capabilities", [])),
                "findings": [_finding(f) for f in row.get("findings", [])],
            }
            for row in scorecard.scenarios
        ],
        "capabilities": [
            {"name": c["name"], "title": c["title"], "status": c["status"], "rule": c["rule"],
             "note": c["note"], "evidence": list(c["evidence"]), "findings": [_finding(f) for f in c["findings"]]}
            for c in data["capabilities"]
        ],
        "recommendations": list(data["recommendations"]),
    }


def _finding(finding: dict[str, Any]) -> dict[str, Any]:
    keys = ("capability", "status", "scenario", "summary", "evidence", "rule")
    plain: dict[str, Any] = json.loads(json.dumps({k: finding.get(k) for k in keys}, default=str))
    return plain


def previous_scores(report_dir: Path, limit: int = 50) -> list[float]:
    """Scores of earlier runs, oldest first (unreadable lines are skipped, never fatal)."""
    path = report_dir / "history.jsonl"
    if not path.exists():
        return []
    scores = []
    for line in path.read_text(encoding="utf-8").splitlines()[-limit:]:
        try:
            scores.append(float(json.loads(line)["resilience_score"]))
        except (ValueError, KeyError, TypeError):
            continue
    return scores


def write_scorecard(report_dir: Path, document: dict[str, Any]) -> Path:
    report_dir.mkdir(parents=True, exist_ok=True)
    path = report_dir / "scorecard.json"
    tmp = path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(document, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    tmp.replace(path)
    line = {key: document[key] for key in ("generated_at", "resilience_score", "fmea_pass_rate", "coverage")}
    line["run"] = document.get("run", {})
    line["verdicts"] = {s["name"]: s["verdict"] for s in document["scenarios"]}
    with (report_dir / "history.jsonl").open("a", encoding="utf-8") as history:
        history.write(json.dumps(line, ensure_ascii=False) + "\n")
    return path
