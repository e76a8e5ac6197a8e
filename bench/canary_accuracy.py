"""Figures of the local canary (issue 11): traffic split accuracy, false aborts, drill detection and rollback time.

Runs the demo's canary setup (stable + canary behind the nginx router, Prometheus, Locust load through the router):

* measured canary share of traffic vs the set weight, at every step (goal ± 3 points; seconds fully inside a step);
* healthy canary with shortened pauses, 10→25→50→100, ``--healthy-runs`` runs: false aborts (goal 0);
* drills with 5% errors and +500 ms: detected within one analysis interval of the canary taking traffic;
* rollback complete (100% stable and canary stopped) after the failed measurement (goal ≤ 5 s; SLO 30 s);
* one whole drill on the demo, compose up to down (goal ≤ 2 min).

    BLISSFUL_DEMO_TAG=1 .venv/bin/python bench/canary_accuracy.py [--healthy-runs 20] [--pause 4] [--interval 2]

Timing figures depend on the machine's load: the script prints ``uptime`` before and after.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import time

from pytest_blissful.grading.canary import (
    CanaryResult,
    DrillRequest,
    MetricSpec,
    PauseStep,
    RolloutPlan,
    SetWeightStep,
)

os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")


def plan(pause_s: float, interval_s: float) -> RolloutPlan:
    metrics = (
        MetricSpec("error-rate", "blissful", "error_rate", success_condition="result < 1", interval_s=interval_s,
                   initial_delay_s=interval_s),
        MetricSpec("p95-latency", "blissful", "p95", success_condition="result < 200", interval_s=interval_s,
                   initial_delay_s=interval_s),
    )
    steps = []
    for weight in (10, 25, 50):
        steps += [SetWeightStep(weight), PauseStep(pause_s)]
    steps.append(SetWeightStep(100))
    return RolloutPlan(tuple(steps), metrics)


def shares(result: CanaryResult) -> list[tuple[int, float, int]]:
    """(weight, observed canary share %, requests) over the seconds fully inside each step."""
    out = []
    # from the router's confirmation of this weight to the request of the next one
    changes = [(w.applied_at if w.applied_at is not None else w.at, w.at, w.weight) for w in result.weights]
    ends = [asked for _, asked, _ in changes[1:]] + [result.duration_s]
    for (start, _, weight), end in zip(changes, ends, strict=True):
        if weight in (0, 100):
            continue
        inside = [p for p in result.traffic if start + 1.0 <= p.at and p.at + 1.0 <= end]
        total = sum(p.stable_requests + p.canary_requests for p in inside)
        if total >= 20:  # a step cut short by an abort has too few requests to judge the split
            out.append((weight, 100.0 * sum(p.canary_requests for p in inside) / total, total))
    return out


def uptime() -> str:
    return subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()


def main() -> None:
    from pytest_blissful.flows.canary import run_docker_canary

    parser = argparse.ArgumentParser()
    parser.add_argument("--healthy-runs", type=int, default=20)
    parser.add_argument("--pause", type=float, default=4.0, help="seconds per pause step (shortened)")
    parser.add_argument("--interval", type=float, default=2.0, help="analysis interval, seconds")
    parser.add_argument("--rate", type=float, default=40.0, help="requests/s through the router")
    parser.add_argument("--skip-drills", action="store_true")
    args = parser.parse_args()
    print(f"machine: {uptime()}")
    the_plan = plan(args.pause, args.interval)

    print(f"\n== healthy canary, 10→25→50→100, pauses {args.pause:g}s, {args.healthy_runs} run(s) ==")
    false_aborts = 0
    worst_share = 0.0
    for i in range(args.healthy_runs):
        t0 = time.monotonic()
        result = run_docker_canary(the_plan, name=f"healthy-{i}", load_rate=args.rate)
        wall = time.monotonic() - t0
        split = shares(result)
        deviation = max((abs(share - w) for w, share, _ in split), default=float("nan"))
        worst_share = max(worst_share, deviation) if split else worst_share
        if result.outcome != "promoted":
            false_aborts += 1
        print(f"run {i + 1}: {result.verdict} ({result.outcome}; {result.message or 'analysis Successful'}), "
              f"{len(result.measurements)} measurements, wall {wall:.0f}s; share by step: "
              + ", ".join(f"{w}%→{s:.1f}% (n={n})" for w, s, n in split))
    print(f"false aborts: {false_aborts} of {args.healthy_runs} (goal 0)")
    print(f"canary share vs weight, worst deviation: {worst_share:.2f} points (goal ± 3)")

    if args.skip_drills:
        return
    for drill in (DrillRequest("error-rate", "5%"), DrillRequest("p95-latency", "500ms")):
        print(f"\n== drill {drill.simulate}={drill.value} ==")
        t0 = time.monotonic()
        result = run_docker_canary(the_plan, name=f"drill-{drill.simulate}", drill=drill, load_rate=args.rate)
        wall = time.monotonic() - t0
        first_on = next((w.at for w in result.weights if w.weight > 0), 0.0)
        detected = None if result.detected_at is None else result.detected_at - first_on
        rb = result.rollback
        print(result.explain())
        print(f"detected {detected if detected is None else f'{detected:.1f}'} s after the canary took traffic "
              f"(goal: within one interval after the initial delay = {2 * args.interval:g} s)")
        if rb is not None and rb.completed_s is not None:
            print(f"rollback: failed measurement → rollback start {rb.rollback_started_at - rb.first_failed_at:.2f} s"
                  f" → 100% stable {rb.stable_full_at - rb.first_failed_at:.2f} s"  # type: ignore[operator]
                  f" → canary stopped {rb.canary_stopped_at - rb.first_failed_at:.2f} s"  # type: ignore[operator]
                  f"; Rollback completed in {rb.completed_s:.1f} s (goal ≤ 5 s, SLO {result.rollback_slo_s:g} s)")
        print(f"whole drill, compose up to down: {wall:.0f} s (goal ≤ 120 s)")
    print(f"\nmachine: {uptime()}")


if __name__ == "__main__":
    main()
