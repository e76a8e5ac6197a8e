"""Watch one instance directly (its own published port, not the load balancer) while it is sent SIGTERM.

Worker threads keep requests in flight at the instance, a readiness poller records when it turns 503, and a
Docker poller records when the container stopped and with which exit code. The load balancer would retry a
failed request on another replica and hide what the instance itself did.

The signal's instant is the Docker engine's own ``kill`` event for the container (``docker events``, nanoseconds),
not the start of the action that asked for it: on a busy machine ``docker stop`` reaches the engine a second or
more after it was started, and requests that ended well before the signal would be counted as "in flight at the
signal" (a service that dies at once on SIGTERM was graded ✅ that way).
"""

from __future__ import annotations

import json
import subprocess
import threading
import time
from dataclasses import dataclass
from datetime import datetime

import httpx

from pytest_blissful.grading.capabilities import ShutdownEvidence


@dataclass(frozen=True)
class _Request:
    sent: float
    done: float
    ok: bool


class InstanceObserver:
    """``observer.start()`` before the SIGTERM, ``observer.stop()`` after; then ``observer.evidence(at, grace)``."""

    def __init__(self, url: str, container_id: str, *, inflight_path: str = "/hello", ready_path: str = "/ready",
                 workers: int = 6, max_duration_s: float = 300.0, timeout_s: float = 15.0) -> None:
        self.url = url
        self.container_id = container_id
        self.inflight_path = inflight_path
        self.ready_path = ready_path
        self.workers = workers
        self.deadline = time.monotonic() + max_duration_s
        self.timeout_s = timeout_s
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._requests: list[_Request] = []
        self._ready_503: list[float] = []
        self.exited_at: float | None = None
        self.exit_code: int | None = None
        self.signal_at: float | None = None  # when the engine sent the container its first signal (epoch)
        self.signal: int | None = None
        self._events: subprocess.Popen[str] | None = None
        self._threads: list[threading.Thread] = []

    def start(self) -> InstanceObserver:
        from pytest_blissful._docker import open_docker

        # --since: the engine replays what happened after this instant, however late the CLI subscribes
        self._events = open_docker("events", "--since", f"{time.time():.3f}", "--filter",
                                   f"container={self.container_id}", "--filter", "event=kill", "--format", "{{json .}}")
        targets = [self._hammer] * self.workers + [self._readiness, self._docker, self._signals]
        for index, target in enumerate(targets):
            thread = threading.Thread(target=target, name=f"blissful-instance-{index}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._events is not None and self._events.poll() is None:
            self._events.kill()  # the CLI client only: `docker events` streams until it is ended
        for thread in self._threads:
            thread.join(timeout=self.timeout_s + 1)
        if self._events is not None:
            self._events.wait(timeout=5.0)

    def _running(self) -> bool:
        return not self._stop.is_set() and time.monotonic() < self.deadline and self.exited_at is None

    def _hammer(self) -> None:
        with httpx.Client(base_url=self.url, timeout=self.timeout_s) as client:
            while self._running():
                sent = time.time()
                try:
                    ok = client.get(self.inflight_path).is_success
                except httpx.HTTPError:
                    ok = False
                with self._lock:
                    self._requests.append(_Request(sent, time.time(), ok))
                if not ok:
                    self._stop.wait(0.02)

    def _readiness(self) -> None:
        with httpx.Client(base_url=self.url, timeout=1.0) as client:
            while self._running():
                at = time.time()
                try:
                    if client.get(self.ready_path).status_code == 503:
                        with self._lock:
                            self._ready_503.append(time.time())
                except httpx.HTTPError:
                    pass
                self._stop.wait(max(0.0, 0.05 - (time.time() - at)))

    def _docker(self) -> None:
        from pytest_blissful.chaos._docker import inspect

        while not self._stop.is_set() and time.monotonic() < self.deadline:
            info = inspect(self.container_id)
            state = (info or {}).get("State", {})
            if state and not state.get("Running", True):
                self.exit_code = int(state.get("ExitCode", -1))
                self.exited_at = _epoch(str(state.get("FinishedAt", ""))) or time.time()
                return
            self._stop.wait(0.1)

    def _signals(self) -> None:
        events = self._events
        if events is None or events.stdout is None:
            return
        for line in events.stdout:
            at, signal = kill_event(line)
            if at is not None and self.signal_at is None:
                self.signal_at, self.signal = at, signal
        events.stdout.close()
        if events.stderr is not None:
            events.stderr.close()

    def evidence(self, sigterm_at: float, grace_s: float) -> ShutdownEvidence:
        """``sigterm_at``: when the action asked for the signal; the engine's kill event replaces it when seen."""
        sigterm_at = self.signal_at if self.signal_at is not None else sigterm_at
        with self._lock:
            requests = list(self._requests)
            ready = [at for at in self._ready_503 if at >= sigterm_at]
        ready_at = min(ready) if ready else None
        # requests the instance took on while it still claimed to be serving: sent before readiness turned 503
        # (or before it exited), and still unanswered when the signal came
        claimed_until = min(x for x in (ready_at, self.exited_at, float("inf")) if x is not None)
        in_flight = [r for r in requests if r.sent < min(claimed_until, sigterm_at + 0.25) and r.done >= sigterm_at]
        return ShutdownEvidence(
            sigterm_at=sigterm_at, grace_s=grace_s, in_flight=len(in_flight),
            in_flight_failed=sum(not r.ok for r in in_flight), ready_503_at=ready_at, exited_at=self.exited_at,
            exit_code=self.exit_code,
        )


def kill_event(line: str) -> tuple[float | None, int | None]:
    """A ``docker events --format '{{json .}}'`` line → (epoch seconds, signal) of a ``kill`` event, else Nones."""
    try:
        event = json.loads(line)
    except ValueError:
        return None, None
    if not isinstance(event, dict) or event.get("Action") != "kill" or not event.get("timeNano"):
        return None, None
    signal = str(event.get("Actor", {}).get("Attributes", {}).get("signal", ""))
    return int(event["timeNano"]) / 1e9, int(signal) if signal.isdigit() else None


def _epoch(rfc3339: str) -> float | None:
    """Docker's ``2026-12-01T11:52:03.123456789Z`` as epoch seconds (None when unset)."""
    if not rfc3339 or rfc3339.startswith("0001-"):
        return None
    head, _, frac = rfc3339.rstrip("Z").partition(".")
    try:
        base = datetime.fromisoformat(head + "+00:00").timestamp()
    except ValueError:
        return None
    digits = "".join(ch for ch in frac if ch.isdigit())
    return base + (float(f"0.{digits}") if digits else 0.0)
