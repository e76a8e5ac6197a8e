"""Two judges on the same real runs: Mann-Whitney on the block values of each version (unpaired) against the
Wilcoxon signed-rank test on the per-block differences (paired: both versions' blocks cover the same instants).

Reads the per-block values that ``bench/compare_power.py --dump FILE`` appended, one JSON line per run, and
prints per judge: A/A runs declared different (any metric better or worse; goal ≤ 1 of 20) and regression runs
whose ``p95 latency [GET /greetings]`` is worse (goal ≥ 19 of 20), with the median CI width of that row.

    BLISSFUL_DEMO_TAG=1 .venv/bin/python bench/compare_power.py --runs 20 --duration 60 --dump /tmp/blocks.jsonl
    .venv/bin/python bench/compare_judges.py /tmp/blocks.jsonl
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_blissful.grading.comparison import MetricComparison, MetricSamples, judge

ENDPOINT_ROW = "p95_latency_ms[GET /greetings]"


def judged(name: str, old: list[float | None], new: list[float | None], *, paired: bool,
           tolerance: float) -> MetricComparison:
    if paired:
        pairs = [(a, b) for a, b in zip(old, new, strict=True) if a is not None and b is not None]
        old_blocks, new_blocks = tuple(a for a, _ in pairs), tuple(b for _, b in pairs)
    else:
        old_blocks = tuple(v for v in old if v is not None)
        new_blocks = tuple(v for v in new if v is not None)
    middle = (statistics.median(old_blocks) if old_blocks else None, statistics.median(new_blocks) if new_blocks
              else None)
    return judge(MetricSamples(name, middle[0], middle[1], old_blocks, new_blocks, paired=paired),
                 tolerance=tolerance)


def _blocks(record: dict[str, Any], block: str | None) -> dict[str, Any]:
    chosen: dict[str, Any] = record["blocks"] if block is None else record["blocks_by_size"][block]
    return chosen


def evaluate(records: list[dict[str, Any]], *, paired: bool, tolerance: float, block: str | None) -> str:
    aa = [r for r in records if r["figure"] == "aa"]
    regression = [r for r in records if r["figure"] == "regression"]
    declared = 0
    rows_flagged: dict[str, int] = {}
    for record in aa:
        flagged = [name for name, (old, new) in _blocks(record, block).items()
                   if judged(name, old, new, paired=paired, tolerance=tolerance).outcome in ("better", "worse")]
        declared += bool(flagged)
        for name in flagged:
            rows_flagged[name] = rows_flagged.get(name, 0) + 1
    detected = 0
    widths = []
    for record in regression:
        old, new = _blocks(record, block)[ENDPOINT_ROW]
        row = judged(ENDPOINT_ROW, old, new, paired=paired, tolerance=tolerance)
        detected += row.outcome == "worse"
        if row.ci_low is not None and row.ci_high is not None:
            widths.append(row.ci_high - row.ci_low)
    width = f"{statistics.median(widths):.1f} ms" if widths else "—"
    flagged_text = ", ".join(f"{k} {v}" for k, v in sorted(rows_flagged.items())) or "none"
    return (f"{'paired (signed-rank)' if paired else 'unpaired (Mann-Whitney)':24s} A/A declared different "
            f"{declared}/{len(aa)} ({flagged_text}); regression detected {detected}/{len(regression)}; "
            f"median 98% CI width of {ENDPOINT_ROW}: {width}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("dump", type=Path)
    parser.add_argument("--tolerance", type=float, default=0.05)
    args = parser.parse_args()
    records = [json.loads(line) for line in args.dump.read_text().splitlines() if line.strip()]
    durations = sorted({float(r["duration_s"]) for r in records})
    print(f"{len(records)} runs of {', '.join(f'{d:g} s' for d in durations)} of load")
    sizes = sorted({size for r in records for size in r.get("blocks_by_size", {})}, key=float) or [None]
    for size in sizes:
        print(f"blocks of {size or records[0]['block_s']} s:")
        for paired in (False, True):
            print("  " + evaluate(records, paired=paired, tolerance=args.tolerance, block=size))


if __name__ == "__main__":
    main()
