"""The demo's domain events on a real Kafka broker (KRaft), end to end: HTTP -> Kafka -> WebSocket.

One demo stack for the module (the same code path as the ``stack`` fixture). The ``kafka-down`` fault is the one
``experiments/kafka-down.json`` injects: the Toxiproxy proxy in front of the broker is disabled (the broker
advertises the proxy's address, so every client connection goes through it). Counted here:

- resilient profile: greetings accepted before, during and after the fault, and how many of their events never
  reached WebSocket clients on *both* replicas (lost; goal 0), with ``X-Event: queued`` seen during the fault;
- fragile profile (the replicas recreated with ``BLISSFUL_PROFILE=fragile``): 503 while the broker is cut;
- a broker that never comes up fails the stack start, naming the broker and showing its log.
"""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from pytest_blissful.chaos.actions import toxiproxy
from pytest_blissful.config.schema import DEMO_CHAOS_TARGETS, BlissfulConfig, StackConfig
from pytest_blissful.stack.errors import StackError
from pytest_blissful.stack.ledger import Ledger
from pytest_blissful.stack.manager import StackManager
from pytest_blissful.stack.model import Stack

BROKER_PROXY = DEMO_CHAOS_TARGETS["broker_proxy"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    state = tmp_path_factory.mktemp("kafka-state")
    config = BlissfulConfig(stack=StackConfig(startup_timeout=240))  # a shared machine can be very busy
    manager = StackManager(config, f"kafka{uuid.uuid4().hex[:8]}", state, os.getpid(), Ledger(state))
    try:
        yield manager.get()
    finally:
        manager.teardown()


def _compose(stack: Stack, *args: str, env: dict[str, str] | None = None) -> None:
    files = [a for f in stack.compose_files for a in ("-f", f)]
    done = subprocess.run(["docker", "compose", "--project-name", str(stack.project), *files, *args], check=False,
                          capture_output=True, text=True, timeout=180, env={**os.environ, **(env or {})})
    assert done.returncode == 0, f"docker compose {' '.join(args)} failed: {done.stderr.strip()[-1500:]}"


def _recreate_replicas(stack: Stack, profile: str) -> None:
    """The replicas again with another profile; nginx resolves their (new) addresses again on reload."""
    _compose(stack, "up", "-d", "--no-deps", "--wait", "app1", "app2", env={"BLISSFUL_PROFILE": profile})
    _compose(stack, "exec", "-T", "lb", "nginx", "-s", "reload")
    time.sleep(1)


class Listeners:
    """WebSocket clients until one is connected to each replica (by X-Instance); records greeting names."""

    def __init__(self, base_url: str, replicas: int = 2) -> None:
        from websockets.sync.client import connect

        self.received: dict[str, set[str]] = {}
        self._lock = threading.Lock()
        self._exits = contextlib.ExitStack()  # connections used as context managers (else websockets warns)
        instances: set[str] = set()
        for _ in range(12):
            # No keepalive pings: on a busy machine a late pong closes the connection (1011) and loses events.
            socket = self._exits.enter_context(
                connect(base_url.replace("http", "ws", 1) + "/ws/events", open_timeout=10, ping_interval=None))
            instance = socket.response.headers.get("X-Instance", "?") if socket.response else "?"
            if instance in instances:
                continue
            instances.add(instance)
            threading.Thread(target=self._read, args=(socket, instance), daemon=True).start()
            if len(instances) == replicas:
                break
        assert len(instances) == replicas, f"WebSocket clients reached only {sorted(instances)}"
        self.instances = instances
        time.sleep(0.3)

    def _read(self, socket: object, instance: str) -> None:
        try:
            while True:
                event = json.loads(socket.recv())  # type: ignore[attr-defined]
                with self._lock:
                    self.received.setdefault(event.get("payload", {}).get("name", ""), set()).add(instance)
                    self.last_event = event
        except Exception:
            return

    def missing(self, names: list[str]) -> list[str]:
        with self._lock:
            return [n for n in names if self.received.get(n, set()) != self.instances]

    def close(self) -> None:
        self._exits.close()


def _greet(http: httpx.Client, name: str) -> httpx.Response:
    return http.get(f"/hello/{name}")


def test_events_survive_kafka_down_resilient(demo: Stack) -> None:
    api = demo.endpoint("toxiproxy", 8474)
    listeners = Listeners(demo.base_url)
    run = uuid.uuid4().hex[:6]
    accepted: list[str] = []
    during: list[httpx.Response] = []
    try:
        with httpx.Client(base_url=demo.base_url, timeout=10) as http:
            for i in range(5):
                response = _greet(http, f"before-{run}-{i}")
                assert response.status_code == 200, response.text
                accepted.append(f"before-{run}-{i}")
            toxiproxy.disable_proxy(BROKER_PROXY, api_url=api)
            try:
                time.sleep(0.5)
                for i in range(15):
                    response = _greet(http, f"during-{run}-{i}")
                    during.append(response)
                    if response.status_code == 200:
                        accepted.append(f"during-{run}-{i}")
                    time.sleep(0.2)
                not_ready = http.get("/ready")
            finally:
                toxiproxy.enable_proxy(BROKER_PROXY, api_url=api)
            for i in range(5):
                response = _greet(http, f"after-{run}-{i}")
                assert response.status_code == 200, response.text
                accepted.append(f"after-{run}-{i}")
        deadline = time.monotonic() + 30
        while listeners.missing(accepted) and time.monotonic() < deadline:
            time.sleep(0.2)
        lost = listeners.missing(accepted)
    finally:
        listeners.close()
    statuses = [r.status_code for r in during]
    print(f"kafka-down (resilient): {len(accepted)} greetings accepted, {len(during)} during the fault "
          f"(statuses {sorted(set(statuses))}), events lost: {len(lost)}")
    assert statuses == [200] * len(during), f"the API must stay responsive while the broker is down: {statuses}"
    assert any(r.headers.get("X-Event") == "queued" for r in during), "no event was queued while the broker was cut"
    assert not_ready.status_code == 503 and "broker" in not_ready.text, f"/ready ignored the broker: {not_ready.text}"
    assert lost == [], f"{len(lost)} of {len(accepted)} accepted events never reached both replicas' clients: {lost}"
    event = listeners.last_event
    assert event["eventType"] == "greeting.created"
    assert {"eventId", "aggregateId", "occurredAt", "eventType", "payload"} <= event.keys()


def test_fragile_profile_answers_503_while_kafka_is_down(demo: Stack) -> None:
    api = demo.endpoint("toxiproxy", 8474)
    _recreate_replicas(demo, "fragile")
    try:
        with httpx.Client(base_url=demo.base_url, timeout=20) as http:
            assert _greet(http, "fragile-ok").headers.get("X-Event") == "published"
            toxiproxy.disable_proxy(BROKER_PROXY, api_url=api)
            try:
                time.sleep(0.5)
                cut = [_greet(http, f"fragile-cut-{i}") for i in range(2)]
            finally:
                toxiproxy.enable_proxy(BROKER_PROXY, api_url=api)
            assert [r.status_code for r in cut] == [503, 503], [r.text for r in cut]
            assert all(r.json()["error"] == "broker unavailable" for r in cut)
            deadline = time.monotonic() + 20
            while _greet(http, "fragile-back").status_code != 200:
                assert time.monotonic() < deadline, "no publishing after the broker returned"
                time.sleep(0.5)
    finally:
        _recreate_replicas(demo, "resilient")


def test_broker_that_never_comes_up_fails_the_stack_start_naming_it(tmp_path: Path) -> None:
    # A heap too small for the JVM: the broker exits at once, as a broken broker image or config would.
    config = BlissfulConfig(stack=StackConfig(env={"KAFKA_HEAP_OPTS": "-Xmx1m"}, startup_timeout=90))
    manager = StackManager(config, f"kafkabad{uuid.uuid4().hex[:8]}", tmp_path, os.getpid(), Ledger(tmp_path))
    with pytest.raises(StackError) as failure:
        manager.get()
    message = str(failure.value)
    assert "service 'kafka' did not come up (Exited" in message, message
    assert "Too small maximum heap" in message, message
    assert "app1" not in message.split("services:")[0], "the failure must name the broker, not the replicas"
