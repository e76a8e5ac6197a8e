"""The steady-state probe: 10 Hz requests to a few paths, in threads of the test process, during a scenario.

Threads (not processes) are fine here: Locust is never imported into this process. Each path gets its own
thread on a fixed schedule, so a slow answer on one path does not hide the others.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Sequence
from types import TracebackType

import httpx

from pytest_blissful.grading.probes import ProbeSample


class SteadyStateProbe:
    """``with SteadyStateProbe(base_url, ["/ready", "/hello"]) as probe: ...``; then ``probe.samples``."""

    def __init__(self, base_url: str, paths: Sequence[str], hz: float = 10.0, timeout_s: float = 1.0,
                 max_duration_s: float = 900.0, degraded_header: str | None = None) -> None:
        self.base_url = base_url
        self.degraded_header = degraded_header
        self.paths = tuple(paths)
        self.interval_s = 1.0 / hz
        self.timeout_s = timeout_s
        self.max_duration_s = max_duration_s
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()
        self._samples: list[ProbeSample] = []

    @property
    def samples(self) -> list[ProbeSample]:
        with self._lock:
            return sorted(self._samples, key=lambda s: s.at)

    def start(self) -> SteadyStateProbe:
        for path in self.paths:
            thread = threading.Thread(target=self._run, args=(path,), name=f"blissful-probe{path}", daemon=True)
            thread.start()
            self._threads.append(thread)
        return self

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=self.timeout_s + 1)

    def __enter__(self) -> SteadyStateProbe:
        return self.start()

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()

    def _run(self, path: str) -> None:
        deadline = time.monotonic() + self.max_duration_s
        next_at = time.monotonic()
        with httpx.Client(base_url=self.base_url, timeout=self.timeout_s) as client:
            while not self._stop.is_set() and time.monotonic() < deadline:
                sent_epoch, sent = time.time(), time.perf_counter()
                try:
                    response = client.get(path)
                    sample = ProbeSample(at=sent_epoch, path=path, ok=response.is_success,
                                         latency_ms=(time.perf_counter() - sent) * 1000,
                                         status=response.status_code,
                                         degraded=bool(self.degraded_header
                                                       and self.degraded_header in response.headers))
                except httpx.HTTPError as exc:
                    sample = ProbeSample(at=sent_epoch, path=path, ok=False,
                                         latency_ms=(time.perf_counter() - sent) * 1000,
                                         error=type(exc).__name__)
                with self._lock:
                    self._samples.append(sample)
                next_at += self.interval_s
                self._stop.wait(max(0.0, next_at - time.monotonic()))
                next_at = max(next_at, time.monotonic() - self.interval_s)  # no burst after a slow answer
