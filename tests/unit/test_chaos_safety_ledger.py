"""Pure parts of the chaos layer: the local-target rules, fault ledger bookkeeping, rule scripts, replicas."""

from __future__ import annotations

import http.server
import re
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator

import pytest

from pytest_blissful.chaos import ChaosError, ChaosRefused, remove_all_faults, remove_orphan_faults, safety
from pytest_blissful.chaos.ledger import (
    FaultLedger,
    find_faults,
    forget_fault,
    iptables_removal_script,
    record_fault,
    remove_fault,
)
from pytest_blissful.chaos.targets import Container, _pick, stack_from
from pytest_blissful.stack.model import Stack

pytestmark = pytest.mark.usefixtures("isolated_state")


@pytest.mark.parametrize(("host", "local"), [
    ("127.0.0.1", True), ("localhost", True), ("::1", True), ("[::1]", True), ("127.8.9.10", True),
    ("app.localhost", True), ("10.0.0.5", False), ("staging.example.com", False), ("", False), (None, False),
])
def test_loopback_hosts(host: str | None, local: bool) -> None:
    assert safety.is_loopback_host(host) is local


@pytest.mark.parametrize(("docker_host", "local"), [
    ("", True), ("unix:///var/run/docker.sock", True), ("tcp://127.0.0.1:2375", True),
    ("tcp://10.0.0.7:2376", False), ("ssh://user@build-box", False),
])
def test_docker_engine_locality(docker_host: str, local: bool) -> None:
    assert safety.docker_engine_is_local(docker_host) is local


def test_remote_url_refused_unless_allowed(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ChaosRefused, match="--blissful-allow-chaos"):
        safety.check_url("http://10.1.1.1:8474", "the Toxiproxy API")
    safety.check_url("http://10.1.1.1:8474", "x", {"blissful_allow_remote": True})
    monkeypatch.setenv("BLISSFUL_ALLOW_CHAOS", "1")
    safety.check_url("http://10.1.1.1:8474", "x")


def test_container_ownership() -> None:
    mine = {"Id": "abc123", "Name": "/x", "Config": {"Labels": {"com.docker.compose.project": "blissful-1"}}}
    safety.check_container(mine, set(), "blissful-1")
    safety.check_container({**mine, "Config": {"Labels": {}}}, {"abc123"}, None)
    safety.check_container({**mine, "Config": {"Labels": {"io.blissful.chaos-target": "true"}}}, set(), None)
    with pytest.raises(ChaosRefused, match=r"container x \(abc123\): it belongs to compose project 'blissful-1', "
                                           r"not to this run's stack \(project 'other'\)"):
        safety.check_container(mine, set(), "other")


def test_remote_docker_engine_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DOCKER_HOST", "tcp://10.0.0.7:2376")
    with pytest.raises(ChaosRefused, match=r"DOCKER_HOST=tcp://10\.0\.0\.7:2376"):
        safety.check_container({"Id": "a", "Config": {"Labels": {}}}, {"a"}, None)


def test_ledger_records_before_and_forgets_after() -> None:
    key = record_fault("pause", {"blissful_run_id": "r1"}, fault="pause", container_id="c1")
    assert key.startswith("pause-")
    assert find_faults(container_id="c1")[key]["run_id"] == "r1"
    forget_fault(key)
    assert FaultLedger().faults() == {}


def _dead_pid() -> int:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    return int(dead.stdout)


class _FailingToxiproxy(http.server.BaseHTTPRequestHandler):
    """A Toxiproxy API that is up but refuses every change (500), so a recorded toxic cannot be removed."""

    def do_DELETE(self) -> None:
        self.send_response(500)
        self.end_headers()
        self.wfile.write(b"disk full")

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def failing_toxiproxy() -> Iterator[str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _FailingToxiproxy)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def _closed_loopback_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_orphans_are_faults_of_dead_processes(failing_toxiproxy: str) -> None:
    FaultLedger().record("toxic-dead", "fault", _dead_pid(), family="toxic", api=failing_toxiproxy, proxy="db",
                         toxic="t")
    record_fault("toxic", fault="toxic-latency", api=failing_toxiproxy, proxy="db", toxic="mine")
    assert list(FaultLedger().orphans("fault")) == ["toxic-dead"]
    with pytest.raises(ChaosError, match=r"(?s)could not remove every fault.*toxic-dead.*-> 500 disk full"):
        remove_orphan_faults()
    assert "toxic-dead" in FaultLedger().faults()  # kept for the next attempt
    with pytest.raises(ChaosError, match=r"(?s)toxic-dead.*toxic-latency-"):
        remove_all_faults()


def test_a_toxic_goes_with_its_toxiproxy() -> None:
    """Nothing listens at the recorded loopback API any more (the killed run's stack is gone): its toxics and
    disabled proxies went with the Toxiproxy process, so they count as removed instead of staying forever."""
    api = f"http://127.0.0.1:{_closed_loopback_port()}"
    FaultLedger().record("toxic-gone", "fault", _dead_pid(), family="toxic", api=api, proxy="db", toxic="t")
    FaultLedger().record("proxy-gone", "fault", _dead_pid(), family="proxy-disabled", api=api, proxy="db")
    assert sorted(remove_orphan_faults()) == ["proxy-gone", "toxic-gone"]
    assert FaultLedger().faults() == {}


def test_a_toxiproxy_elsewhere_that_does_not_answer_is_not_called_gone() -> None:
    with pytest.raises(ChaosError, match=r"Toxiproxy not reachable at http://toxiproxy\.invalid:8474"):
        remove_fault("toxic-x", {"family": "toxic", "api": "http://toxiproxy.invalid:8474", "proxy": "db",
                                 "toxic": "t"})


def test_leftovers_that_cannot_be_removed_do_not_stop_the_session(pytester: pytest.Pytester,
                                                                   failing_toxiproxy: str) -> None:
    """A killed run's fault that cannot be removed is a warning at session start (kept in the ledger), not an
    INTERNALERROR that stops every later session."""
    FaultLedger().record("toxic-stuck", "fault", _dead_pid(), family="toxic", api=failing_toxiproxy, proxy="db",
                         toxic="t")
    pytester.makepyfile("def test_ok():\n    assert True\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider", "-W", "default")
    result.assert_outcomes(passed=1)
    assert re.search(r"(?s)leftovers could not all be removed.*toxic-stuck.*500 disk full", result.stdout.str())
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
    assert "toxic-stuck" in FaultLedger().faults()


def test_no_ledger_file_means_nothing_to_do(isolated_state: object) -> None:
    assert remove_orphan_faults() == []
    assert not FaultLedger().path.exists()


def test_iptables_removal_is_exact_to_the_tag() -> None:
    script = iptables_removal_script("blissful:packet-loss-abc")
    assert "grep -F -- 'blissful:packet-loss-abc'" in script
    assert "-D " in script


def test_replica_selection_and_stack_binding() -> None:
    items = [Container("a", "a"), Container("b", "b")]
    assert _pick(items, "all", "web") == items
    assert _pick(items, "one", "web") == items[:1]
    assert _pick(items, 1, "web") == items[1:]
    with pytest.raises(ChaosError, match="replicas=5"):
        _pick(items, 5, "web")
    stack = Stack(name="s", kind="compose", base_url="http://127.0.0.1:1")
    assert stack_from({"blissful_stack": stack.to_dict()}) == stack
    assert stack_from({}) is None
def test_a_fault_of_this_run_that_cannot_be_removed_fails_the_session(pytester: pytest.Pytester,
                                                                       failing_toxiproxy: str) -> None:
    pytester.makepyfile(f"""
        from pytest_blissful.chaos.ledger import record_fault

        def test_injects():
            record_fault("toxic", fault="toxic-latency", api={failing_toxiproxy!r}, proxy="db", toxic="t")
    """)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert re.search(r"(?s)FAILED to remove this run's faults toxic-latency-.*500 disk full", result.stdout.str())
    assert "INTERNALERROR" not in result.stdout.str() + result.stderr.str()
