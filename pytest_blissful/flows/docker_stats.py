"""CPU % and memory MB of containers from the Docker stats API, sampled about once a second in the background.

One thread per container asks the engine for one stats sample at a time (``stream=False``: the engine waits for
two readings and returns the pair), so every thread ends within a couple of seconds of ``stop()``; each is
also bounded by ``max_duration_s``. CPU % is Docker's own figure (100 % = one core), memory is usage minus the
page cache, as ``docker stats`` shows it.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class StatsSample:
    epoch: float
    container: str
    cpu_percent: float
    memory_mb: float


def cpu_percent(stats: Mapping[str, Any]) -> float | None:
    cpu, pre = stats.get("cpu_stats") or {}, stats.get("precpu_stats") or {}
    try:
        cpu_delta = cpu["cpu_usage"]["total_usage"] - pre["cpu_usage"]["total_usage"]
        system_delta = cpu["system_cpu_usage"] - pre["system_cpu_usage"]
    except (KeyError, TypeError):
        return None
    online = cpu.get("online_cpus") or len(cpu["cpu_usage"].get("percpu_usage") or []) or 1
    if system_delta <= 0 or cpu_delta < 0:
        return None
    return 100.0 * float(cpu_delta) / float(system_delta) * float(online)


def memory_mb(stats: Mapping[str, Any]) -> float | None:
    memory = stats.get("memory_stats") or {}
    usage = memory.get("usage")
    if usage is None:
        return None
    detail = memory.get("stats") or {}
    cache = detail.get("inactive_file", detail.get("total_inactive_file", detail.get("cache", 0)))
    return max(0.0, float(usage) - float(cache)) / (1024 * 1024)


class StatsSampler:
    """``with StatsSampler({"old": [ids], "new": [ids]}):`` … then ``samples[side]``."""

    def __init__(self, containers: Mapping[str, Sequence[str]], *, max_duration_s: float) -> None:
        self.containers = {side: tuple(ids) for side, ids in containers.items()}
        self.max_duration_s = max_duration_s
        self.samples: dict[str, list[StatsSample]] = {side: [] for side in containers}
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._lock = threading.Lock()

    def start(self) -> None:
        import docker

        client = docker.from_env(timeout=10)
        deadline = time.monotonic() + self.max_duration_s
        for side, ids in self.containers.items():
            for container in ids:
                thread = threading.Thread(target=self._sample, args=(client, side, container, deadline),
                                          name=f"blissful-stats-{side}-{container[:12]}", daemon=True)
                thread.start()
                self._threads.append(thread)

    def _sample(self, client: Any, side: str, container: str, deadline: float) -> None:
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                stats = client.api.stats(container, stream=False)
            except Exception as exc:  # the container is gone, or the engine is busy: note it, stop sampling
                with self._lock:
                    self.errors.append(f"{container[:12]}: {type(exc).__name__}: {exc}")
                return
            cpu, memory = cpu_percent(stats), memory_mb(stats)
            if cpu is not None and memory is not None:
                with self._lock:
                    self.samples[side].append(StatsSample(time.time(), container, cpu, memory))

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=5.0)

    def __enter__(self) -> StatsSampler:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def per_block(samples: Sequence[StatsSample], starts: Sequence[float], length_s: float,
              containers: Sequence[str]) -> tuple[list[float], list[float]]:
    """Per block ``[start, start + length)``: the version's CPU % and memory MB (per container the mean of its
    samples in the block, summed over containers). Blocks where a container has no sample are left out."""
    cpu_blocks: list[float] = []
    memory_blocks: list[float] = []
    for start in starts:
        cpu_total = memory_total = 0.0
        complete = True
        for container in containers:
            inside = [s for s in samples if s.container == container and start <= s.epoch < start + length_s]
            if not inside:
                complete = False
                break
            cpu_total += sum(s.cpu_percent for s in inside) / len(inside)
            memory_total += sum(s.memory_mb for s in inside) / len(inside)
        if complete:
            cpu_blocks.append(cpu_total)
            memory_blocks.append(memory_total)
    return cpu_blocks, memory_blocks
