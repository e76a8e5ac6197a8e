"""One demo stack, reconfigured per resilience profile, running chosen scenarios through the real FMEA flow.

Shared by ``test_capability_ablation.py`` and ``bench/capability_ablation.py``: a switch of the demo service turned
off must change the grade of the capability it implements.
"""

from __future__ import annotations

import os
import subprocess
import time
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_blissful.config.schema import BlissfulConfig
from pytest_blissful.flows.fmea import Fmea
from pytest_blissful.grading.scorecard import Scorecard, build_scorecard
from pytest_blissful.stack.compose import compose_up, demo_compose_file
from pytest_blissful.stack.health import wait_healthy
from pytest_blissful.stack.manager import StackManager
from pytest_blissful.stack.model import Stack

#: The smallest set of scenarios that exercises all eight capabilities on the demo.
PROFILE_SCENARIOS = ("db-latency", "db-down", "dependency-timeout", "dependency-flaky", "graceful-shutdown",
                     "overload")


@dataclass(frozen=True)
class Ablation:
    """One demo switch turned off, the capability it implements, the scenarios that need it."""

    name: str
    env: Mapping[str, str]
    capability: str
    scenarios: tuple[str, ...]


ABLATIONS = (
    Ablation("RATE_LIMIT=off", {"RATE_LIMIT": "off"}, "rate_limiting", ("overload",)),
    Ablation("GRACEFUL_SHUTDOWN=off", {"GRACEFUL_SHUTDOWN": "off"}, "graceful_shutdown", ("graceful-shutdown",)),
    Ablation("CIRCUIT_BREAKER=off", {"CIRCUIT_BREAKER": "off"}, "circuit_breakers", ("dependency-timeout",)),
    Ablation("RETRIES=0", {"RETRIES": "0"}, "retries", ("dependency-flaky",)),
    Ablation("CACHE_FALLBACK=off", {"CACHE_FALLBACK": "off"}, "caching", ("db-down",)),
    Ablation("DEP_TIMEOUT_S=30 DEP_DEADLINE_S=0", {"DEP_TIMEOUT_S": "30", "DEP_DEADLINE_S": "0"}, "timeouts",
             ("db-latency",)),
)
# every switch the profiles set, so that a reconfiguration resets what the previous one changed
_SWITCHES = ("BLISSFUL_PROFILE", "DEP_TIMEOUT_S", "DEP_DEADLINE_S", "RETRIES", "CIRCUIT_BREAKER", "CACHE_FALLBACK",
             "RATE_LIMIT", "GRACEFUL_SHUTDOWN", "BULKHEADS", "READINESS_CHECKS")
FRAGILE = {"BLISSFUL_PROFILE": "fragile"}
RESILIENT = {"BLISSFUL_PROFILE": "resilient"}
# short, CI-sized runs; dependency-timeout holds longer so the breaker's effect has a second half to show in
FAULT_S = {"dependency-timeout": 4.0, "dependency-flaky": 10.0, "overload": 4.0, "db-latency": 3.0}
DEFAULT_FAULT_S = 2.0


def chaos_config(env: Mapping[str, str], scenarios: Sequence[str]) -> BlissfulConfig:
    return BlissfulConfig.model_validate({
        "stack": {"env": {k: env.get(k, "") for k in _SWITCHES}, "startup_timeout": 180},
        "chaos": {"scenarios": list(scenarios), "baseline_duration": 2, "default_duration": DEFAULT_FAULT_S,
                  "load_during_chaos": 10, "slos": {"max_recovery_time_s": 8}},
    })


def _warm_up(base_url: str, seconds: float = 4.0) -> None:
    """New replicas serve their first requests slowly (connection pools, caches): a baseline measured then is not
    the service's steady state. Send a few seconds of the demo's requests first (bounded in time)."""
    import contextlib

    import httpx

    paths = ("/hello", "/hello/warm", "/greetings", "/dependency", "/health")
    deadline = time.monotonic() + seconds
    with httpx.Client(base_url=base_url, timeout=2.0) as client:
        while time.monotonic() < deadline:
            for path in paths:
                with contextlib.suppress(httpx.HTTPError):
                    client.get(path)


class DemoLab:
    """The embedded demo stack, brought up once and reconfigured (app replicas recreated) per profile."""

    def __init__(self, report_dir: Path, progress: Callable[[str], None] | None = None) -> None:
        self.report_dir = report_dir
        self.progress = progress or (lambda message: None)
        self.run_id = f"abl{uuid.uuid4().hex[:8]}"
        state = Path(os.environ.get("BLISSFUL_STATE_DIR", "/tmp/blissful-state"))
        state.mkdir(parents=True, exist_ok=True)
        self.manager = StackManager(chaos_config(RESILIENT, ()), self.run_id, state, os.getpid())
        self.stack: Stack | None = None
        self.env: dict[str, str] = {}

    def configure(self, env: Mapping[str, str]) -> Stack:
        wanted = {k: env.get(k, "") for k in _SWITCHES}
        if self.stack is None:
            self.stack = self.manager.get()
            self.env = {k: RESILIENT.get(k, "") for k in _SWITCHES}
        if wanted != self.env:
            started = time.monotonic()
            compose_up("demo", [demo_compose_file()], self.manager.project, wanted, "lb", 80, 180)
            # nginx resolved the replicas' addresses when it started: let it resolve the new containers
            subprocess.run(["docker", "compose", "--project-name", self.manager.project, "restart", "lb"],
                           capture_output=True, timeout=60, check=True)
            # a restarted container gets new random host ports: read the stack again (nothing left to change)
            stack = compose_up("demo", [demo_compose_file()], self.manager.project, wanted, "lb", 80, 180)
            wait_healthy(stack.base_url + "/ready", 60)
            _warm_up(stack.base_url)
            self.stack, self.env = stack, wanted
            self.progress(f"reconfigured {dict((k, v) for k, v in wanted.items() if v)} "
                          f"in {time.monotonic() - started:.1f} s")
        return self.stack

    def run(self, env: Mapping[str, str], scenarios: Sequence[str],
            users: int | None = None) -> tuple[Scorecard, list[dict[str, Any]]]:
        stack = self.configure(env)
        config = chaos_config(env, scenarios)
        fmea = Fmea(stack, config, self.report_dir, progress=self.progress)
        rows: list[dict[str, Any]] = []
        for name in scenarios:
            started = time.monotonic()
            result = fmea.run(name, fault_duration=FAULT_S.get(name, DEFAULT_FAULT_S), users=users)
            rows.append({**result.to_dict(), "capabilities": list(fmea.runs[-1].scenario.capabilities)})
            self.progress(f"{name}: {result.verdict} in {time.monotonic() - started:.1f} s; "
                          + "; ".join(f"{f.capability} {f.status} {f.summary}" for f in result.findings))
        weights = {run.scenario.name: run.scenario.expectation.weight for run in fmea.runs}
        return build_scorecard(rows, configured=weights), rows

    def close(self) -> None:
        from pytest_blissful.chaos.ledger import remove_all_faults

        try:
            remove_all_faults()
        finally:
            self.manager.teardown()
