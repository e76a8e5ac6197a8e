"""Pod-kill on the local cluster's real node: FMEA detection and recovery against the pod's real deletion and
readiness times, watched through the API.

The demo (``fixtures/demo/k8s.yaml``) is brought up on Kubernetes; the scenario kills the pod of a single-instance
Deployment (default ``lb``, the entry point: the outage is total from the deletion until the replacement is ready
and the port-forward has reconnected). A watch records, with this machine's clock, when the pod got its deletion
and when the replacement turned Ready. Goal: FMEA detection and recovery within ±0.25 s of those.

    .venv/bin/python bench/kubernetes_pod_kill.py [--target lb] [--runs 2]
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

from pytest_blissful.config.loader import load_config
from pytest_blissful.flows.fmea import Fmea
from pytest_blissful.stack import kubernetes_client, kubernetes_resources
from pytest_blissful.stack.ledger import Ledger
from pytest_blissful.stack.manager import StackManager

REPO = Path(__file__).resolve().parents[1]
K8S = "pytest_blissful.chaos.actions.kubernetes"


def _experiment(target: str) -> dict[str, Any]:
    def action(name: str, func: str, arguments: dict[str, Any]) -> dict[str, Any]:
        return {"type": "action", "name": name,
                "provider": {"type": "python", "module": K8S, "func": func, "arguments": arguments}}

    return {
        "title": f"kill the {target} pod", "description": "bench",
        "extensions": [{"name": "blissful", "severity": "High", "expected_behaviour": "recovers",
                        "slos": {"max_recovery_time_s": 60}}],
        "method": [action("kill-one-pod", "kill_pod", {"target": target}),
                   {"type": "action", "name": "hold", "provider": {
                       "type": "python", "module": "pytest_blissful.chaos.actions.hold", "func": "hold",
                       "arguments": {"seconds": "${fault_duration}"}}}],
        "rollbacks": [action("wait-until-replaced", "wait_ready", {"target": target, "timeout": 120})],
    }


class PodWatch(threading.Thread):
    """Wall-clock times of each pod of ``component``: deletion started, Ready turned True."""

    def __init__(self, cluster: kubernetes_client.Cluster, namespace: str, component: str) -> None:
        super().__init__(daemon=True)
        self.cluster, self.namespace, self.component = cluster, namespace, component
        self.deleted: dict[str, float] = {}
        self.ready: dict[str, float] = {}
        self._stop = threading.Event()

    def run(self) -> None:
        from kubernetes import client, watch

        core = client.CoreV1Api(self.cluster.api)
        while not self._stop.is_set():
            stream = watch.Watch()
            for event in stream.stream(core.list_namespaced_pod, self.namespace, timeout_seconds=5,
                                       label_selector=f"app.kubernetes.io/component={self.component}"):
                pod, now = event["object"], time.time()
                name = pod.metadata.name
                if pod.metadata.deletion_timestamp is not None or event["type"] == "DELETED":
                    self.deleted.setdefault(name, now)
                ready = any(c.type == "Ready" and c.status == "True" for c in (pod.status.conditions or []))
                if ready and pod.metadata.deletion_timestamp is None:
                    self.ready.setdefault(name, now)
                if self._stop.is_set():
                    stream.stop()

    def stop(self) -> None:
        self._stop.set()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--target", default="lb")
    parser.add_argument("--runs", type=int, default=2)
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="k8s-pod-kill-"))
    experiment = work / "kill.json"
    experiment.write_text(json.dumps(_experiment(args.target)))
    base = load_config(REPO, REPO / "fixtures" / "demo" / "k8s.yaml")
    chaos = base.chaos.model_copy(update={"experiments": {"kill": experiment}, "scenarios": ["kill"]})
    config = base.model_copy(update={"chaos": chaos})
    manager = StackManager(config, "b" + uuid.uuid4().hex[:9], work, os.getpid(), ledger=Ledger(work), progress=print)
    started = time.monotonic()
    stack = manager.get()
    print(f"demo up on the real node and healthy in {time.monotonic() - started:.1f} s")
    cluster = kubernetes_client.cluster_of(stack.kubernetes)
    try:
        for run in range(args.runs):
            watcher = PodWatch(cluster, str(stack.namespace), args.target)
            watcher.start()
            time.sleep(1)
            before = kubernetes_resources.pods_of(cluster, str(stack.namespace), args.target)
            result = Fmea(stack, config, work / f"run{run}").run("kill", fault_duration=3, users=5)
            time.sleep(2)
            watcher.stop()
            deleted = watcher.deleted.get(before[0])
            replacement = next((t for name, t in sorted(watcher.ready.items(), key=lambda kv: kv[1])
                                if name not in before), None)
            timing = (result.evidence or {}).get("timing", {})
            print(f"run {run + 1}: verdict={result.verdict} detection={result.detection_s} "
                  f"recovery={result.recovery_s} ({result.reason})")
            if deleted is None or replacement is None or not timing:
                print("  the watch did not see the deletion and the replacement: no comparison")
                continue
            print(f"  pod {before[0]}: deletion seen {deleted - timing['fault_start']:+.3f} s after the injection; "
                  f"replacement Ready {replacement - deleted:.3f} s after the deletion")
            if result.detection_s is not None:
                detected = timing["fault_start"] + result.detection_s
                print(f"  FMEA detection - real deletion       = {detected - deleted:+.3f} s")
            if result.recovery_s is not None:
                recovered = timing["fault_end"] + result.recovery_s
                print(f"  FMEA recovery  - replacement Ready   = {recovered - replacement:+.3f} s "
                      "(includes the port-forward reconnecting)")
    finally:
        manager.teardown()


if __name__ == "__main__":
    main()
