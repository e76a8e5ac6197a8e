"""Docker fault actions on real containers: each fault is injected, its effect measured, then removed without trace."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from pytest_blissful.chaos import ChaosError, ChaosRefused, NetemUnsupported
from pytest_blissful.chaos.actions import docker as d
from pytest_blissful.chaos.ledger import FaultLedger, remove_orphan_faults
from pytest_blissful.stack.model import ServiceHandle, Stack
from tests.integration.conftest import IMAGE, start_container

pytestmark = pytest.mark.usefixtures("isolated_state")

UDP_ECHO = ("import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(('0.0.0.0', 9999))\n"
            "while True:\n d, a = s.recvfrom(64); s.sendto(d, a)")
UDP_LOSS = """
import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.settimeout(0.05)
n, got = int(sys.argv[2]), 0
for i in range(n):
    s.sendto(b'%d' % i, (sys.argv[1], 9999))
    try:
        s.recvfrom(64); got += 1
    except OSError:
        pass
print((n - got) / n)
"""


def sh(container: str, script: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["docker", "exec", container, "sh", "-c", script], capture_output=True, text=True,
                          timeout=timeout, check=False)


@dataclass
class Pair:
    network: str
    target: str  # container id, labelled as a chaos target
    target_name: str
    client: str


@pytest.fixture
def pair(network: str) -> Pair:
    target = start_container(network, f"{network}-target", command=("python3", "-c", UDP_ECHO))
    client = start_container(network, f"{network}-client")
    return Pair(network, target, f"{network}-target", client)


def udp_loss(pair: Pair, n: int = 200) -> float:
    out = sh(pair.client, f"python3 -c \"{UDP_LOSS}\" {pair.target_name} {n}")
    assert out.returncode == 0, out.stderr
    return float(out.stdout.strip())


def assert_clean(container: str) -> None:
    assert d.fault_rules(container) == []
    assert not d.stress_running(container)
    assert FaultLedger().faults() == {}


def test_packet_loss_is_measured_and_removed(pair: Pair) -> None:
    assert udp_loss(pair, 50) == 0.0
    d.add_packet_loss(pair.target, 0.5)
    [(_key, entry)] = FaultLedger().faults().items()
    assert entry["family"] == "iptables"
    assert entry["container_id"] == pair.target
    assert any("statistic" in rule for rule in d.fault_rules(pair.target))
    assert 0.3 < udp_loss(pair) < 0.7
    d.remove_packet_loss(pair.target)
    assert udp_loss(pair, 50) == 0.0
    assert_clean(pair.target)


def test_partition_cuts_all_traffic_then_heals(pair: Pair) -> None:
    d.add_partition(pair.target)
    assert udp_loss(pair, 20) == 1.0
    d.remove_partition(pair.target)
    assert udp_loss(pair, 20) == 0.0
    assert_clean(pair.target)


def test_partition_from_one_peer_only(network: str, pair: Pair) -> None:
    other = start_container(network, f"{network}-other")
    d.add_partition(pair.target, peers=[pair.client])
    assert udp_loss(pair, 20) == 1.0
    reply = sh(other, f"python3 -c \"{UDP_LOSS}\" {pair.target_name} 20")
    assert float(reply.stdout) == 0.0
    d.remove_partition(pair.target)
    assert_clean(pair.target)


def test_dns_failure_breaks_name_lookups_only(pair: Pair) -> None:
    client_name = f"{pair.network}-client"
    assert sh(pair.target, f"getent hosts {client_name}").returncode == 0
    d.add_dns_failure(pair.target)
    assert sh(pair.target, f"timeout 3 getent hosts {client_name}").returncode != 0
    client_ip = sh(pair.client, "hostname -i").stdout.split()[0]
    assert sh(pair.target, f"python3 -c \"import socket; socket.create_connection(('{client_ip}', 1), 2)\" 2>&1"
              " | grep -q 'refused'").returncode == 0  # by IP the network still answers
    d.remove_dns_failure(pair.target)
    assert sh(pair.target, f"getent hosts {client_name}").returncode == 0
    assert_clean(pair.target)


def test_bandwidth_limit_slows_downloads(network: str) -> None:
    server = start_container(network, f"{network}-web", command=(
        "sh", "-c", "head -c 600000 /dev/urandom > /tmp/blob && cd /tmp && exec python3 -m http.server 8000"))
    client = start_container(network, f"{network}-client")
    url = f"http://{network}-web:8000/blob"
    for _ in range(50):
        if sh(client, f"curl -fso /dev/null {url}").returncode == 0:
            break
        time.sleep(0.2)

    def speed() -> float:  # bytes per second
        return float(sh(client, f"curl -fso /dev/null -w '%{{speed_download}}' {url}").stdout)

    assert speed() > 2_000_000
    d.add_bandwidth_limit(server, rate="2mbit")
    assert any("tbf" in line for line in d.fault_rules(server))
    assert speed() < 400_000  # 2 Mbit/s = 250 kB/s
    d.remove_bandwidth_limit(server)
    assert speed() > 2_000_000
    assert_clean(server)


def test_netem_latency_or_a_clear_error(pair: Pair) -> None:
    if not d.netem_supported():
        with pytest.raises(NetemUnsupported, match="netem qdisc not supported by this kernel: use the toxiproxy "
                                                   "latency action"):
            d.add_latency(pair.target, 200)
        assert_clean(pair.target)
        return
    d.add_latency(pair.target, 200)
    assert udp_loss(pair, 5) == 1.0  # every echo comes back after the client's 50 ms wait
    d.remove_latency(pair.target)
    assert udp_loss(pair, 20) == 0.0
    assert_clean(pair.target)


def test_cpu_and_memory_stress_start_and_stop(pair: Pair) -> None:
    d.add_cpu_stress(pair.target, workers=2, duration_s=60)
    d.add_memory_stress(pair.target, size="64M", duration_s=60)
    assert d.stress_running(pair.target)
    assert "stress-ng-cpu" in sh(pair.target, "ps -eo comm").stdout
    assert {e["fault"] for e in FaultLedger().faults().values()} == {"cpu-stress", "memory-stress"}
    d.remove_cpu_stress(pair.target)
    assert "stress-ng-cpu" not in sh(pair.target, "ps -eo comm").stdout
    assert "stress-ng-vm" in sh(pair.target, "ps -eo comm").stdout
    d.remove_memory_stress(pair.target)
    assert "stress-ng" not in sh(pair.target, "ps -eo comm").stdout
    assert_clean(pair.target)


def test_stress_runs_as_an_unprivileged_user_in_a_read_only_working_directory(network: str) -> None:
    """Like the demo's app (user ``demo`` in ``/app``): stress-ng refuses a temp path it cannot write."""
    target = start_container(network, f"{network}-app", "--user", "nobody", "--workdir", "/usr")
    d.add_cpu_stress(target, workers=1, duration_s=30)
    assert "stress-ng-cpu" in sh(target, "ps -eo comm").stdout
    d.remove_cpu_stress(target)
    assert_clean(target)


def test_a_stress_that_cannot_start_says_why(pair: Pair) -> None:
    with pytest.raises(ChaosError, match=r"memory-stress did not start in .*: .+"):
        d.add_memory_stress(pair.target, size="lots", duration_s=10)
    assert_clean(pair.target)


def test_pause_kill_stop_restart(pair: Pair) -> None:
    d.pause_container(pair.target)
    assert d.container_status(pair.target) == ["paused"]
    assert [e["family"] for e in FaultLedger().faults().values()] == ["pause"]
    d.unpause_container(pair.target)
    assert d.container_running(pair.target)
    d.kill_container(pair.target)
    assert d.container_status(pair.target) == ["exited"]
    d.start_container(pair.target)
    assert d.container_running(pair.target)
    d.stop_container(pair.target, timeout_s=1)
    assert not d.container_running(pair.target)
    d.start_container(pair.target)
    d.restart_container(pair.target, timeout_s=1)
    assert d.container_running(pair.target)
    assert_clean(pair.target)


def test_service_names_resolve_through_the_stack_one_replica_or_all(network: str) -> None:
    ids = [start_container(network, f"{network}-web-{i}", label_target=False) for i in (1, 2)]
    stack = Stack(name="t", kind="compose", base_url="http://127.0.0.1:1", project="blissful-none",
                  services={"web": tuple(ServiceHandle("web", cid, f"web-{i}") for i, cid in enumerate(ids))})
    configuration = {"blissful_stack": stack.to_dict()}
    d.pause_container("web", replicas="one", configuration=configuration)
    assert d.container_status("web", configuration=configuration) == ["paused", "running"]
    d.pause_container("web", replicas=1, configuration=configuration)
    d.unpause_container("web", configuration=configuration)
    assert d.container_running("web", configuration=configuration)
    assert FaultLedger().faults() == {}


def test_a_container_that_is_not_ours_is_refused(network: str) -> None:
    stranger = start_container(network, f"{network}-stranger", label_target=False)
    stack = Stack(name="t", kind="compose", base_url="http://127.0.0.1:1", project="blissful-mine")
    with pytest.raises(ChaosRefused, match=r"refusing chaos against container .*stranger.*--blissful-allow-chaos"):
        d.pause_container(stranger, configuration={"blissful_stack": stack.to_dict()})
    assert d.container_status(stranger, configuration={"blissful_allow_remote": True}) == ["running"]
    assert FaultLedger().faults() == {}
    d.pause_container(stranger, configuration={"blissful_allow_remote": True})
    d.unpause_container(stranger, configuration={"blissful_allow_remote": True})


INJECT_WITH_HELPER_AND_HANG = """
import sys, time
from pytest_blissful.chaos.actions import docker as d
cfg = {"blissful_helper_image": sys.argv[2]}
d.add_packet_loss(sys.argv[1], 0.5, configuration=cfg)
d.add_bandwidth_limit(sys.argv[1], configuration=cfg)
print("injected", flush=True)
time.sleep(600)
"""


@pytest.fixture
def helper_tag() -> Iterator[str]:
    """The base image under a second, non-default tag (``chaos.helper_image`` of a user's run); untagged after."""
    tag = f"blissful-test/netfault-helper:{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "tag", IMAGE, tag], check=True, capture_output=True, timeout=60)
    try:
        yield tag
    finally:
        subprocess.run(["docker", "rmi", tag], check=False, capture_output=True, timeout=60)  # the tag only


def test_a_killed_runs_network_faults_are_removed_with_the_helper_image_they_were_injected_with(
        network: str, helper_tag: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """A run with ``chaos.helper_image`` set is SIGKILLed with an iptables rule and a tbf qdisc in place; the next
    session's cleanup runs where the default helper image does not exist (as on a pip user's machine, here
    ``$BLISSFUL_HELPER_IMAGE`` naming an absent image) and still removes both, with the recorded image."""
    target = start_container(network, f"{network}-target")
    child = subprocess.Popen([sys.executable, "-c", INJECT_WITH_HELPER_AND_HANG, target, helper_tag],
                             stdout=subprocess.PIPE, text=True, env=os.environ.copy())
    assert child.stdout is not None
    try:
        assert child.stdout.readline().strip() == "injected"
    finally:
        os.kill(child.pid, signal.SIGKILL)
        child.wait(10)
        child.stdout.close()
    orphans = FaultLedger().orphans("fault")
    assert sorted(entry["family"] for entry in orphans.values()) == ["iptables", "qdisc"]
    assert {entry["helper_image"] for entry in orphans.values()} == {helper_tag}
    assert len(d.fault_rules(target)) >= 2, "SIGKILL cannot clean up: the rules must still be there"

    monkeypatch.setenv("BLISSFUL_HELPER_IMAGE", f"blissful-test/absent:{uuid.uuid4().hex[:8]}")
    assert sorted(remove_orphan_faults()) == sorted(orphans)
    monkeypatch.delenv("BLISSFUL_HELPER_IMAGE")
    assert_clean(target)


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.mark.parametrize("fixed", [True, False], ids=["fixed-host-port", "ephemeral-host-port"])
def test_a_killed_entry_instance_must_come_back_where_the_run_reaches_it(network: str, fixed: bool) -> None:
    """The same kill and start: with a fixed host port the instance is back at the address under test; published
    as 127.0.0.1::80 Docker gives it a new port, and the rollback says so (the run is inconclusive)."""
    port = _free_port()
    cid = start_container(network, f"{network}-entry", "-p", f"127.0.0.1:{port if fixed else ''}:80")
    host = int(subprocess.run(["docker", "port", cid, "80/tcp"], capture_output=True, text=True, check=True)
               .stdout.split(":")[-1])
    stack = Stack(name="t", kind="compose", base_url=f"http://127.0.0.1:{host}", project="blissful-none",
                  services={"web": (ServiceHandle("web", cid, f"{network}-entry", {80: host}),)})
    configuration = {"blissful_stack": stack.to_dict()}
    d.kill_container("web", configuration=configuration)
    if fixed:
        d.start_container("web", configuration=configuration)
    else:
        with pytest.raises(ChaosError, match=rf"container port 80: 127\.0\.0\.1:{host} → 127\.0\.0\.1:\d+.*fixed host"):
            d.start_container("web", configuration=configuration)
    assert d.container_running("web", configuration=configuration)
