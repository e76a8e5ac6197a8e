"""CPU % and memory MB of containers from the Docker stats API, sampled about once a second in the background.

Read through the package's one way to Docker, the CLI: one ``docker stats --format '{{json .}}'`` process
streams a reading of every container about once a second (the engine computes CPU % from two readings, as
``docker stats`` shows it: 100 % = one core; memory is usage minus the page cache). The process is stopped by
``stop()`` and, at the latest, after ``max_duration_s``.
"""

from __future__ import annotations

import json
import re
import subprocess
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pytest_blissful._docker import open_docker

_ESCAPES = re.compile(r"\x1b\[[0-9;]*[A-Za-z]")
_SIZE = re.compile(r"^\s*([0-9.]+)\s*([KMGTP]?i?B)\s*$")
_UNITS = {"B": 1, "KiB": 1024, "MiB": 1024**2, "GiB": 1024**3, "TiB": 1024**4, "PiB": 1024**5,
          "kB": 1000, "KB": 1000, "MB": 1000**2, "GB": 1000**3, "TB": 1000**4}


@dataclass(frozen=True)
class StatsSample:
    epoch: float
    container: str
    cpu_percent: float
    memory_mb: float


def cpu_percent(reading: Mapping[str, Any]) -> float | None:
    """``"CPUPerc": "12.34%"`` → 12.34 (None while the engine has only one reading: ``"--"``)."""
    try:
        return float(str(reading["CPUPerc"]).strip().rstrip("%"))
    except (KeyError, ValueError):
        return None


def memory_mb(reading: Mapping[str, Any]) -> float | None:
    """``"MemUsage": "86.5MiB / 7.7GiB"`` → 86.5."""
    match = _SIZE.match(str(reading.get("MemUsage", "")).split("/")[0])
    if match is None or match.group(2) not in _UNITS:
        return None
    return float(match.group(1)) * _UNITS[match.group(2)] / 1024**2


def parse_line(line: str) -> dict[str, Any] | None:
    """One reading of the stream (the CLI redraws the screen with ANSI escapes between them), or None."""
    text = _ESCAPES.sub("", line).strip()
    if not text.startswith("{"):
        return None
    try:
        reading: dict[str, Any] = json.loads(text)
    except json.JSONDecodeError:
        return None
    return reading


class StatsSampler:
    """``with StatsSampler({"old": [ids], "new": [ids]}):`` … then ``samples[side]``."""

    def __init__(self, containers: Mapping[str, Sequence[str]], *, max_duration_s: float) -> None:
        self.containers = {side: tuple(ids) for side, ids in containers.items()}
        self.max_duration_s = max_duration_s
        self.samples: dict[str, list[StatsSample]] = {side: [] for side in containers}
        self.errors: list[str] = []
        self._lock = threading.Lock()
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._timer: threading.Timer | None = None

    def start(self) -> None:
        ids = [container for side in self.containers.values() for container in side]
        if not ids:
            return
        self._process = open_docker("stats", "--format", "{{json .}}", *ids)
        self._reader = threading.Thread(target=self._read, args=(self._process,), name="blissful-docker-stats",
                                        daemon=True)
        self._reader.start()
        self._timer = threading.Timer(self.max_duration_s, self._end)
        self._timer.daemon = True
        self._timer.start()

    def _read(self, process: subprocess.Popen[str]) -> None:
        side_of = {container: side for side, ids in self.containers.items() for container in ids}
        last_kept: dict[str, float] = {}
        assert process.stdout is not None
        for line in process.stdout:
            reading = parse_line(line)
            if reading is None:
                continue
            short = str(reading.get("ID", ""))
            container = next((c for c in side_of if short and c.startswith(short)), None)
            cpu, memory = cpu_percent(reading), memory_mb(reading)
            now = time.time()
            if container is None or cpu is None or memory is None:
                continue
            # the first reading has no earlier one to take CPU % from (it shows 0 %); afterwards the CLI redraws
            # twice a second while the engine has a new reading about once a second
            if container not in last_kept:
                last_kept[container] = now
                continue
            if now - last_kept[container] < 0.9:
                continue
            last_kept[container] = now
            with self._lock:
                self.samples[side_of[container]].append(StatsSample(now, container, cpu, memory))
        process.stdout.close()
        stderr = ""
        if process.stderr is not None:
            stderr = process.stderr.read().strip()
            process.stderr.close()
        if process.wait() not in (0, -9) and stderr:  # -9: stopped by us
            with self._lock:
                self.errors.append(stderr.splitlines()[-1])

    def _end(self) -> None:
        if self._process is not None and self._process.poll() is None:
            self._process.kill()  # only the CLI client (it does not end on SIGTERM); the containers are untouched

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._end()
        if self._process is not None:
            self._process.wait(timeout=5.0)
        if self._reader is not None:
            self._reader.join(timeout=5.0)

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
