"""Fault actions and probes for Docker targets, for Chaos Toolkit experiments and for Python.

In an experiment::

    {"type": "action", "name": "pause-app",
     "provider": {"type": "python", "module": "pytest_blissful.chaos.actions.docker",
                  "func": "pause_container", "arguments": {"target": "app1"}}}

``target`` is a compose service name of the stack bound into the configuration (``blissful_stack``; every
replica, or ``replicas: "one"`` / an index) or a container id/name. Only this run's own containers are
accepted (see :mod:`pytest_blissful.chaos.safety`). Every ``add_*``/``kill``/``stop``/``pause`` is written to the
fault ledger before it happens and has a matching ``remove_*``/``start``/``unpause`` for the rollbacks.

Network faults run ``iptables``/``tc`` in the target's network namespace from a short-lived helper container
(``--network container:ID --cap-add NET_ADMIN``; image ``chaos.helper_image``, else
``$BLISSFUL_HELPER_IMAGE``, else ``blissful/base:bookworm``):
the target itself needs neither the tools nor the capability. Each rule carries a comment tag naming its
fault, so removal deletes exactly our rules.
"""

from __future__ import annotations

import ipaddress
import time
from typing import Any
from urllib.parse import urlsplit

import pytest_blissful.chaos._docker as _docker
from pytest_blissful.chaos.errors import ChaosError, NetemUnsupported
from pytest_blissful.chaos.ledger import (
    DEVICES,
    find_faults,
    forget_fault,
    iptables_removal_script,
    qdisc_removal_script,
    record_fault,
    remove_fault,
    update_fault,
)
from pytest_blissful.chaos.targets import Container, resolve, stack_from

Configuration = dict[str, Any] | None
TBF_HANDLE = "b1f1:"
NETEM_HANDLE = "b1f2:"
NETEM_MISSING = "netem qdisc not supported by this kernel: use the toxiproxy latency action"

__all__ = [
    "add_bandwidth_limit",
    "add_cpu_stress",
    "add_dns_failure",
    "add_latency",
    "add_memory_stress",
    "add_packet_loss",
    "add_partition",
    "container_running",
    "container_status",
    "fault_rules",
    "http_ok",
    "http_status",
    "kill_container",
    "netem_supported",
    "pause_container",
    "remove_bandwidth_limit",
    "remove_cpu_stress",
    "remove_dns_failure",
    "remove_latency",
    "remove_memory_stress",
    "remove_packet_loss",
    "remove_partition",
    "restart_container",
    "start_container",
    "stop_container",
    "stress_running",
    "unpause_container",
]


def _names(containers: list[Container]) -> list[str]:
    return [c.name for c in containers]


# --- container lifecycle -----------------------------------------------------------------------------------------

def _stop_like(target: str, replicas: str | int, configuration: Configuration, fault: str,
               command: list[str]) -> list[str]:
    containers = resolve(target, configuration, replicas)
    for c in containers:
        record_fault("stopped", configuration, fault=fault, container_id=c.id, container_name=c.name)
        _docker.docker(*command, c.id, timeout=120)
    return _names(containers)


def kill_container(target: str, replicas: str | int = "all", signal: str = "KILL",
                   configuration: Configuration = None) -> list[str]:
    """``docker kill -s SIGNAL``; rolled back by :func:`start_container` (a restart policy may restart it first)."""
    return _stop_like(target, replicas, configuration, "kill", ["kill", "--signal", signal])


def stop_container(target: str, replicas: str | int = "all", timeout_s: int = 10,
                   configuration: Configuration = None) -> list[str]:
    """``docker stop`` (SIGTERM, then SIGKILL after ``timeout_s``); rolled back by :func:`start_container`."""
    return _stop_like(target, replicas, configuration, "stop", ["stop", "--time", str(int(timeout_s))])


def start_container(target: str, replicas: str | int = "all", wait_s: float = 30.0,
                    configuration: Configuration = None) -> list[str]:
    """Start stopped/killed containers (running ones are left alone) and wait until they run."""
    containers = resolve(target, configuration, replicas)
    for c in containers:
        for key, entry in find_faults(family="stopped", container_id=c.id).items():
            remove_fault(key, entry)
        if _docker.state(c.id) in {"exited", "created", "dead"}:
            _docker.docker("start", c.id, timeout=120)
    _wait_state(containers, {"running"}, wait_s)
    _same_address(containers, configuration)
    return _names(containers)


def _same_address(containers: list[Container], configuration: Configuration) -> None:
    """A port published without a fixed host port ("127.0.0.1::8081") gets a new one when its container starts
    again: the instance is back, but not where the run (and its users) reach it. Say so instead of grading a
    recovery that cannot be observed at the address under test."""
    stack = stack_from(configuration)
    if stack is None:
        return
    entry_port = urlsplit(stack.base_url).port
    known = {h.container_id: h for handles in stack.services.values() for h in handles}
    for c in containers:
        handle = known.get(c.id) or next((h for h in known.values() if c.id.startswith(h.container_id)
                                          or h.container_id.startswith(c.id)), None)
        # only the address the run's load and probes use (other published ports may move: nothing uses them)
        entry = {port: host for port, host in (handle.published if handle else {}).items() if host == entry_port}
        if not entry:
            continue
        now = _docker.loopback_ports(c.id)
        moved = {port: (host, now.get(port)) for port, host in entry.items() if now.get(port) != host}
        if moved:
            raise ChaosError(
                f"{c.name} is running again, but on other host ports ("
                + ", ".join(f"container port {p}: 127.0.0.1:{old} → {'none' if new is None else f'127.0.0.1:{new}'}"
                            for p, (old, new) in sorted(moved.items()))
                + "): it was published without a fixed host port, and Docker gives it a new one at every start, so "
                "its recovery cannot be observed where the run reaches it. Publish a fixed host port "
                "('127.0.0.1:8081:8081') or kill an instance behind a load balancer (a replica of a service that "
                "does not publish the entry port)")


def restart_container(target: str, replicas: str | int = "all", timeout_s: int = 10,
                      configuration: Configuration = None) -> list[str]:
    """``docker restart``: a transient fault (recorded while it lasts, so a crash mid-restart is repaired)."""
    containers = resolve(target, configuration, replicas)
    for c in containers:
        key = record_fault("stopped", configuration, fault="restart", container_id=c.id, container_name=c.name)
        _docker.docker("restart", "--time", str(int(timeout_s)), c.id, timeout=120)
        forget_fault(key)
    return _names(containers)


def pause_container(target: str, replicas: str | int = "all", configuration: Configuration = None) -> list[str]:
    """Freeze every process (SIGSTOP-like, cgroup freezer); rolled back by :func:`unpause_container`."""
    containers = resolve(target, configuration, replicas)
    for c in containers:
        record_fault("pause", configuration, fault="pause", container_id=c.id, container_name=c.name)
        _docker.docker("pause", c.id)
    return _names(containers)


def unpause_container(target: str, replicas: str | int = "all", configuration: Configuration = None) -> list[str]:
    containers = resolve(target, configuration, replicas)
    for c in containers:
        entries = find_faults(family="pause", container_id=c.id)
        for key, entry in entries.items():
            remove_fault(key, entry)
        if not entries and _docker.state(c.id) == "paused":
            _docker.docker("unpause", c.id)
    return _names(containers)


def _wait_state(containers: list[Container], wanted: set[str], wait_s: float) -> None:
    deadline = time.monotonic() + wait_s
    for c in containers:
        while (current := _docker.state(c.id)) not in wanted:
            if time.monotonic() > deadline:
                raise ChaosError(f"container {c.name} is {current}, not {'/'.join(sorted(wanted))}, "
                                 f"after {wait_s:g} s")
            time.sleep(0.1)


# --- network: iptables in the target's namespace -----------------------------------------------------------------

def _inject_rules(containers: list[Container], fault: str, rules: list[str], configuration: Configuration) -> None:
    """Insert ``rules`` (``-t TABLE -I CHAIN spec``, without the jump) tagged with the fault's ledger key."""
    image = _docker.helper_image(configuration)
    for c in containers:
        # the helper image goes into the entry: the next session removes a killed run's rules with the same image
        key = record_fault("iptables", configuration, fault=fault, container_id=c.id, container_name=c.name,
                           helper_image=image)
        tag = f"blissful:{key}"
        update_fault(key, tag=tag)
        script = "set -e; " + "; ".join(f"iptables -w {rule} -m comment --comment {tag} -j DROP" for rule in rules)
        try:
            _docker.in_netns(c.id, script, image=image)
        except ChaosError:
            _docker.in_netns(c.id, iptables_removal_script(tag), check=False, image=image)
            forget_fault(key)
            raise


def _remove_rules(target: str, replicas: str | int, fault: str, configuration: Configuration) -> list[str]:
    containers = resolve(target, configuration, replicas)
    for c in containers:
        if _docker.state(c.id) == "running":  # every rule of this fault type in the namespace, recorded or not
            _docker.in_netns(c.id, iptables_removal_script(f"blissful:{fault}-"),
                             image=_docker.helper_image(configuration))
        for key in find_faults(family="iptables", fault=fault, container_id=c.id):
            forget_fault(key)
    return _names(containers)


_CHAINS = {"ingress": [("filter", "INPUT", "! -i lo")], "egress": [("filter", "OUTPUT", "! -o lo")]}
_CHAINS["both"] = _CHAINS["ingress"] + _CHAINS["egress"]


def add_packet_loss(target: str, probability: float, direction: str = "ingress", replicas: str | int = "all",
                    configuration: Configuration = None) -> list[str]:
    """Drop a random fraction ``probability`` (0..1] of the packets entering (``ingress``), leaving
    (``egress``) or both, on the target's interfaces (loopback excluded)."""
    if not 0 < float(probability) <= 1:
        raise ChaosError(f"probability must be in (0, 1], got {probability!r}")
    if direction not in _CHAINS:
        raise ChaosError(f"direction must be one of {sorted(_CHAINS)}, got {direction!r}")
    rules = [f"-t {table} -I {chain} {match} -m statistic --mode random --probability {float(probability):.6f}"
             for table, chain, match in _CHAINS[direction]]
    containers = resolve(target, configuration, replicas)
    _inject_rules(containers, "packet-loss", rules, configuration)
    return _names(containers)


def remove_packet_loss(target: str, replicas: str | int = "all", configuration: Configuration = None) -> list[str]:
    return _remove_rules(target, replicas, "packet-loss", configuration)


def add_partition(target: str, peers: list[str] | None = None, replicas: str | int = "all",
                  configuration: Configuration = None) -> list[str]:
    """Cut the target off the network (both directions; loopback kept), or only from ``peers`` (service names,
    container ids, IP addresses or CIDRs)."""
    containers = resolve(target, configuration, replicas)
    if peers:
        rules = []
        for net in _peer_networks(peers, configuration):
            rules += [f"-t filter -I INPUT -s {net}", f"-t filter -I OUTPUT -d {net}"]
    else:
        rules = ["-t filter -I INPUT ! -i lo", "-t filter -I OUTPUT ! -o lo"]
    _inject_rules(containers, "partition", rules, configuration)
    return _names(containers)


def remove_partition(target: str, replicas: str | int = "all", configuration: Configuration = None) -> list[str]:
    return _remove_rules(target, replicas, "partition", configuration)


def add_dns_failure(target: str, replicas: str | int = "all", configuration: Configuration = None) -> list[str]:
    """Drop every DNS query (udp/tcp 53) the target sends, Docker's embedded resolver included (``raw`` table,
    before Docker's DNAT): name lookups time out, connections by IP keep working."""
    rules = ["-t raw -I OUTPUT -p udp --dport 53", "-t raw -I OUTPUT -p tcp --dport 53"]
    containers = resolve(target, configuration, replicas)
    _inject_rules(containers, "dns-failure", rules, configuration)
    return _names(containers)


def remove_dns_failure(target: str, replicas: str | int = "all", configuration: Configuration = None) -> list[str]:
    return _remove_rules(target, replicas, "dns-failure", configuration)


def _peer_networks(peers: list[str], configuration: Configuration) -> list[str]:
    stack = stack_from(configuration)
    networks: list[str] = []
    for peer in peers:
        try:
            networks.append(str(ipaddress.ip_network(peer, strict=False)))
            continue
        except ValueError:
            pass
        ids = ([h.container_id for h in stack.service(peer)] if stack is not None and peer in stack.services
               else [peer])
        for container_id in ids:
            info = _docker.inspect(container_id)
            if info is None:
                raise ChaosError(f"partition peer {peer!r}: no such service or container")
            addresses = [n.get("IPAddress") for n in (info["NetworkSettings"].get("Networks") or {}).values()]
            networks += [f"{a}/32" for a in addresses if a]
    if not networks:
        raise ChaosError(f"partition peers {peers!r} have no IP address")
    return networks


# --- network: qdiscs (tbf bandwidth, netem latency) --------------------------------------------------------------

def _inject_qdisc(containers: list[Container], fault: str, handle: str, qdisc: str,
                  configuration: Configuration) -> None:
    image = _docker.helper_image(configuration)
    for c in containers:
        key = record_fault("qdisc", configuration, fault=fault, container_id=c.id, container_name=c.name,
                           handle=handle, helper_image=image)
        script = f"set -e; for dev in {DEVICES}; do tc qdisc add dev $dev root handle {handle} {qdisc}; done"
        completed = _docker.in_netns(c.id, script, check=False, image=image)
        if completed.returncode != 0:
            _docker.in_netns(c.id, qdisc_removal_script(handle), check=False, image=image)
            forget_fault(key)
            error = (completed.stderr or completed.stdout).strip()
            if "qdisc kind is unknown" in error and qdisc.startswith("netem"):
                raise NetemUnsupported(f"{NETEM_MISSING} (pytest_blissful.chaos.actions.toxiproxy"
                                       f".create_latency_toxic); tc said: {error}")
            raise ChaosError(f"tc qdisc {qdisc.split()[0]} on {c.name} failed: {error}")


def _remove_qdisc(target: str, replicas: str | int, fault: str, handle: str,
                  configuration: Configuration) -> list[str]:
    containers = resolve(target, configuration, replicas)
    for c in containers:
        if _docker.state(c.id) == "running":
            _docker.in_netns(c.id, qdisc_removal_script(handle), image=_docker.helper_image(configuration))
        for key in find_faults(family="qdisc", fault=fault, container_id=c.id):
            forget_fault(key)
    return _names(containers)


def add_bandwidth_limit(target: str, rate: str = "1mbit", burst: str = "32kbit", latency: str = "400ms",
                        replicas: str | int = "all", configuration: Configuration = None) -> list[str]:
    """Limit what the target sends to ``rate`` (tc units: ``kbit``, ``mbit``...) with a token bucket (tbf)."""
    containers = resolve(target, configuration, replicas)
    _inject_qdisc(containers, "bandwidth", TBF_HANDLE, f"tbf rate {rate} burst {burst} latency {latency}",
                  configuration)
    return _names(containers)


def remove_bandwidth_limit(target: str, replicas: str | int = "all",
                           configuration: Configuration = None) -> list[str]:
    return _remove_qdisc(target, replicas, "bandwidth", TBF_HANDLE, configuration)


def add_latency(target: str, delay_ms: float, jitter_ms: float = 0.0, replicas: str | int = "all",
                configuration: Configuration = None) -> list[str]:
    """Delay every packet the target sends by ``delay_ms`` ± ``jitter_ms`` (netem). Raises
    :class:`NetemUnsupported` on kernels without netem: use the Toxiproxy latency toxic there."""
    containers = resolve(target, configuration, replicas)
    jitter = f" {float(jitter_ms):g}ms" if jitter_ms else ""
    _inject_qdisc(containers, "latency", NETEM_HANDLE, f"netem delay {float(delay_ms):g}ms{jitter}", configuration)
    return _names(containers)


def remove_latency(target: str, replicas: str | int = "all", configuration: Configuration = None) -> list[str]:
    return _remove_qdisc(target, replicas, "latency", NETEM_HANDLE, configuration)


_NETEM_SUPPORTED: bool | None = None


def netem_supported() -> bool:
    """Whether this kernel has the netem qdisc (tried once, in a throwaway namespace)."""
    global _NETEM_SUPPORTED
    if _NETEM_SUPPORTED is None:
        completed = _docker.docker("run", "--rm", "--network", "none", "--cap-add", "NET_ADMIN", "--entrypoint",
                                   "sh", _docker.helper_image(), "-c", "tc qdisc add dev lo root netem delay 1ms",
                                   check=False)
        _NETEM_SUPPORTED = completed.returncode == 0
    return _NETEM_SUPPORTED


# --- CPU and memory stress (stress-ng inside the target: its cgroup, its limits) ---------------------------------

def _start_stress(target: str, replicas: str | int, fault: str, command: str, fallback: str | None,
                  duration_s: float, configuration: Configuration) -> list[str]:
    containers = resolve(target, configuration, replicas)
    for c in containers:
        key = record_fault("stress", configuration, fault=fault, container_id=c.id, container_name=c.name)
        update_fault(key, marker=key)
        if fallback is None:
            missing = (f"echo 'stress-ng is not installed in the container: add it to the image to use {fault}' >&2;"
                       " exit 3")
        else:
            missing = f"set -- timeout {int(duration_s)} {fallback}"
        # stress-ng refuses to start without a writable temp path (an app's working directory often is not);
        # a start that dies at once (bad arguments, no permission) is reported with its own words
        log = f"/tmp/blissful-{fault}-{key[-8:]}.log"
        script = (
            f"if command -v stress-ng >/dev/null 2>&1; then set -- {command} --temp-path /tmp; else {missing}; fi; "
            "if command -v setsid >/dev/null 2>&1; then set -- setsid \"$@\"; fi; "
            f"BLISSFUL_FAULT={key} \"$@\" >{log} 2>&1 </dev/null & pid=$!; sleep 0.2; "
            f"if kill -0 $pid 2>/dev/null; then echo $pid; else echo \"$(tail -n 3 {log})\" >&2; exit 4; fi"
        )
        try:
            started = _docker.exec_in(c.id, script, check=False)
        except ChaosError:
            forget_fault(key)
            raise
        if started.returncode != 0:
            forget_fault(key)
            said = (started.stderr or started.stdout).strip() or f"exit code {started.returncode}"
            raise ChaosError(f"{fault} did not start in {c.name}: {said}")
        update_fault(key, pid=int(started.stdout.split()[-1]))
    return _names(containers)


def _stop_stress(target: str, replicas: str | int, fault: str, configuration: Configuration) -> list[str]:
    containers = resolve(target, configuration, replicas)
    for c in containers:
        for key, entry in find_faults(family="stress", fault=fault, container_id=c.id).items():
            remove_fault(key, entry)
    return _names(containers)


def add_cpu_stress(target: str, workers: int = 1, load_percent: int = 100, duration_s: float = 60.0,
                   replicas: str | int = "all", configuration: Configuration = None) -> list[str]:
    """Burn CPU inside the target for at most ``duration_s`` (stress-ng; busy shell loops without it)."""
    command = (f"stress-ng --cpu {int(workers)} --cpu-load {int(load_percent)} --timeout {int(duration_s)}s")
    loops = " ".join(["sh -c 'while :; do :; done' &"] * int(workers))
    fallback = f"sh -c \"{loops} wait\""
    return _start_stress(target, replicas, "cpu-stress", command, fallback, duration_s, configuration)


def remove_cpu_stress(target: str, replicas: str | int = "all", configuration: Configuration = None) -> list[str]:
    return _stop_stress(target, replicas, "cpu-stress", configuration)


def add_memory_stress(target: str, size: str = "256M", workers: int = 1, duration_s: float = 60.0,
                      replicas: str | int = "all", configuration: Configuration = None) -> list[str]:
    """Hold ``size`` of memory per worker (``256M``, ``1G`` or ``80%`` of what is free) inside the target for at
    most ``duration_s``; the target's own memory limit applies (an OOM kill is a finding). Needs stress-ng."""
    command = (f"stress-ng --vm {int(workers)} --vm-bytes {size} --vm-keep --timeout {int(duration_s)}s")
    return _start_stress(target, replicas, "memory-stress", command, None, duration_s, configuration)


def remove_memory_stress(target: str, replicas: str | int = "all", configuration: Configuration = None) -> list[str]:
    return _stop_stress(target, replicas, "memory-stress", configuration)


# --- probes ------------------------------------------------------------------------------------------------------

def container_status(target: str, replicas: str | int = "all", configuration: Configuration = None) -> list[str]:
    """``running`` / ``paused`` / ``exited`` ... per container (``missing`` when it is gone)."""
    return [_docker.state(c.id) or "missing" for c in resolve(target, configuration, replicas)]


def container_running(target: str, replicas: str | int = "all", configuration: Configuration = None) -> bool:
    return all(s == "running" for s in container_status(target, replicas, configuration))


def fault_rules(target: str, replicas: str | int = "all", configuration: Configuration = None) -> list[str]:
    """Our iptables rules and qdiscs (``blissful:`` tags, our handles) still present in the target's namespace."""
    found: list[str] = []
    script = (f"iptables -w -t filter -S; iptables -w -t raw -S; for dev in {DEVICES}; do "
              "tc qdisc show dev $dev root; done")
    for c in resolve(target, configuration, replicas):
        if _docker.state(c.id) != "running":
            continue
        lines = _docker.in_netns(c.id, script, image=_docker.helper_image(configuration)).stdout.splitlines()
        found += [line for line in lines
                  if "blissful:" in line or f" {TBF_HANDLE} " in line or f" {NETEM_HANDLE} " in line]
    return found


def stress_running(target: str, replicas: str | int = "all", configuration: Configuration = None) -> bool:
    """Whether any process started by a stress fault still runs in the target."""
    find = ("for p in /proc/[0-9]*; do tr '\\0' '\\n' < $p/environ 2>/dev/null | grep -q '^BLISSFUL_FAULT=' "
            "&& echo ${p#/proc/}; done; true")
    return any(_docker.exec_in(c.id, find).stdout.strip()
               for c in resolve(target, configuration, replicas) if _docker.state(c.id) == "running")


def http_status(url: str, timeout_s: float = 2.0) -> int:
    """HTTP status of a GET (0 when no answer came within ``timeout_s``)."""
    import httpx

    try:
        return httpx.get(url, timeout=timeout_s).status_code
    except httpx.HTTPError:
        return 0


def http_ok(url: str, timeout_s: float = 2.0, status: int = 200) -> bool:
    return http_status(url, timeout_s) == status
