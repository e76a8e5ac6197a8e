"""Endpoints together with their dependencies: events over WebSocket, readiness vs liveness, logs."""

from __future__ import annotations

import contextlib
import json
import subprocess
import time
import uuid
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from pytest_blissful.config.schema import BlissfulConfig
from pytest_blissful.stack import Stack
from pytest_blissful.suites._polling import eventually

pytestmark = pytest.mark.integration


def _event_clients(base_url: str, exits: contextlib.ExitStack, wanted: int = 2, attempts: int = 6) -> list[Any]:
    """WebSocket clients on as many different instances (``X-Instance``) as the target shows, up to ``wanted``."""
    from websockets.sync.client import connect

    clients: list[Any] = []
    seen: set[str] = set()
    for _ in range(attempts):
        socket = exits.enter_context(connect(base_url.replace("http", "ws", 1) + "/ws/events", open_timeout=10))
        instance = socket.response.headers.get("X-Instance") if socket.response else None
        if instance is not None and instance in seen:
            continue
        seen.add(instance or f"unnamed-{len(clients)}")
        clients.append(socket)
        if len(clients) == wanted:
            break
    return clients


def _wait_for_greeting(socket: Any, name: str, timeout_s: float) -> dict[str, Any] | None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            event: dict[str, Any] = json.loads(socket.recv(timeout=max(0.1, deadline - time.monotonic())))
        except TimeoutError:
            return None
        if event.get("payload", {}).get("name") == name:
            return event
    return None


def test_greeting_is_delivered_as_an_event_over_websocket(base_url: str, http: httpx.Client,
                                                          blissful_config: BlissfulConfig) -> None:
    """HTTP -> broker -> WebSocket: one greeting reaches the clients of every replica (the demo: through Kafka)."""
    if not blissful_config.uses_demo_stack:
        pytest.skip("the demo template's event stream (this stack is not the embedded demo)")
    name = f"ws-{uuid.uuid4().hex[:8]}"
    with contextlib.ExitStack() as exits:
        clients = _event_clients(base_url, exits)
        time.sleep(0.3)  # the subscription is live once the server has accepted; give its reader a moment
        assert http.get(f"/hello/{name}").status_code == 200
        events = [_wait_for_greeting(socket, name, 10) for socket in clients]
    instances = [s.response.headers.get("X-Instance", "?") if s.response else "?" for s in clients]
    missed = [instance for instance, event in zip(instances, events, strict=True) if event is None]
    assert not missed, f"no greeting.created event for {name!r} within 10 s on the client(s) of {missed}"
    for event in events:
        assert event is not None
        assert event["eventType"] == "greeting.created"
        assert {"eventId", "aggregateId", "occurredAt", "eventType", "payload"} <= event.keys()
    assert len({e["eventId"] for e in events if e}) == 1, "the replicas' clients got different events"


def _dependencies(config: BlissfulConfig) -> list[str]:
    return config.stack.dependencies


@pytest.fixture
def paused(stack: Stack, request: pytest.FixtureRequest) -> Iterator[str]:
    """Pause every container of one dependency for the test; always unpaused afterwards."""
    service: str = request.param
    if stack.kind != "compose":
        pytest.skip("breaking a dependency needs a compose stack; this target is external")
    ids = [handle.container_id for handle in stack.service(service)]
    subprocess.run(["docker", "pause", *ids], check=True, capture_output=True, timeout=30)
    try:
        yield service
    finally:
        subprocess.run(["docker", "unpause", *ids], check=False, capture_output=True, timeout=30)


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "paused" in metafunc.fixturenames:
        from pytest_blissful._session import blissful_config

        services = _dependencies(blissful_config(metafunc.config))
        metafunc.parametrize("paused", services or [pytest.param(None, marks=pytest.mark.skip(
            reason="no stack.dependencies configured in blissful.yaml"))], indirect=True)


def _readiness_path(config: BlissfulConfig) -> str:
    if config.stack.readiness_path is None:
        pytest.skip("no stack.readiness_path configured in blissful.yaml")
    return config.stack.readiness_path


def test_ready_fails_but_live_holds_while_a_dependency_is_down(paused: str, http: httpx.Client,
                                                              blissful_config: BlissfulConfig) -> None:
    ready_path = _readiness_path(blissful_config)

    def not_ready() -> httpx.Response | None:
        response = http.get(ready_path)
        return response if response.status_code >= 500 else None

    ready = eventually(not_ready, 15, f"{ready_path} turning 5xx while {paused} is paused")
    if blissful_config.uses_demo_stack:  # the template names the failing check and has a separate /live
        assert paused in ready.text or "checks" in ready.text, f"/ready did not name the failing check: {ready.text}"
        assert http.get("/live").status_code == 200, "/live must not depend on dependencies"


def test_ready_recovers_after_dependencies_return(http: httpx.Client, blissful_config: BlissfulConfig) -> None:
    ready_path = _readiness_path(blissful_config)
    eventually(lambda: http.get(ready_path).is_success, 30, f"{ready_path} returning 2xx")


def test_logs_contain_expected_lines(stack: Stack, blissful_config: BlissfulConfig) -> None:
    expectations = blissful_config.stack.log_expectations
    if not expectations:
        pytest.skip("no stack.log_expectations configured in blissful.yaml")
    if stack.kind == "external":
        pytest.skip("logs of an external target are not reachable")
    missing = [f"{service}: {text!r}" for service, texts in expectations.items() for text in texts
               if text not in stack.logs(service)]
    assert not missing, "expected log lines not found:\n  " + "\n  ".join(missing)
