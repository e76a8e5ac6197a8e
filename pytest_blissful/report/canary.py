"""Renderers of a :class:`~pytest_blissful.grading.canary.CanaryResult`: the terminal step table and analysis
results (as the spec's ``canary status`` shows them), a GitHub step-summary row, and ``reports/canary.json``
(validated by ``canary.schema.json`` next to this module).  Pure text in, text/files out.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

__all__ = ["SCHEMA_PATH", "status_table", "step_summary_markdown", "write_canary_json"]

SCHEMA_PATH = Path(__file__).with_name("canary.schema.json")
_MARK = {"pass": "✅", "fail": "❌", "inconclusive": "⚠️"}


def _table(header: list[str], rows: Iterable[list[str]]) -> str:
    rows = list(rows)
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(header)]
    line = "  ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))
    out = [line, "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(out)


def status_table(result: Mapping[str, Any]) -> str:
    """The step table and the analysis results of one result's ``to_dict()``."""
    verdict = str(result["verdict"])
    kind = "Rollback drill" if result.get("drill") else "Canary"
    lines = [f"{kind} {result['name']} ({result['driver']}): {_MARK.get(verdict, '')} {verdict.upper()} — "
             f"{result['reason']}"]
    steps = [[str(s["index"]), s["description"], f"{s['weight']}%", s["status"], s["analysis"] or "-"]
             for s in result["steps"]]
    lines.append(_table(["STEP", "ACTION", "WEIGHT", "STATUS", "ANALYSIS"], steps))
    by_metric: dict[str, list[Mapping[str, Any]]] = {}
    for m in result["measurements"]:
        by_metric.setdefault(str(m["metric"]), []).append(m)
    rows = []
    for metric, ms in by_metric.items():
        counts = {p: sum(1 for m in ms if m["phase"] == p) for p in ("Successful", "Failed", "Inconclusive", "Error")}
        last = ms[-1]
        rows.append([metric + (" (dry run)" if last.get("dry_run") else ""), str(counts["Successful"]),
                     str(counts["Failed"]), str(counts["Inconclusive"]), str(counts["Error"]), last["value"] or "-",
                     last["phase"]])
    if rows:
        lines.append("")
        lines.append(_table(["METRIC", "SUCCESSFUL", "FAILED", "INCONCLUSIVE", "ERROR", "LAST VALUE", "LAST"], rows))
    rollback = result.get("rollback")
    if rollback:
        done = rollback.get("completed_s")
        lines.append("")
        lines.append(f"Rollback: first failed measurement t={rollback['first_failed_at']:.1f}s → rollback start "
                     f"t={rollback['rollback_started_at']:.1f}s → 100% stable {_t(rollback['stable_full_at'])} → "
                     f"canary stopped {_t(rollback['canary_stopped_at'])}")
        if done is not None:
            lines.append(f"Rollback completed in {done:.1f} s (SLO {result['rollback_slo_s']:g} s)")
    for warning in result.get("warnings", []):
        lines.append(f"warning: {warning}")
    return "\n".join(lines)


def _t(value: float | None) -> str:
    return "never" if value is None else f"t={value:.1f}s"


def step_summary_markdown(results: Iterable[Mapping[str, Any]]) -> str:
    """One row per canary/drill for ``$GITHUB_STEP_SUMMARY``."""
    lines = ["## Canary analysis", "",
             "| Canary | Verdict | Outcome | Analysis | Measurements | Detected | Rollback | SLO |",
             "|---|---|---|---|---|---|---|---|"]
    for r in results:
        rollback = r.get("rollback") or {}
        done = rollback.get("completed_s")
        detected = "—" if r.get("detected_at") is None else f"t={r['detected_at']:.1f}s"
        drill = r.get("drill")
        name = r["name"] + (f" (drill {drill['simulate']}={drill['value']})" if drill else "")
        lines.append(f"| {name} | {_MARK.get(r['verdict'], '')} {r['verdict']} | {r['outcome']} | "
                     f"{r['analysis_phase']} | {len(r['measurements'])} | {detected} | "
                     f"{'—' if done is None else f'{done:.1f} s'} | {r['rollback_slo_s']:g} s |")
    return "\n".join(lines) + "\n"


def write_canary_json(path: Path, result: Mapping[str, Any]) -> Path:
    """Add ``result`` to ``reports/canary.json`` (one file per session; safe under xdist: a file lock)."""
    from filelock import FileLock

    path.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(path) + ".lock"):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if not isinstance(data, dict) or not isinstance(data.get("results"), list):
                raise ValueError
        except (FileNotFoundError, ValueError):
            data = {"format": "blissful-canary/1", "results": []}
        data["results"].append(_clean(dict(result)))
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps(data, indent=2, allow_nan=False), encoding="utf-8")
        tmp.replace(path)
    return path


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    return value
