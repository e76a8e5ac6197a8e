"""The graceful-shutdown evidence is taken at the signal the instance really got (real Docker).

On a busy machine `docker stop` reaches the engine a second or more after the action asked for it. The observer
anchors "in flight at SIGTERM" at the engine's kill event, so a service that dies at once on SIGTERM is never ✅
however late the signal came (❌ when requests were in flight), and one that drains is ✅ — the grade follows the
switch. Anchored at the action's
start (the old way), the graceless service's requests in flight at the action had all finished well before the
signal, and it was graded ✅ (seen in a CI run of the capability ablation).
"""

from __future__ import annotations

import subprocess
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pytest_blissful.flows.instance import InstanceObserver, kill_event
from pytest_blissful.grading.capabilities import FAILED, NOT_SHOWN, SHOWN, Observation, judge_graceful_shutdown

SERVER = Path(__file__).parent / "sigterm_server" / "server.py"
LATE_S = 1.0  # how long after the action "asked" the signal reaches the engine in these tests


@pytest.fixture
def instance(request: pytest.FixtureRequest) -> Iterator[tuple[str, str]]:
    graceful: bool = request.param
    name = f"blissful-test-sigterm-{uuid.uuid4().hex[:8]}"
    started = subprocess.run(
        ["docker", "run", "-d", "--init", "--name", name, "--label", "io.blissful.test=sigterm", "-e",
         f"GRACEFUL={int(graceful)}", "-p", "127.0.0.1::8000", "-v", f"{SERVER}:/app/server.py:ro",
         "blissful/base:bookworm", "python3", "-u", "/app/server.py"],
        capture_output=True, text=True, timeout=60, check=True)
    container = started.stdout.strip()
    try:
        port = subprocess.run(["docker", "port", container, "8000/tcp"], capture_output=True, text=True, timeout=30,
                              check=True).stdout.split(":")[-1].strip()
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(url + "/ready", timeout=1.0).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "the test server did not answer within 30 s"
            time.sleep(0.1)
        yield url, container
    finally:
        subprocess.run(["docker", "rm", "-f", container], capture_output=True, timeout=60, check=False)


def _observe_a_late_sigterm(url: str, container: str) -> tuple[InstanceObserver, float]:
    observer = InstanceObserver(url, container, inflight_path="/hello", ready_path="/ready", workers=4).start()
    time.sleep(1.0)  # requests in flight all along
    asked_at = time.time()  # what the action records as its start
    time.sleep(LATE_S)
    subprocess.run(["docker", "stop", "--time", "5", container], capture_output=True, timeout=60, check=True)
    deadline = time.monotonic() + 15
    while observer.exited_at is None and time.monotonic() < deadline:
        time.sleep(0.1)
    observer.stop()
    return observer, asked_at


def _grade(observer: InstanceObserver, asked_at: float) -> str:
    evidence = observer.evidence(asked_at, grace_s=5.0)
    finding = judge_graceful_shutdown(Observation(scenario="graceful-shutdown", fault="instance-stop",
                                                  fault_start=asked_at, fault_end=asked_at + 5, shutdown=evidence))
    return str(finding.status)


@pytest.mark.parametrize("instance", [False], ids=["dies-at-once"], indirect=True)
def test_a_service_that_dies_at_once_fails_however_late_the_signal_came(instance: tuple[str, str]) -> None:
    observer, asked_at = _observe_a_late_sigterm(*instance)
    assert observer.signal == 15 and observer.signal_at is not None
    assert observer.signal_at - asked_at >= LATE_S - 0.05  # the engine's instant, not the action's
    evidence = observer.evidence(asked_at, grace_s=5.0)
    assert evidence.sigterm_at == observer.signal_at  # "in flight at the signal" is counted from there
    assert observer.exit_code == 143, evidence
    # never ✅: ❌ (in-flight requests failed, or no readiness 503 before the exit), or "not shown" when no request
    # was seen in flight at the signal (0 in one loaded CI run). How many are seen depends on the machine: a client
    # thread starved of CPU records an answer given just before the signal as done after it.
    assert _grade(observer, asked_at) == (FAILED if evidence.in_flight else NOT_SHOWN), evidence


@pytest.mark.parametrize("instance", [True], ids=["drains"], indirect=True)
def test_a_service_that_drains_shows_graceful_shutdown(instance: tuple[str, str]) -> None:
    observer, asked_at = _observe_a_late_sigterm(*instance)
    evidence = observer.evidence(asked_at, grace_s=5.0)
    assert observer.exit_code == 0 and evidence.in_flight > 0 and evidence.in_flight_failed == 0, evidence
    assert evidence.ready_503_at is not None and evidence.ready_503_at >= evidence.sigterm_at
    assert _grade(observer, asked_at) == SHOWN


def test_kill_events_are_read_from_the_engine_s_json_lines() -> None:
    line = ('{"status":"kill","Type":"container","Action":"kill","Actor":{"ID":"9f23",'
            '"Attributes":{"name":"x","signal":"15"}},"time":1796163557,"timeNano":1796163557670825047}')
    at, signal = kill_event(line)
    assert signal == 15 and at == pytest.approx(1796163557.670825, abs=1e-6)
    assert kill_event('{"Action":"die","timeNano":1}') == (None, None)
    assert kill_event("not json") == (None, None)
