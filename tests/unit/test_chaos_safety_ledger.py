"""Pure parts of the chaos layer: the local-target rules, fault ledger bookkeeping, rule scripts, replicas."""

from __future__ import annotations

import subprocess
import sys

import pytest

from pytest_blissful.chaos import ChaosError, ChaosRefused, remove_all_faults, remove_orphan_faults, safety
from pytest_blissful.chaos.ledger import (
    FaultLedger,
    find_faults,
    forget_fault,
    iptables_removal_script,
    record_fault,
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


def test_orphans_are_faults_of_dead_processes() -> None:
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    FaultLedger().record("toxic-dead", "fault", int(dead.stdout), family="toxic", api="http://127.0.0.1:9",
                         proxy="db", toxic="t")
    record_fault("toxic", fault="toxic-latency", api="http://127.0.0.1:9", proxy="db", toxic="mine")
    assert list(FaultLedger().orphans("fault")) == ["toxic-dead"]
    with pytest.raises(ChaosError, match=r"(?s)could not remove every fault.*toxic-dead.*Toxiproxy not reachable"):
        remove_orphan_faults()
    assert "toxic-dead" in FaultLedger().faults()  # kept for the next attempt
    with pytest.raises(ChaosError, match=r"(?s)toxic-dead.*toxic-latency-"):
        remove_all_faults()


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
