"""How exact the FMEA grading is against faults whose truth is known: windows, detection, recovery, duration.

Target: ``bench/verdict_stack`` (a small HTTP server behind Toxiproxy; load and probes go through the proxy).

* **graded p50 shift** of a 500 ms Toxiproxy latency toxic: the fault window's p50 minus the baseline's, as the
  FMEA result reports it. Every request through the proxy is delayed by exactly 500 ms. Goal 500 ms ± 10%.
* **detection and recovery error**: the same latency runs plus total freezes (``docker pause`` of the server). The
  fault is fully in place when its injection action returns and gone when its removal returns, so the true
  detection and recovery times are 0 s (measured from those instants, which the fault window records). Goal
  |error| median ≤ 0.1 s, max ≤ 0.25 s.
* **fault duration** for 3 s and 10 s faults: how long the fault was in place (applied → removal started, what
  the hold controls) and from the first injection call to the end of the removal call. Goal ± 0.2 s.

    .venv/bin/python bench/verdict_accuracy.py [--runs 3]

Timing figures are noisy on a busy machine: the script prints the load average with its figures.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path
from typing import Any

from pytest_blissful.config.schema import BlissfulConfig
from pytest_blissful.flows.fmea import Fmea, FmeaRun
from pytest_blissful.stack.ledger import Ledger
from pytest_blissful.stack.manager import StackManager

HERE = Path(__file__).resolve().parent
DOCKER = "pytest_blissful.chaos.actions.docker"
TOXIPROXY = "pytest_blissful.chaos.actions.toxiproxy"
HOLD = "pytest_blissful.chaos.actions.hold"


def _action(name: str, module: str, func: str, **arguments: Any) -> dict[str, Any]:
    return {"type": "action", "name": name,
            "provider": {"type": "python", "module": module, "func": func, "arguments": arguments}}


def _experiment(title: str, inject: dict[str, Any], remove: dict[str, Any]) -> dict[str, Any]:
    return {
        "title": title, "description": "a fault whose start, end and effect are known exactly",
        "extensions": [{"name": "blissful", "severity": "High", "expected_behaviour": "measured exactly",
                        "slos": {"max_recovery_time_s": 10}}],
        "method": [inject, _action("hold", HOLD, "hold", seconds="${fault_duration}")],
        "rollbacks": [remove],
    }


LATENCY = _experiment("latency 500 ms", _action("slow", TOXIPROXY, "create_latency_toxic", for_proxy="web",
                                                latency=500),
                      _action("fast", TOXIPROXY, "delete_toxic", for_proxy="web", toxic_name="blissful-latency"))
FREEZE = _experiment("freeze", _action("freeze", DOCKER, "pause_container", target="web"),
                     _action("thaw", DOCKER, "unpause_container", target="web"))


def _errors(run: FmeaRun) -> tuple[float | None, float | None]:
    """|detection error|, |recovery error| against the truth (0 s from the recorded instants)."""
    result = run.result
    return (None if result.detection_s is None else abs(result.detection_s),
            None if result.recovery_s is None else abs(result.recovery_s))


def _durations(run: FmeaRun) -> tuple[float, float]:
    w = run.chaos.window
    assert w.in_place_s is not None and w.duration_s is not None, run.chaos.explain()
    return w.in_place_s, w.duration_s


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3, help="runs of each fault (default 3)")
    args = parser.parse_args()
    print(f"load average before: {os.getloadavg()}")
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        (workdir / "latency.json").write_text(json.dumps(LATENCY))
        (workdir / "freeze.json").write_text(json.dumps(FREEZE))
        config = BlissfulConfig.model_validate({
            "stack": {"compose": [str(HERE / "verdict_stack" / "compose.yaml")], "entry_service": "toxiproxy",
                      "entry_port": 9000, "startup_timeout": "600s"},
            "chaos": {"experiments": {"latency": str(workdir / "latency.json"),
                                      "freeze": str(workdir / "freeze.json")},
                      "targets": {"app": "web"}, "probe_paths": ["/health"], "readiness_paths": [],
                      "mix": {"GET /health": 1}, "baseline_duration": "4s", "load_during_chaos": 4,
                      "abort_on_critical_failure": False},
        })
        manager = StackManager(config, f"verdict{os.getpid()}", workdir, os.getpid(), Ledger(workdir))
        stack = manager.get()
        shifts: list[float] = []
        detections: list[float] = []
        recoveries: list[float] = []
        durations: dict[float, list[tuple[float, float]]] = {3.0: [], 10.0: []}
        problems: list[str] = []
        try:
            fmea = Fmea(stack, config, workdir / "reports")
            plan = ([("latency", 5.0)] * args.runs + [("freeze", 3.0)] * args.runs + [("freeze", 10.0)])
            for number, (scenario, seconds) in enumerate(plan, 1):
                result = fmea.run(scenario, fault_duration=seconds)
                run = fmea.runs[-1]
                in_place, outer = _durations(run)
                detection, recovery = _errors(run)
                line = (f"run {number} {scenario} {seconds:g} s: {result.verdict}, in place {in_place:.3f} s "
                        f"(first injection call → end of removal {outer:.3f} s), detection {result.detection_s}, "
                        f"recovery {result.recovery_s}, impact {result.impact.summary}, "
                        f"lost {result.impact.requests_lost}/{result.impact.requests_expected}")
                if scenario == "latency":
                    shifts.append(result.impact.p50_shift_ms)
                    line += f", p50 shift {result.impact.p50_shift_ms:.1f} ms"
                print(line, flush=True)
                if result.verdict == "inconclusive":
                    problems.append(f"run {number}: {result.reason}")
                if detection is None or recovery is None:
                    problems.append(f"run {number}: not measured:\n{result.explain()}")
                    continue
                detections.append(detection)
                recoveries.append(recovery)
                if seconds in durations:
                    durations[seconds].append((in_place, outer))
        finally:
            manager.teardown()
    print(f"load average after: {os.getloadavg()}")
    print()
    if shifts:
        print(f"graded p50 shift, 500 ms latency: median {statistics.median(shifts):.1f} ms, "
              f"range {min(shifts):.1f}..{max(shifts):.1f} ms (goal 500 ms ± 10%)")
    if detections:
        print(f"|detection error|: median {statistics.median(detections):.3f} s, max {max(detections):.3f} s "
              "(goal median ≤ 0.1 s, max ≤ 0.25 s)")
        print(f"|recovery error|:  median {statistics.median(recoveries):.3f} s, max {max(recoveries):.3f} s "
              "(goal median ≤ 0.1 s, max ≤ 0.25 s)")
    for seconds, found in durations.items():
        if found:
            in_place = [f[0] - seconds for f in found]
            outer = [f[1] - seconds for f in found]
            print(f"{seconds:g} s fault: in place {seconds:g}{max(in_place, key=abs):+.3f} s at worst, "
                  f"first injection call → end of removal {seconds:g}{max(outer, key=abs):+.3f} s at worst "
                  "(goal ± 0.2 s)")
    for problem in problems:
        print("PROBLEM:", problem)


if __name__ == "__main__":
    main()
