"""The fmea fixture never leaves a fault behind: after a pass, a failure, Ctrl-C, and SIGKILL (+ the next run).

An inner pytest session runs a custom scenario against the one-service tiny stack; afterwards the engine is
checked for paused containers, iptables rules and stress processes, and the fault ledger must be empty.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.integration.conftest import assert_nothing_left
from tests.processes import end, restore_ctrl_c

pytestmark = pytest.mark.usefixtures("isolated_state")

def _engine_state(container_id: str) -> dict[str, object]:
    inspect = json.loads(subprocess.run(["docker", "inspect", container_id], capture_output=True, text=True,
                                        check=True, timeout=30).stdout)[0]
    state: dict[str, object] = {"paused": inspect["State"]["Paused"]}
    if inspect["State"]["Running"] and not inspect["State"]["Paused"]:
        ps = subprocess.run(["docker", "top", container_id], capture_output=True, text=True, timeout=30).stdout
        state["stress"] = "stress-ng" in ps
        rules = subprocess.run(
            ["docker", "run", "--rm", "--network", f"container:{container_id}", "--cap-add", "NET_ADMIN",
             "blissful/base:bookworm", "iptables-save"], capture_output=True, text=True, timeout=60).stdout
        state["blissful_rules"] = [line for line in rules.splitlines() if "blissful" in line]
    return state


def _fault_entries() -> list[str]:
    ledger = Path(os.environ["BLISSFUL_STATE_DIR"]) / "ledger.json"
    if not ledger.exists():
        return []
    return [key for key, entry in json.loads(ledger.read_text()).items() if entry["kind"] == "fault"]


def _run_inner_until_injected(tiny: pytest.Pytester, scenario: str) -> tuple[subprocess.Popen[bytes], str, str]:
    (tiny.path / "which.txt").write_text(scenario)
    with (tiny.path / "inner.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "test_scenario.py"],
                                   cwd=tiny.path, stdout=log, stderr=subprocess.STDOUT, env=os.environ.copy(),
                                   preexec_fn=restore_ctrl_c)
    deadline = time.monotonic() + 120
    while not _fault_entries():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            process.wait(timeout=10)
            pytest.fail("the inner session never injected its fault:\n" + (tiny.path / "inner.log").read_text())
        time.sleep(0.1)
    project, container = (tiny.path / "project.txt").read_text().split()
    return process, project, container


@pytest.mark.parametrize(("scenario", "expected"), [("lossy", None), ("busy", "pass"), ("freeze", "fail")])
def test_no_fault_left_after_pass_or_fail(tiny_chaos: pytest.Pytester, scenario: str, expected: str | None) -> None:
    (tiny_chaos.path / "which.txt").write_text(scenario)
    result = tiny_chaos.runpytest_subprocess("test_scenario.py", "--blissful-keep-stack")
    project, container = (tiny_chaos.path / "project.txt").read_text().split()
    try:
        verdict = (tiny_chaos.path / "verdict.txt").read_text()
        # 1% packet loss may or may not break the tiny server's p99; either way its rules must go
        assert verdict == expected if expected else verdict in ("pass", "fail"), result.stdout.str()
        if expected == "fail":
            result.stdout.fnmatch_lines(["*FMEA freeze: FAIL*", "*suggestion: run two replicas*"])
        state = _engine_state(container)
        assert state == {"paused": False, "stress": False, "blissful_rules": []}
        assert _fault_entries() == []
    finally:
        subprocess.run(["docker", "compose", "--project-name", project, "down", "--volumes", "-t", "1"],
                       capture_output=True, timeout=60, check=False)
    assert_nothing_left(project)


def test_ctrl_c_during_the_fault_removes_it(tiny_chaos: pytest.Pytester) -> None:
    process, project, _ = _run_inner_until_injected(tiny_chaos, "freeze")
    try:
        process.send_signal(signal.SIGINT)
        process.wait(timeout=90)
    finally:
        end(process)
    log = (tiny_chaos.path / "inner.log").read_text()
    assert process.returncode == pytest.ExitCode.INTERRUPTED, log
    assert _fault_entries() == []
    assert_nothing_left(project)


def test_sigkill_during_the_fault_is_repaired_by_the_next_run(tiny_chaos: pytest.Pytester) -> None:
    process, project, container = _run_inner_until_injected(tiny_chaos, "freeze")
    time.sleep(0.5)
    process.kill()
    process.wait(timeout=30)
    assert _engine_state(container)["paused"] is True, "SIGKILL cannot clean up: the pause must still be there"
    (tiny_chaos.path / "test_scenario.py").unlink()
    tiny_chaos.makepyfile(test_next="def test_nothing(): pass")
    result = tiny_chaos.runpytest_subprocess("test_next.py")
    result.assert_outcomes(passed=1)
    assert _fault_entries() == []
    assert_nothing_left(project)


def test_abort_on_critical_failure_ends_the_fault_early_and_removes_it(tiny_chaos: pytest.Pytester) -> None:
    config = (tiny_chaos.path / "blissful.yaml").read_text()
    config = config.replace("abort_on_critical_failure: false", "abort_on_critical_failure: true")
    config = config.replace("default_duration: 3s", "default_duration: 60s")
    (tiny_chaos.path / "blissful.yaml").write_text(config)
    (tiny_chaos.path / "which.txt").write_text("freeze")
    started = time.monotonic()
    result = tiny_chaos.runpytest_subprocess("test_scenario.py")
    elapsed = time.monotonic() - started
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines(["*FMEA freeze: FAIL — aborted: *% of probes failed over 5 s (critical bound 90%)*"])
    assert elapsed < 45, f"the 60 s fault should have been cut short, the session took {elapsed:.0f} s"
    assert _fault_entries() == []
