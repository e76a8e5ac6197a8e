"""Parent side of the load runner: starts Locust child processes, merges what they record.

Locust (and gevent) are never imported here: every Locust runner lives in a child process started
with ``python -m pytest_blissful.load._child``.  Children write JSON lines (100 ms-bucket histogram
fragments, ticks, the final flush) to a file in a private temporary directory; :class:`LoadHandle`
reads that file whenever it is polled, so no thread runs in the calling process and a caller that
does not poll for a while never stalls the load.

Distributed mode (``workers >= 2`` or ``remote_workers``): one master process plus ``workers`` local
worker processes, Locust's own master/worker protocol.  Workers on other machines can join the same
master::

    # on the machine running pytest
    run_load(url, workers=2, remote_workers=4, master_bind="0.0.0.0", master_port=5557,
             allowed_hosts=["svc.internal"])
    # on each other machine (same pytest-blissful version, same locustfile path if one is used)
    python -m pytest_blissful.load.worker --master-host PYTEST_HOST --master-port 5557

Remote workers bucket samples by their wall clock, so keep the machines NTP-synchronised.
"""

from __future__ import annotations

import contextlib
import ipaddress
import json
import math
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any, Final
from urllib.parse import urlsplit

from pytest_blissful.load._result import LoadProgress, LoadResult, build_result
from pytest_blissful.metrics.timeline import Timeline, TimelineBuilder

__all__ = ["LoadError", "LoadHandle", "TargetNotAllowed", "check_target", "run_load", "start_load"]

_PACKAGE_ROOT: Final = str(Path(__file__).resolve().parents[2])
_STARTUP_TIMEOUT_S: Final = 60.0
_KNOWN_ENDPOINTS: Final = ("GET /hello", "GET /hello/{name}", "GET /health", "POST /echo")


class LoadError(RuntimeError):
    """The load generator could not run (bad locustfile, worker did not connect, crash)."""


class TargetNotAllowed(LoadError, ValueError):
    """The target is neither loopback nor one of the stack's own hosts."""


def check_target(url: str, allowed_hosts: Sequence[str] = ()) -> str:
    """Return the host of ``url`` if load may be sent there, else raise :class:`TargetNotAllowed`.

    Allowed: loopback (127.0.0.0/8, ::1, ``localhost`` and ``*.localhost``) and the exact host names or
    addresses in ``allowed_hosts`` (the stack's own hosts).  Names are not resolved.
    """
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise TargetNotAllowed(f"load target {url!r} is not an http(s) URL such as 'http://127.0.0.1:8080'")
    host = parts.hostname.lower()
    if host == "localhost" or host.endswith(".localhost"):
        return host
    with contextlib.suppress(ValueError):
        if ipaddress.ip_address(host).is_loopback:
            return host
    if host in {h.lower().strip("[]") for h in allowed_hosts}:
        return host
    raise TargetNotAllowed(
        f"refusing to send load to {host!r} ({url}): only loopback targets (127.0.0.0/8, ::1, localhost) "
        f"or the stack's own hosts are allowed; pass allowed_hosts=[{host!r}] if this host is part of "
        f"the stack under test"
    )


def _free_port(host: str) -> int:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.bind((host if host not in ("*", "0.0.0.0") else "", 0))
        return int(s.getsockname()[1])


@dataclass
class _Proc:
    name: str
    popen: subprocess.Popen[bytes]
    log: Path


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def _kill_all(procs: list[_Proc], workdir: str, files: list[IO[bytes]] | None = None) -> None:
    for f in files or ():
        f.close()
    for p in procs:
        if p.popen.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                p.popen.kill()
    for p in procs:
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.popen.wait(timeout=2)
    shutil.rmtree(workdir, ignore_errors=True)


class LoadHandle:
    """A running load test.  Poll it (``poll()``), stop it early (``stop()``) or wait (``result()``).

    Nothing runs in the calling process between calls: the children keep generating load and write
    to a file; every call reads what arrived since the last one.
    """

    def __init__(
        self,
        *,
        target_url: str,
        users: int,
        duration_s: float,
        spawn_rate: float | None,
        rate: float | None,
        workers: int,
        remote_workers: int,
        locustfile: Path | None,
        mix: Mapping[str, int] | None,
        slos: tuple[str, ...],
        progress: Callable[[LoadProgress], None] | None,
        master_bind: str,
        master_port: int | None,
        worker_timeout_s: float,
        request_timeout_s: float = 5.0,
        sides: Mapping[str, str] | None = None,
    ) -> None:
        self.target_url = target_url
        self.users = users
        self.duration_s = duration_s
        self.rate = rate
        self.workers = workers
        self.slos = slos
        self._progress_cb = progress
        self._workdir = tempfile.mkdtemp(prefix="blissful-load-")
        self._out_path = Path(self._workdir, "out.jsonl")
        self._out_path.touch()
        self._out: IO[bytes] = self._out_path.open("rb")
        self._partial = b""
        self._procs: list[_Proc] = []
        self._builder: TimelineBuilder | None = None
        self._start_epoch: float | None = None
        self._start_mono: float | None = None
        self._cpu: dict[str, list[float]] = {}
        self._names: dict[str, str] = {}
        self._finals: dict[str, dict[str, Any]] = {}
        self._users_now = 0
        self._errors_seen = 0
        self._last_batch: dict[str, tuple[Timeline, float]] = {}
        self._last_progress = 0.0
        self._warnings: list[str] = []
        self._done = False
        self._stopped_early = False
        self._result: LoadResult | None = None
        self._error: LoadError | None = None
        self._launched_mono = time.monotonic()

        distributed = workers >= 2 or remote_workers > 0
        base: dict[str, Any] = {
            "host": target_url,
            "users": users,
            "spawn_rate": spawn_rate,
            "duration_s": duration_s,
            "rate": rate,
            "locustfile": str(locustfile) if locustfile else None,
            "mix": dict(mix) if mix is not None else None,
            "request_timeout_s": request_timeout_s,
            "parent_pid": os.getpid(),
            "sides": dict(sides) if sides else None,
        }
        if not distributed:
            self._spawn("local", {**base, "role": "local", "out": str(self._out_path)})
        else:
            port = master_port or _free_port(master_bind if master_bind != "*" else "127.0.0.1")
            self._spawn(
                "master",
                {
                    **base,
                    "role": "master",
                    "out": str(self._out_path),
                    "master_bind": master_bind,
                    "master_port": port,
                    "expect_workers": workers + remote_workers,
                    "worker_timeout_s": worker_timeout_s,
                },
            )
            connect = "127.0.0.1" if master_bind in ("*", "0.0.0.0", "") else master_bind
            for i in range(workers):
                self._spawn(
                    f"worker-{i}",
                    {**base, "role": "worker", "master_host": connect, "master_port": port},
                )
        self._finalizer = weakref.finalize(self, _kill_all, self._procs, self._workdir, [self._out])

    # ----------------------------------------------------------------------------- processes
    def _spawn(self, name: str, cfg: Mapping[str, Any]) -> None:
        cfg_path = Path(self._workdir, f"{name}.json")
        cfg_path.write_text(json.dumps(cfg), encoding="utf-8")
        log = Path(self._workdir, f"{name}.log")
        env = dict(os.environ)
        env["PYTHONPATH"] = os.pathsep.join(p for p in (_PACKAGE_ROOT, env.get("PYTHONPATH")) if p)
        env.pop("PYTEST_XDIST_WORKER", None)
        with log.open("wb") as log_f:
            popen = subprocess.Popen(
                [sys.executable, "-m", "pytest_blissful.load._child", str(cfg_path)],
                stdin=subprocess.DEVNULL,
                stdout=log_f,
                stderr=subprocess.STDOUT,
                env=env,
                close_fds=True,
            )
        self._procs.append(_Proc(name, popen, log))

    def _logs(self) -> str:
        parts = []
        for p in self._procs:
            tail = _tail(p.log)
            if tail:
                parts.append(f"--- {p.name} (exit {p.popen.poll()}) ---\n{tail}")
        return "\n".join(parts)

    def _fail(self, message: str) -> LoadError:
        for p in self._procs:
            if p.popen.poll() is None:
                p.popen.kill()
        logs = self._logs()
        self._finalizer()
        self._error = LoadError(message + (f"\n{logs}" if logs else ""))
        return self._error

    # ----------------------------------------------------------------------------- messages
    def _source(self, src: str) -> str:
        if src == "local":
            return "local"
        if src not in self._names:
            self._names[src] = f"worker-{len(self._names)}"
        return self._names[src]

    def _take_batch(self, msg: Mapping[str, Any]) -> None:
        assert self._builder is not None
        fragment = Timeline.decode(msg["tl"])
        self._builder.add(fragment)
        name = self._source(str(msg["src"]))
        cpu = self._cpu.setdefault(name, [0.0, 0.0])
        cpu[0] += float(msg.get("cpu_s", 0.0))
        cpu[1] += float(msg.get("wall_s", 0.0))
        self._last_batch[name] = (fragment, float(msg.get("wall_s", 1.0)) or 1.0)
        self._errors_seen += fragment.window().errors

    def _read(self) -> None:
        chunk = self._out.read()
        if not chunk:
            return
        data = self._partial + chunk
        *lines, self._partial = data.split(b"\n")
        for line in lines:
            if not line.strip():
                continue
            msg = json.loads(line)
            kind = msg.get("t")
            if kind == "started":
                self._start_epoch = float(msg["epoch"])
                self._start_mono = time.monotonic() - (time.time() - self._start_epoch)
                self._builder = TimelineBuilder(self._start_epoch)
            elif kind in ("data", "final"):
                self._take_batch(msg)
                if kind == "final":
                    self._finals[self._source(str(msg["src"]))] = msg
            elif kind == "tick":
                self._users_now = int(msg.get("users", 0))
            elif kind == "warning":
                self._warnings.append(str(msg.get("message")))
            elif kind == "error":
                raise self._fail(f"load generator failed: {msg.get('message')}\n{msg.get('traceback', '')}")
            elif kind == "done":
                self._done = True

    def _emit_progress(self) -> None:
        if self._progress_cb is None or self._start_mono is None or not self._last_batch:
            return
        now = time.monotonic()
        if now - self._last_progress < 0.9:
            return
        self._last_progress = now
        frags = [f for f, _ in self._last_batch.values()]
        merged = frags[0].merge(*frags[1:]) if len(frags) > 1 else frags[0]
        rps = sum(f.window().requests / wall for f, wall in self._last_batch.values())
        elapsed = max(0.0, now - self._start_mono)
        self._progress_cb(
            LoadProgress(
                elapsed_s=elapsed,
                remaining_s=max(0.0, self.duration_s - elapsed),
                users=self._users_now,
                rps=rps,
                p95_ms=merged.window().p95_ms,
                errors=self._errors_seen,
            )
        )

    # ----------------------------------------------------------------------------- public
    @property
    def running(self) -> bool:
        return not self._done and self._result is None

    @property
    def start_epoch(self) -> float | None:
        """``time.time()`` when load started (None until the children report it)."""
        return self._start_epoch

    @property
    def start_monotonic(self) -> float | None:
        """The same instant on this process's ``time.monotonic()`` clock."""
        return self._start_mono

    def poll(self) -> bool:
        """Read what the children sent; deliver progress. True while the load still runs."""
        if self._error is not None:
            raise self._error
        if self._result is not None:
            return False
        self._read()
        self._emit_progress()
        if not self._done:
            for p in self._procs:
                code = p.popen.poll()
                if code is not None and (code != 0 or p.name in ("local", "master")):
                    self._read()
                    if not self._done:
                        raise self._fail(f"load generator process {p.name} exited with code {code}")
            if self._start_epoch is None and time.monotonic() - self._launched_mono > _STARTUP_TIMEOUT_S:
                raise self._fail(f"load generator did not start within {_STARTUP_TIMEOUT_S:.0f}s")
        return not self._done

    def snapshot(self) -> Timeline | None:
        """The timeline recorded so far (reads what the children sent); None before they reported their start.

        For live decisions while the load runs (e.g. a canary analysis reading the last seconds)."""
        self.poll()
        if self._builder is None:
            return None
        return self._builder.build(start_monotonic=self._start_mono)

    def stop(self) -> None:
        """Stop the load now (the result covers what ran so far)."""
        if self._done or self._result is not None or self._error is not None:
            return
        self._stopped_early = True
        for p in self._procs:
            if p.popen.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    p.popen.send_signal(signal.SIGTERM)

    def wait(self, timeout: float | None = None) -> bool:
        """Poll until the load finished or ``timeout`` passed. True if it finished."""
        until = None if timeout is None else time.monotonic() + timeout
        while self.poll():
            if until is not None and time.monotonic() >= until:
                return False
            time.sleep(0.05)
        return True

    def result(self, timeout: float | None = None) -> LoadResult:
        """Wait for the end of the load (``duration_s`` after it started) and return what it measured."""
        if self._result is not None:
            return self._result
        if timeout is None:
            timeout = self.duration_s + _STARTUP_TIMEOUT_S + 30.0
        if not self.wait(timeout):
            raise self._fail(f"load did not finish within {timeout:.0f}s")
        for p in self._procs:
            try:
                p.popen.wait(timeout=3.0)
            except subprocess.TimeoutExpired:
                p.popen.kill()
                p.popen.wait(timeout=2.0)
        self._finalizer()
        assert self._builder is not None
        assert self._start_epoch is not None
        stops = [float(f["stop_epoch"]) for f in self._finals.values() if "stop_epoch" in f]
        duration = (max(stops) - self._start_epoch) if stops else self.duration_s
        timeline = self._builder.build(start_monotonic=self._start_mono, duration_s=max(duration, 0.0))
        cpu = {name: 100.0 * cpu_s / wall_s for name, (cpu_s, wall_s) in self._cpu.items() if wall_s > 0}
        dropped = sum(int(f.get("dropped", 0)) for f in self._finals.values())
        warnings = list(self._warnings)
        if self._stopped_early:
            warnings.append(f"stopped early after {duration:.2f}s of {self.duration_s:g}s")
        self._result = build_result(
            target_url=self.target_url,
            timeline=timeline,
            requested_duration_s=self.duration_s,
            users=self.users,
            rate=self.rate,
            workers=self.workers,
            cpu_by_process=cpu,
            dropped=dropped,
            slos=self.slos,
            extra_warnings=tuple(warnings),
        )
        return self._result

    def __enter__(self) -> LoadHandle:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._result is None and self._error is None:
            self.stop()
            with contextlib.suppress(LoadError):
                self.result(timeout=15.0)
        self._finalizer()


def _validate(
    target_url: str,
    users: int,
    duration_s: float,
    rate: float | None,
    workers: int,
    remote_workers: int,
    locustfile: str | Path | None,
    mix: Mapping[str, int] | None,
    slos: Sequence[str],
    allowed_hosts: Sequence[str],
) -> tuple[Path | None, tuple[str, ...]]:
    from pytest_blissful.grading.thresholds import parse_threshold

    check_target(target_url, allowed_hosts)
    if users < 1:
        raise ValueError(f"users must be at least 1, got {users}")
    if not (duration_s > 0 and math.isfinite(duration_s)):
        raise ValueError(f"duration_s must be a positive number of seconds, got {duration_s}")
    if rate is not None and not (rate > 0 and math.isfinite(rate)):
        raise ValueError(f"rate must be a positive number of requests per second, got {rate}")
    if workers < 0 or remote_workers < 0 or workers + remote_workers < 1:
        raise ValueError(f"need at least one worker, got workers={workers}, remote_workers={remote_workers}")
    if (workers >= 2 or remote_workers) and users < workers + remote_workers:
        raise ValueError(f"users ({users}) must be at least the number of workers ({workers + remote_workers})")
    path: Path | None = None
    if locustfile is not None:
        path = Path(locustfile).resolve()
        if not path.is_file():
            raise FileNotFoundError(f"locustfile {locustfile} does not exist")
        if mix is not None:
            raise ValueError("mix= applies to the built-in user only; set weights in your locustfile instead")
    if mix is not None:
        for key, weight in mix.items():
            method, _, endpoint_path = key.partition(" ")
            if not method.isalpha() or not endpoint_path.startswith("/"):
                raise ValueError(f"mix key {key!r} must be 'METHOD /path', e.g. one of {', '.join(_KNOWN_ENDPOINTS)}")
            if not isinstance(weight, int) or weight < 0:
                raise ValueError(f"mix weight for {key!r} must be a non-negative int, got {weight!r}")
        if not any(mix.values()):
            raise ValueError("mix has no endpoint with a positive weight")
    for expr in slos:
        parse_threshold(expr)  # fail before any process starts
    return path, tuple(slos)


def start_load(
    target_url: str,
    *,
    users: int = 10,
    duration_s: float = 30.0,
    spawn_rate: float | None = None,
    rate: float | None = None,
    workers: int = 1,
    locustfile: str | Path | None = None,
    mix: Mapping[str, int] | None = None,
    slos: Sequence[str] = (),
    allowed_hosts: Sequence[str] = (),
    progress: Callable[[LoadProgress], None] | None = None,
    remote_workers: int = 0,
    master_bind: str = "127.0.0.1",
    master_port: int | None = None,
    worker_timeout_s: float = 60.0,
    request_timeout_s: float = 5.0,
    sides: Mapping[str, str] | None = None,
) -> LoadHandle:
    """Start load in the background and return at once (see :func:`run_load` for the arguments).

    ``progress`` is called from ``handle.poll()``/``wait()``/``result()``, i.e. only when you call them.

    ``sides`` (``{"old": url, "new": url}``, built-in user only): every request goes to each side in turn, in a
    random order per request, and is recorded under ``"METHOD [side] /path"``; ``target_url`` is then only a
    label. Split the result with ``timeline.select_side(name)``.
    """
    if sides:
        if locustfile is not None:
            raise ValueError("sides= works with the built-in user only, not with a locustfile")
        for url in sides.values():
            check_target(url, allowed_hosts)
    path, slo_tuple = _validate(
        target_url, users, duration_s, rate, workers, remote_workers, locustfile, mix, slos, allowed_hosts
    )
    return LoadHandle(
        target_url=target_url,
        users=users,
        duration_s=float(duration_s),
        spawn_rate=spawn_rate,
        rate=rate,
        workers=workers,
        remote_workers=remote_workers,
        locustfile=path,
        mix=mix,
        slos=slo_tuple,
        progress=progress,
        master_bind=master_bind,
        master_port=master_port,
        worker_timeout_s=worker_timeout_s,
        request_timeout_s=request_timeout_s,
        sides=sides,
    )


def run_load(
    target_url: str,
    *,
    users: int = 10,
    duration_s: float = 30.0,
    spawn_rate: float | None = None,
    rate: float | None = None,
    workers: int = 1,
    locustfile: str | Path | None = None,
    mix: Mapping[str, int] | None = None,
    slos: Sequence[str] = (),
    allowed_hosts: Sequence[str] = (),
    progress: Callable[[LoadProgress], None] | None = None,
    remote_workers: int = 0,
    master_bind: str = "127.0.0.1",
    master_port: int | None = None,
    worker_timeout_s: float = 60.0,
    request_timeout_s: float = 5.0,
) -> LoadResult:
    """Send load to ``target_url`` for ``duration_s`` seconds and return what was measured.

    * ``users``: concurrent Locust users (in arrival-rate mode: the pool that sends the requests).
    * ``spawn_rate``: users started per second (None: all at once).
    * ``rate``: constant arrival rate in requests (iterations) per second, open model; latency is measured
      from each request's *intended* send time (coordinated-omission correction) and requests that
      were due but never sent before the stop are counted in ``result.dropped``.
    * ``workers``: 1 = one Locust local-runner process; N >= 2 = a master plus N worker processes.
    * ``locustfile``: your own user classes instead of the built-in one; ``mix``: weights of the
      built-in user's endpoints, e.g. ``{"GET /hello": 8, "POST /echo": 2}``.
    * ``slos``: thresholds checked by ``result.passed``; ``allowed_hosts``: non-loopback hosts that
      belong to the stack under test (everything else is refused).
    * ``progress``: called about once a second with a :class:`LoadProgress`.
    * ``request_timeout_s``: a request of the built-in user that takes longer fails (recorded as an error
      with that latency), so a hung dependency shows up as errors instead of silently missing samples.
    """
    handle = start_load(
        target_url,
        users=users,
        duration_s=duration_s,
        spawn_rate=spawn_rate,
        rate=rate,
        workers=workers,
        locustfile=locustfile,
        mix=mix,
        slos=slos,
        allowed_hosts=allowed_hosts,
        progress=progress,
        remote_workers=remote_workers,
        master_bind=master_bind,
        master_port=master_port,
        worker_timeout_s=worker_timeout_s,
        request_timeout_s=request_timeout_s,
    )
    with handle:
        return handle.result()
