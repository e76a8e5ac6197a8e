"""Detection and recovery accuracy of the FMEA grading against the recorded injection and removal times.

A scenario freezes both app replicas of the demo stack (``docker pause``): the outage starts exactly when the
injection runs and ends exactly when the removal runs, so the true detection and recovery times are ~0 s
(plus the pause/unpause latency itself, which the fault window records). Goal: within ±0.25 s.

    .venv/bin/python bench/fmea_accuracy.py [--runs 3]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import tempfile
from pathlib import Path

from pytest_blissful.config.schema import BlissfulConfig
from pytest_blissful.flows.fmea import Fmea
from pytest_blissful.stack.ledger import Ledger
from pytest_blissful.stack.manager import StackManager

DOCKER = "pytest_blissful.chaos.actions.docker"


def _action(name: str, func: str, target: str) -> dict[str, object]:
    return {"type": "action", "name": name,
            "provider": {"type": "python", "module": DOCKER, "func": func, "arguments": {"target": target}}}


FREEZE = {
    "title": "freeze both app replicas",
    "description": "a total outage with exactly known start and end",
    "extensions": [{"name": "blissful", "severity": "High", "expected_behaviour": "outage is detected"}],
    "method": [_action("freeze-app1", "pause_container", "app1"), _action("freeze-app2", "pause_container", "app2"),
               {"type": "action", "name": "hold", "provider": {"type": "python",
                "module": "pytest_blissful.chaos.actions.hold", "func": "hold", "arguments": {"seconds": 3}}}],
    "rollbacks": [_action("thaw-app1", "unpause_container", "app1"),
                  _action("thaw-app2", "unpause_container", "app2")],
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as directory:
        workdir = Path(directory)
        (workdir / "freeze.json").write_text(json.dumps(FREEZE))
        config = BlissfulConfig.model_validate({"chaos": {"experiments": {"freeze": str(workdir / "freeze.json")},
                                                           "abort_on_critical_failure": False}})
        manager = StackManager(config, f"acc{os.getpid()}", workdir, os.getpid(), Ledger(workdir))
        stack = manager.get()
        try:
            fmea = Fmea(stack, config, workdir / "reports")
            detections, recoveries = [], []
            for run in range(args.runs):
                result = fmea.run("freeze")
                chaos = fmea.runs[-1].chaos
                if result.detection_s is None or result.recovery_s is None:
                    raise SystemExit(f"the outage was not measured:\n{result.explain()}")
                ended = {a.name: a.ended_at for a in chaos.activities}
                # truth: the outage is total once the second replica is frozen, and over when the first thaws
                true_detection = ended["freeze-app2"] - (chaos.window.injected_at or 0)
                true_recovery = max(0.0, ended["thaw-app1"] - (chaos.window.removed_at or 0))
                detections.append(abs(result.detection_s - true_detection))
                recoveries.append(abs(result.recovery_s - true_recovery))
                print(f"run {run + 1}: detection {result.detection_s:.3f} s (truth {true_detection:.3f} s), "
                      f"recovery {result.recovery_s:.3f} s (truth {true_recovery:.3f} s)")
        finally:
            manager.teardown()
    print(f"|detection error|: median {statistics.median(detections):.3f} s, max {max(detections):.3f} s "
          "(goal <= 0.25 s)")
    print(f"|recovery error|:  median {statistics.median(recoveries):.3f} s, max {max(recoveries):.3f} s "
          "(goal <= 0.25 s; includes the backlog the thawed service still has to serve)")


if __name__ == "__main__":
    main()
