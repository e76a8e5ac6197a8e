"""How well the old-vs-new comparison decides, on the demo stack (real Docker, real Locust).

Figures (goals from the comparison issue):

1. A/A — the same image on both sides, N runs: how many are declared different (any metric row better/worse),
   and how many keep the old version. Goal: ≤ 1 of 20.
2. +20 % p95 on one endpoint — the new version waits 20 % of the old version's measured p95 of GET /greetings
   longer on that endpoint (``REGRESSION_DELAY_MS``, sized from an A/A calibration run), N runs of ≤ 60 s of
   load each: how many the comparison detects ("Keep old version": a critical row significantly worse). Each
   run also prints the outcome of that endpoint's p50 and p95 rows. Goal: ≥ 19 of 20.
3. Whole demo comparison (build/up of both stacks, warm-up + load, down): wall time. Goal: ≤ 3 min.
4. A/A on fresh stacks (``--only aa-fresh``): N complete comparisons of the same image, each with stacks of its
   own, as a user's runs are. Figure 1 repeats the load on one pair of stacks, so a lasting difference between
   two stacks (where their containers landed, a colder cache) would show in all of its runs or none: this
   figure samples it.

Figures 1 and 2 repeat the measurement on one pair of stacks per figure (each run is an independent load run
with its own warm-up); figures 3 and 4 are complete ``VersionComparison.run()`` calls.

    BLISSFUL_DEMO_TAG=compare .venv/bin/python bench/compare_power.py --runs 20 --duration 60
    .venv/bin/python bench/compare_power.py --runs 5 --duration 30     # quicker, fewer runs

Timing figures on a shared, busy machine are noisy: the script prints the load average with every figure.

``--dump FILE`` keeps every run's per-block values for ``bench/compare_judges.py``: the rows the product judges
(``blocks_by_size``) and, apart, per-endpoint mean blocks (``candidates_by_size``), a statistic the product does
not judge: kept to try judges offline on the same runs.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from pytest_blissful.config.schema import BlissfulConfig
from pytest_blissful.flows.compare import VersionComparison
from pytest_blissful.grading.comparison import KEEP

ENDPOINT = "GET /greetings"


def _config(args: argparse.Namespace, new_env: dict[str, str]) -> BlissfulConfig:
    return BlissfulConfig.model_validate({"comparison": {
        "test_duration": args.duration, "warmup_duration": args.warmup, "block_duration": args.block,
        "concurrent_users": args.users,
        "old": {"label": "demo", "env": {"APP_VERSION": "1.0.0"}},
        "new": {"label": "demo'", "env": {"APP_VERSION": "1.0.0", **new_env}},
    }})


def _load() -> str:
    return "load average " + " ".join(f"{x:.1f}" for x in os.getloadavg())


def _flow(config: BlissfulConfig, name: str) -> VersionComparison:
    return VersionComparison(config, project_prefix=f"blissful-bench-{name}-{os.getpid()}", owner_pid=os.getpid(),
                             progress=lambda m: print("   ", m, flush=True))


def aligned_blocks(run: Any, block_s: float, *, candidates: bool = False) -> dict[str, list[list[float | None]]]:
    """Per-block values of both versions over the same instants (None: no answer in that block), per metric: the
    raw material of the judge, kept so that judges can be compared offline on the same runs
    (``bench/compare_judges.py``)."""
    starts = []
    at = run.analysis_start_s
    while at + block_s <= run.analysis_end_s + 1e-9:
        starts.append(at)
        at += block_s
    endpoints = sorted(set(run.timelines["old"].endpoints) & set(run.timelines["new"].endpoints))
    values: dict[str, list[list[float | None]]] = {}
    for side in ("old", "new"):
        timeline = run.timelines[side]
        metrics: dict[str, list[float | None]] = {}
        for s in starts:
            w = timeline.window(s, s + block_s)
            answered = bool(w.requests)
            for name, value in (("p50_latency_ms", w.p50_ms), ("p95_latency_ms", w.p95_ms),
                                ("p99_latency_ms", w.p99_ms),
                                ("throughput_rps", (w.requests - w.errors) / block_s),
                                ("error_rate_percent", 100.0 * w.error_rate)):
                metrics.setdefault(name, []).append(float(value) if answered or name == "throughput_rps" else None)
            for endpoint in endpoints:
                e = timeline.window(s, s + block_s, endpoint=endpoint)
                metrics.setdefault(f"p50_latency_ms[{endpoint}]", []).append(float(e.p50_ms) if e.requests else None)
                metrics.setdefault(f"p95_latency_ms[{endpoint}]", []).append(float(e.p95_ms) if e.requests else None)
                if candidates:  # a statistic the product does not judge, kept apart to be tried offline
                    metrics.setdefault(f"mean_latency_ms[{endpoint}]", []).append(
                        float(e.mean_ms) if e.requests else None)
        for name, series in metrics.items():
            values.setdefault(name, []).append(series)
    return values


def dump(args: argparse.Namespace, figure: str, index: int, run: Any) -> None:
    if args.dump is None:
        return
    sizes = sorted({args.block, 1.0, 1.5, 2.0, 3.0, 5.0})
    record = {"figure": figure, "run": index, "block_s": args.block, "duration_s": args.duration,
              "loadavg": os.getloadavg()[0], "blocks": aligned_blocks(run, args.block),
              "blocks_by_size": {f"{b:g}": aligned_blocks(run, b) for b in sizes},
              "candidates_by_size": {f"{b:g}": aligned_blocks(run, b, candidates=True) for b in sizes},
              "outcomes": {m.name: m.outcome for m in run.result.metrics}}
    with open(args.dump, "a", encoding="utf-8") as out:
        out.write(json.dumps(record) + "\n")


def different(rows: Any) -> list[str]:
    return [f"{m.name}: {m.outcome} {m.change_text()}" for m in rows if m.outcome in ("better", "worse")]


def figure_aa(args: argparse.Namespace) -> float:
    print(f"\n[1] A/A: same image both sides, {args.runs} runs of {args.duration:g} s ({_load()})", flush=True)
    declared = kept_old = 0
    p95s: list[float] = []
    with _flow(_config(args, {}), "aa").provisioned() as measure:
        for i in range(args.runs):
            run = measure(args.duration, args.warmup, args.users)
            dump(args, "aa", i, run)
            diff = different(run.result.metrics)
            declared += bool(diff)
            kept_old += run.result.recommendation == KEEP
            row = run.result.metric(f"p95_latency_ms[{ENDPOINT}]")
            if row.old:
                p95s.append(row.old)
            print(f"  run {i + 1:2d}: {run.result.recommendation:28s} different: {', '.join(diff) or 'none'}"
                  f"  ({_load()})", flush=True)
    print(f"A/A declared different: {declared} of {args.runs}; kept the old version: {kept_old} of {args.runs} "
          "(goal ≤ 1 of 20)")
    return sorted(p95s)[len(p95s) // 2] if p95s else 10.0


def figure_regression(args: argparse.Namespace, baseline_p95_ms: float) -> None:
    delay = round(0.2 * baseline_p95_ms, 2)
    print(f"\n[2] +20% p95 on {ENDPOINT}: REGRESSION_DELAY_MS={delay} (20% of its A/A p95 {baseline_p95_ms:.2f} ms), "
          f"{args.runs} runs of {args.duration:g} s ({_load()})", flush=True)
    detected = 0
    ratios = []
    with _flow(_config(args, {"REGRESSION_DELAY_MS": str(delay)}), "reg").provisioned() as measure:
        for i in range(args.runs):
            run = measure(args.duration, args.warmup, args.users)
            dump(args, "regression", i, run)
            row = run.result.metric(f"p95_latency_ms[{ENDPOINT}]")
            median_row = run.result.metric(f"p50_latency_ms[{ENDPOINT}]")
            detected += run.result.recommendation == KEEP
            ratio = (row.new or 0) / row.old if row.old else float("nan")
            ratios.append(ratio)
            print(f"  run {i + 1:2d}: {run.result.recommendation:26s} p50 {median_row.outcome} "
                  f"{median_row.change_text()}; p95 {row.outcome} {row.change_text()} (observed p95 new/old "
                  f"{ratio:.2f}; {_load()})", flush=True)
    print(f"+20% p95 regression detected (kept the old version): {detected} of {args.runs} (goal ≥ 19 of 20); "
          f"observed p95 ratio median {sorted(ratios)[len(ratios) // 2]:.2f}")


def figure_whole(args: argparse.Namespace) -> None:
    print(f"\n[3] whole demo comparison: warm-up {args.warmup:g} s + {args.whole_duration:g} s of load ({_load()})",
          flush=True)
    started = time.monotonic()
    run = _flow(_config(args, {}), "whole").run(test_duration=args.whole_duration, warmup_duration=args.warmup)
    took = time.monotonic() - started
    steps = ", ".join(f"{k} {v:.1f} s" for k, v in run.timings.items())
    print(f"whole demo comparison: {took:.1f} s ({steps}) — {run.result.recommendation} (goal ≤ 180 s; {_load()})")


def figure_aa_fresh(args: argparse.Namespace) -> None:
    print(f"\n[4] A/A on fresh stacks: {args.fresh_runs} complete comparisons, warm-up {args.warmup:g} s + "
          f"{args.whole_duration:g} s of load ({_load()})", flush=True)
    declared = kept_old = 0
    for i in range(args.fresh_runs):
        run = _flow(_config(args, {}), f"fresh{i}").run(test_duration=args.whole_duration,
                                                          warmup_duration=args.warmup)
        diff = different(run.result.metrics)
        declared += bool(diff)
        kept_old += run.result.recommendation == KEEP
        print(f"  run {i + 1:2d}: {run.result.recommendation:28s} different: {', '.join(diff) or 'none'}"
              f"  ({_load()})", flush=True)
    print(f"A/A on fresh stacks declared different: {declared} of {args.fresh_runs}; kept the old version: "
          f"{kept_old} of {args.fresh_runs}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of measured load per run")
    parser.add_argument("--warmup", type=float, default=5.0)
    parser.add_argument("--block", type=float, default=1.0)
    parser.add_argument("--users", type=int, default=8)
    parser.add_argument("--whole-duration", type=float, default=60.0)
    parser.add_argument("--dump", type=Path, default=None,
                        help="append each run's per-block values (JSON lines) for bench/compare_judges.py")
    parser.add_argument("--fresh-runs", type=int, default=10, help="complete comparisons of figure 4")
    parser.add_argument("--only", choices=["aa", "regression", "whole", "aa-fresh"], action="append",
                        help="figures to run (default: aa, regression, whole)")
    parser.add_argument("--baseline-p95-ms", type=float, default=None,
                        help="p95 of GET /greetings to size the +20%% regression from (default: the A/A figure's)")
    args = parser.parse_args()
    only = set(args.only or ["aa", "regression", "whole"])
    baseline = args.baseline_p95_ms or 10.0
    if "aa" in only:
        baseline = args.baseline_p95_ms or figure_aa(args)
    if "regression" in only:
        figure_regression(args, baseline)
    if "whole" in only:
        figure_whole(args)
    if "aa-fresh" in only:
        figure_aa_fresh(args)


if __name__ == "__main__":
    main()
