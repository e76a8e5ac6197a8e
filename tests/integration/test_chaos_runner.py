"""Chaos Toolkit experiments run through chaoslib from Python against real containers: verdicts, the recorded
fault window, and faults removed after pass, deviation, Ctrl-C and SIGKILL."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from pytest_blissful.chaos import run_experiment
from pytest_blissful.chaos.actions import docker as d
from pytest_blissful.chaos.ledger import FaultLedger, remove_orphan_faults
from pytest_blissful.stack.model import ServiceHandle, Stack
from tests.integration.conftest import start_container

pytestmark = pytest.mark.usefixtures("isolated_state")
DOCKER = "pytest_blissful.chaos.actions.docker"


def interrupt_now() -> None:
    """A probe that behaves like Ctrl-C arriving in the middle of the method."""
    raise KeyboardInterrupt


@pytest.fixture
def stack(network: str) -> Stack:
    web = start_container(network, f"{network}-web", "-p", "127.0.0.1::8000", label_target=False,
                          command=("python3", "-m", "http.server", "8000"))
    other = start_container(network, f"{network}-other", label_target=False)
    out = subprocess.run(["docker", "port", web, "8000"], capture_output=True, text=True, check=True).stdout
    port = int(out.split()[0].rsplit(":", 1)[1])
    for _ in range(100):
        if d.http_ok(f"http://127.0.0.1:{port}/"):
            break
        time.sleep(0.1)
    return Stack(name="t", kind="compose", base_url=f"http://127.0.0.1:{port}", project="blissful-test",
                 services={"web": (ServiceHandle("web", web, f"{network}-web", {8000: port}),),
                           "other": (ServiceHandle("other", other, f"{network}-other"),)})


def action(func: str, module: str = DOCKER, pause_after: float = 0, **arguments: Any) -> dict[str, Any]:
    activity: dict[str, Any] = {"type": "action", "name": func,
                                "provider": {"type": "python", "module": module, "func": func,
                                             "arguments": arguments}}
    if pause_after:
        activity["pauses"] = {"after": pause_after}
    return activity


def experiment(method: list[dict[str, Any]], rollbacks: list[dict[str, Any]] | None = None,
               url: str = "${blissful_base_url}/") -> dict[str, Any]:
    return {
        "title": "web survives", "description": "test",
        "steady-state-hypothesis": {"title": "web answers", "probes": [
            {"type": "probe", "name": "web-ok", "tolerance": True,
             "provider": {"type": "python", "module": DOCKER, "func": "http_ok",
                          "arguments": {"url": url, "timeout_s": 1.0}}}]},
        "method": method,
        "rollbacks": rollbacks or [],
    }


def test_passing_run_records_the_fault_window_and_journal(stack: Stack, tmp_path: Path) -> None:
    result = run_experiment(
        experiment([action("pause_container", pause_after=1.0, target="other")],
                   [action("unpause_container", target="other")]),
        stack=stack, report_dir=tmp_path)
    assert result.passed, result.explain()
    w = result.window
    assert w.injected_at is not None
    assert w.injection_done_at is not None
    assert w.removal_started_at is not None
    assert w.removed_at is not None
    assert w.injected_at <= w.injection_done_at < w.removal_started_at <= w.removed_at
    assert w.injection_done_at - w.injected_at < 1.0
    assert 1.0 <= w.removal_started_at - w.injection_done_at < 3.5  # pause + after-hypothesis
    assert w.injected_at_mono is not None
    assert w.removed_at_mono is not None
    assert abs((w.removed_at - w.injected_at) - (w.removed_at_mono - w.injected_at_mono)) < 0.01
    assert result.journal_path is not None
    assert result.journal_path.parent == tmp_path / "chaos"
    journal = json.loads(result.journal_path.read_text())
    assert journal["status"] == "completed"
    assert journal["experiment"]["configuration"]["blissful_base_url"] == stack.base_url
    assert d.container_status("other", configuration={"blissful_stack": stack.to_dict()}) == ["running"]
    assert FaultLedger().faults() == {}
    assert result.leftovers_removed == ()
    assert result.to_dict()["window"]["injected_at"] == w.injected_at


def test_a_fault_that_breaks_the_service_deviates(stack: Stack, tmp_path: Path) -> None:
    result = run_experiment(
        experiment([action("pause_container", target="web")], [action("unpause_container", target="web")]),
        stack=stack, report_dir=tmp_path)
    assert result.status == "deviated"
    assert not result.passed
    assert "steady state not met after the fault: 'web-ok'" in (result.reason or "")
    assert d.http_ok(stack.base_url + "/")


def test_steady_state_broken_before_the_fault_is_inconclusive(stack: Stack, tmp_path: Path) -> None:
    result = run_experiment(experiment([action("pause_container", target="web")],
                                       [action("unpause_container", target="web")], url="http://127.0.0.1:9/"),
                            stack=stack, report_dir=tmp_path)
    assert result.inconclusive
    assert not result.passed
    assert result.reason is not None
    assert result.reason.startswith("steady state not met before the fault")
    assert not result.window.injected  # the method never ran
    assert FaultLedger().faults() == {}


def test_a_failed_method_action_is_inconclusive(stack: Stack, tmp_path: Path) -> None:
    result = run_experiment(experiment([action("pause_container", target="no-such-service")]),
                            stack=stack, report_dir=tmp_path)
    assert result.inconclusive
    assert "method action 'pause_container' failed" in (result.reason or "")
    assert "no-such-service" in (result.reason or "")


def test_ctrl_c_in_the_method_still_plays_rollbacks_and_reraises(stack: Stack, tmp_path: Path) -> None:
    configuration = {"blissful_stack": stack.to_dict()}
    interrupt = {"type": "probe", "name": "ctrl-c", "provider": {
        "type": "python", "module": __name__, "func": "interrupt_now"}}
    with pytest.raises(KeyboardInterrupt):
        run_experiment(experiment([action("pause_container", target="web"), interrupt],
                                  [action("unpause_container", target="web")]), stack=stack, report_dir=tmp_path)
    assert d.container_status("web", configuration=configuration) == ["running"]
    assert FaultLedger().faults() == {}


def test_ctrl_c_without_rollbacks_the_ledger_removes_the_fault(stack: Stack, tmp_path: Path) -> None:
    interrupt = {"type": "probe", "name": "ctrl-c", "provider": {
        "type": "python", "module": __name__, "func": "interrupt_now"}}
    result = run_experiment(experiment([action("pause_container", target="web"),
                                        action("add_packet_loss", target="web", probability=0.5), interrupt]),
                            stack=stack, report_dir=tmp_path, reraise_interrupt=False)
    assert result.inconclusive
    assert result.interrupted_by == "KeyboardInterrupt"
    assert len(result.leftovers_removed) == 2
    assert d.container_running("web", configuration={"blissful_stack": stack.to_dict()})
    assert d.fault_rules("web", configuration={"blissful_stack": stack.to_dict()}) == []
    assert FaultLedger().faults() == {}


INJECT_AND_HANG = """
import json, sys, time
from pytest_blissful.chaos.actions import docker as d
cfg = {"blissful_stack": json.loads(sys.argv[1])}
d.pause_container("other", configuration=cfg)
d.add_packet_loss("web", 0.5, configuration=cfg)
d.add_cpu_stress("web", duration_s=120, configuration=cfg)
print("injected", flush=True)
time.sleep(600)
"""


def test_faults_of_a_sigkilled_run_are_removed_by_the_next_session(stack: Stack, pytester: pytest.Pytester) -> None:
    cfg = {"blissful_stack": stack.to_dict()}
    child = subprocess.Popen([sys.executable, "-c", INJECT_AND_HANG, json.dumps(stack.to_dict())],
                             stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "injected"
    os.kill(child.pid, signal.SIGKILL)
    child.wait(10)
    child.stdout.close()
    assert len(FaultLedger().orphans("fault")) == 3
    assert d.container_status("other", configuration=cfg) == ["paused"]
    assert d.stress_running("web", configuration=cfg)

    pytester.makepyfile("def test_nothing():\n    pass\n")
    outcome = pytester.runpytest_subprocess("-p", "no:randomly")
    outcome.assert_outcomes(passed=1)
    outcome.stdout.fnmatch_lines(["*removing fault pause-*", "*removing fault packet-loss-*",
                                  "*removing fault cpu-stress-*"])
    assert d.container_status("other", configuration=cfg) == ["running"]
    assert d.fault_rules("web", configuration=cfg) == []
    assert not d.stress_running("web", configuration=cfg)
    assert FaultLedger().faults() == {}
    assert remove_orphan_faults() == []
