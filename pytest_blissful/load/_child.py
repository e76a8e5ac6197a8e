"""The Locust side of the load runner: runs ONLY in child processes (never import it into pytest).

``python -m pytest_blissful.load._child CONFIG.json`` runs one process in one role:

* ``local``  — a Locust LocalRunner; records samples itself.
* ``master`` — a Locust MasterRunner; waits for its workers, tells them the start instant, relays
  their bucketed histograms to the parent.
* ``worker`` — a Locust WorkerRunner; records samples and sends them to the master every second.

Every process records each request into 100 ms buckets of latencies (:class:`~pytest_blissful.metrics.Recorder`:
raw values for small buckets, HDR histograms for large ones, plus a per-second index) and hands over encoded
fragments about once a second.  ``local``/``master`` write JSON lines to the
output file named in the config (a file, not a pipe, so a parent that is busy never blocks the load).
"""
# ruff: noqa: TID251  -- this module only ever runs inside a Locust child process.

from __future__ import annotations

from gevent import monkey

monkey.patch_all()

import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import random  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import traceback  # noqa: E402
from collections.abc import Callable, Mapping  # noqa: E402
from typing import Any, ClassVar, TextIO  # noqa: E402

import gevent  # noqa: E402
from gevent.event import Event  # noqa: E402
from locust import FastHttpUser, User, constant, task  # noqa: E402
from locust.env import Environment  # noqa: E402
from locust.runners import MasterRunner, WorkerRunner  # noqa: E402
from locust.util.load_locustfile import load_locustfile  # noqa: E402

from pytest_blissful.metrics.timeline import Recorder  # noqa: E402

_NAMES = ("ada", "grace", "linus", "barbara", "ken", "margaret", "dennis", "radia")
DEFAULT_MIX: dict[str, int] = {"GET /hello": 5, "GET /hello/{name}": 3, "GET /health": 1, "POST /echo": 1}


# --------------------------------------------------------------------------------------------- users
class _Endpoint:
    __slots__ = ("method", "name", "path")

    def __init__(self, spec: str) -> None:
        method, _, path = spec.strip().partition(" ")
        if not path.startswith("/"):
            raise ValueError(f"mix key {spec!r} must look like 'GET /path'")
        self.method, self.path, self.name = method.upper(), path, path

    def call(self, client: Any) -> None:
        if "{name}" in self.path:
            client.request(self.method, self.path.replace("{name}", random.choice(_NAMES)), name=self.name)
        elif self.method == "POST" and self.path == "/echo":
            client.request("POST", self.path, name=self.name, json={"message": "blissful", "n": random.random()})
        else:
            client.request(self.method, self.path, name=self.name)

    def call_sides(self, client: Any, sides: list[tuple[str, str]]) -> None:
        """The same request to every side (``[(side, base_url), ...]``, in the order given), recorded as
        ``"[side] /path"``: identical, interleaved load on several versions of a service."""
        path = self.path.replace("{name}", random.choice(_NAMES)) if "{name}" in self.path else self.path
        body = {"message": "blissful", "n": random.random()} if self.method == "POST" and path == "/echo" else None
        for side, base in sides:
            name = f"[{side}] {self.name}"
            if body is not None:
                client.request(self.method, base + path, name=name, json=body)
            else:
                client.request(self.method, base + path, name=name)


def _weighted(mix: Mapping[str, int] | None) -> tuple[list[_Endpoint], list[float]]:
    weights = dict(DEFAULT_MIX if mix is None else mix)
    endpoints: list[_Endpoint] = []
    cum: list[float] = []
    acc = 0.0
    for spec, weight in weights.items():
        if weight > 0:
            acc += weight
            endpoints.append(_Endpoint(spec))
            cum.append(acc)
    if not endpoints:
        raise ValueError("the traffic mix has no endpoint with a positive weight")
    return endpoints, cum


class BlissfulUser(FastHttpUser):
    """The built-in user: one weighted request of the standard endpoints per task, no think time."""

    wait_time = constant(0)
    host = "http://127.0.0.1"
    endpoints, cum_weights = _weighted(None)

    @task
    def mixed(self) -> None:
        random.choices(self.endpoints, cum_weights=self.cum_weights)[0].call(self.client)


def builtin_user(mix: Mapping[str, int] | None) -> type[User]:
    BlissfulUser.endpoints, BlissfulUser.cum_weights = _weighted(mix)
    return BlissfulUser


class PairedUser(FastHttpUser):
    """Comparison user: each task picks one weighted request and sends it to every side, in an order that
    alternates at random (so neither side is always second), no think time."""

    wait_time = constant(0)
    host = "http://127.0.0.1"
    endpoints, cum_weights = _weighted(None)
    sides: ClassVar[list[tuple[str, str]]] = []

    @task
    def paired(self) -> None:
        endpoint = random.choices(self.endpoints, cum_weights=self.cum_weights)[0]
        order = list(self.sides)
        random.shuffle(order)
        endpoint.call_sides(self.client, order)


def paired_user(mix: Mapping[str, int] | None, sides: Mapping[str, str]) -> type[User]:
    PairedUser.endpoints, PairedUser.cum_weights = _weighted(mix)
    PairedUser.sides = [(name, url.rstrip("/")) for name, url in sides.items()]
    return PairedUser


def user_classes(cfg: Mapping[str, Any]) -> list[type[User]]:
    if cfg.get("locustfile"):
        classes, _shapes = load_locustfile(str(cfg["locustfile"]))
        if not classes:
            raise ValueError(f"no User classes found in {cfg['locustfile']}")
        return list(classes.values())
    timeout = float(cfg.get("request_timeout_s") or 5.0)
    if cfg.get("sides"):
        PairedUser.network_timeout = PairedUser.connection_timeout = timeout
        return [paired_user(cfg.get("mix"), cfg["sides"])]
    BlissfulUser.network_timeout = BlissfulUser.connection_timeout = timeout
    return [builtin_user(cfg.get("mix"))]


# --------------------------------------------------------------------------------------------- pacing
class Pacer:
    """Constant arrival rate: slot k is due at ``t0 + offset + k / rate`` (perf_counter clock)."""

    def __init__(self, rate: float, t0: float, offset: float) -> None:
        self.interval = 1.0 / rate
        self.t0 = t0 + offset
        self.next_slot = 0
        self.pending: dict[Any, float] = {}  # greenlet -> intended start of its next iteration
        self.lag: dict[Any, float] = {}  # greenlet -> lag of its current iteration

    def claim(self) -> float:
        intended = self.t0 + self.next_slot * self.interval
        self.next_slot += 1
        self.pending[gevent.getcurrent()] = intended
        return max(0.0, intended - time.perf_counter())

    def due_unclaimed(self, stop: float) -> list[float]:
        """Intended starts (perf_counter) of slots due before ``stop`` that no user claimed."""
        due = math.ceil((stop - self.t0) / self.interval) if stop > self.t0 else 0
        return [self.t0 + k * self.interval for k in range(self.next_slot, due)]


def pace(classes: list[type[User]], pacer: Pacer) -> None:
    """Make every user class wait for the next arrival slot instead of its own wait_time."""
    for cls in classes:
        original_on_start: Callable[[Any], None] = cls.on_start

        def on_start(self: Any, _orig: Callable[[Any], None] = original_on_start) -> None:
            _orig(self)
            gevent.sleep(pacer.claim())

        def wait_time(self: Any) -> float:
            return pacer.claim()

        cls.on_start = on_start  # type: ignore[method-assign]
        cls.wait_time = wait_time


# --------------------------------------------------------------------------------------------- recording
class Recording:
    def __init__(self, env: Environment, start_epoch: float, pacer: Pacer | None, t0_perf: float) -> None:
        self.recorder = Recorder(start_epoch)
        self.pacer = pacer
        self.start_epoch = start_epoch
        self.t0_perf = t0_perf
        self.active = True
        self.cpu_mark = time.process_time()
        self.wall_mark = time.monotonic()
        env.events.request.add_listener(self.on_request)  # type: ignore[no-untyped-call]

    def on_request(
        self,
        request_type: str,
        name: str,
        response_time: float,
        response_length: int,
        exception: BaseException | None = None,
        response: Any = None,
        start_time: float | None = None,
        **_: Any,
    ) -> None:
        if not self.active:
            return
        now = time.perf_counter()
        latency_us = response_time * 1000.0
        at = start_time if start_time is not None else time.time() - response_time / 1000.0
        pacer = self.pacer
        if pacer is not None:
            g = gevent.getcurrent()
            intended = pacer.pending.pop(g, None)
            if intended is not None:
                lag = max(0.0, (now - response_time / 1000.0) - intended)
                pacer.lag[g] = lag
                at = self.start_epoch + (intended - self.t0_perf)
            else:
                lag = pacer.lag.get(g, 0.0)
            latency_us += lag * 1_000_000.0
        status = int(getattr(response, "status_code", 0) or 0)
        error: str | None = None
        if exception is not None:
            error = f"HTTP {status}" if status >= 400 else type(exception).__name__
        self.recorder.record(f"{request_type} {name}", round(latency_us), at, status=status, error=error)

    def drain(self) -> dict[str, Any]:
        cpu, wall = time.process_time(), time.monotonic()
        out = {
            "tl": self.recorder.flush().encode(),
            "cpu_s": cpu - self.cpu_mark,
            "wall_s": wall - self.wall_mark,
        }
        self.cpu_mark, self.wall_mark = cpu, wall
        return out

    def finish(self, stop_perf: float) -> dict[str, Any]:
        self.active = False
        dropped = 0
        if self.pacer is not None:
            due = self.pacer.due_unclaimed(stop_perf)
            dropped = len(due)
            for intended in due:
                self.recorder.record_dropped(self.start_epoch + (intended - self.t0_perf))
        out = self.drain()
        out["dropped"] = dropped
        out["stop_epoch"] = self.start_epoch + (stop_perf - self.t0_perf)
        return out


# --------------------------------------------------------------------------------------------- plumbing
class Output:
    def __init__(self, path: str) -> None:
        self._f: TextIO = open(path, "a", encoding="utf-8")  # noqa: SIM115

    def write(self, **msg: Any) -> None:
        self._f.write(json.dumps(msg, separators=(",", ":")) + "\n")
        self._f.flush()


def sleep_until(deadline: float, stop: Event, tick: Callable[[], None] | None = None) -> None:
    """Sleep until ``deadline`` (time.monotonic) or until ``stop`` is set; ``tick`` about once a second."""
    next_tick = time.monotonic() + 1.0
    while True:
        now = time.monotonic()
        if now >= deadline or stop.is_set():
            return
        if tick is not None and now >= next_tick:
            tick()
            next_tick += 1.0
        step = min(deadline - now, next_tick - now, 0.05)
        stop.wait(max(step, 0.0))


def watch_parent(parent_pid: int, stop: Event) -> None:
    while not stop.is_set():
        if os.getppid() != parent_pid:  # the parent died: stop, give the final flush a moment, leave
            stop.set()
            gevent.sleep(2.0)
            os._exit(0)
        gevent.sleep(0.5)


def make_env(cfg: Mapping[str, Any], classes: list[type[User]]) -> Environment:
    host = cfg.get("host")
    for cls in classes:
        if host:
            cls.host = host
    return Environment(user_classes=classes, host=host, stop_timeout=0)


def spawn_rate(cfg: Mapping[str, Any]) -> float:
    rate = cfg.get("spawn_rate")
    return float(rate) if rate else max(float(cfg["users"]) * 100.0, 1000.0)


# --------------------------------------------------------------------------------------------- roles
def run_local(cfg: Mapping[str, Any], out: Output, stop: Event) -> None:
    classes = user_classes(cfg)
    env = make_env(cfg, classes)
    runner = env.create_local_runner()
    rate = cfg.get("rate")
    t0_perf = time.perf_counter() + 0.02
    pacer = Pacer(float(rate), t0_perf, 0.0) if rate else None
    if pacer is not None:
        pace(classes, pacer)
    start_epoch = time.time() + (t0_perf - time.perf_counter())
    rec = Recording(env, start_epoch, pacer, t0_perf)
    deadline = time.monotonic() + (t0_perf - time.perf_counter()) + float(cfg["duration_s"])
    out.write(t="started", epoch=start_epoch, workers=0)
    runner.start(int(cfg["users"]), spawn_rate(cfg))

    def tick() -> None:
        out.write(t="data", src="local", **rec.drain())
        out.write(t="tick", users=runner.user_count)

    sleep_until(deadline, stop, tick)
    stop_perf = time.perf_counter()
    runner.stop()
    out.write(t="final", src="local", **rec.finish(stop_perf))
    out.write(t="done")
    os._exit(0)  # nothing left to clean up; Locust's quit() would only cost time


def run_master(cfg: Mapping[str, Any], out: Output, stop: Event) -> None:
    classes = user_classes(cfg)
    env = make_env(cfg, classes)
    runner: MasterRunner = env.create_master_runner(cfg.get("master_bind", "127.0.0.1"), int(cfg["master_port"]))
    finals: dict[str, dict[str, Any]] = {}

    def on_data(environment: Environment, msg: Any, **_: Any) -> None:
        out.write(t="data", src=msg.node_id, **msg.data)

    def on_final(environment: Environment, msg: Any, **_: Any) -> None:
        finals[msg.node_id] = msg.data
        out.write(t="final", src=msg.node_id, **msg.data)

    runner.register_message("blissful_data", on_data)
    runner.register_message("blissful_final", on_final)
    out.write(t="ready", port=int(cfg["master_port"]))

    expect = int(cfg["expect_workers"])
    wait_until = time.monotonic() + float(cfg.get("worker_timeout_s", 60.0))
    while len(runner.clients.ready) < expect:
        if time.monotonic() > wait_until or stop.is_set():
            out.write(t="error", message=f"only {len(runner.clients.ready)} of {expect} workers connected")
            runner.quit()
            return
        gevent.sleep(0.02)

    clients = [c.id for c in runner.clients.ready][:expect]
    start_epoch = time.time() + 0.15
    rate = cfg.get("rate")
    for index, client_id in enumerate(clients):
        runner.send_message(
            "blissful_setup",
            {
                "start_epoch": start_epoch,
                "duration_s": float(cfg["duration_s"]),
                "rate": float(rate) / expect if rate else None,
                "offset": (index / expect) / float(rate) if rate else 0.0,
                "index": index,
                "mix": cfg.get("mix"),
            },
            client_id=client_id,
        )
    deadline = time.monotonic() + (start_epoch - time.time()) + float(cfg["duration_s"])
    out.write(t="started", epoch=start_epoch, workers=expect)
    gevent.sleep(max(0.0, start_epoch - time.time() - 0.05))
    runner.start(int(cfg["users"]), spawn_rate(cfg))

    def tick() -> None:
        out.write(t="tick", users=runner.user_count)

    sleep_until(deadline, stop, tick)
    if stop.is_set():  # early stop: tell the workers now
        for client_id in clients:
            runner.send_message("blissful_stop", {}, client_id=client_id)
    give_up = time.monotonic() + 10.0
    while len(finals) < len(clients) and time.monotonic() < give_up:
        gevent.sleep(0.01)
    if len(finals) < len(clients):
        missing = sorted(set(clients) - set(finals))
        out.write(t="warning", message=f"no final data from workers {missing}")
    out.write(t="done")
    for client_id in clients:
        runner.send_message("quit", None, client_id=client_id)
    gevent.sleep(0.1)
    os._exit(0)


def run_worker(cfg: Mapping[str, Any], out: Output | None, stop: Event) -> None:
    classes = user_classes(cfg)
    env = make_env(cfg, classes)
    runner: WorkerRunner = env.create_worker_runner(str(cfg["master_host"]), int(cfg["master_port"]))
    state: dict[str, Any] = {}
    finished = Event()

    def on_setup(environment: Environment, msg: Any, **_: Any) -> None:
        data = msg.data
        if not cfg.get("locustfile") and data.get("mix") is not None:
            builtin_user(data["mix"])
        start_epoch = float(data["start_epoch"])
        t0_perf = time.perf_counter() + (start_epoch - time.time())
        pacer = Pacer(float(data["rate"]), t0_perf, float(data["offset"])) if data.get("rate") else None
        if pacer is not None:
            pace(classes, pacer)
        state["rec"] = Recording(env, start_epoch, pacer, t0_perf)
        state["deadline"] = time.monotonic() + (start_epoch - time.time()) + float(data["duration_s"])
        gevent.spawn(supervise)

    def on_stop(environment: Environment, msg: Any, **_: Any) -> None:
        stop.set()

    def supervise() -> None:
        rec: Recording = state["rec"]

        def tick() -> None:
            runner.send_message("blissful_data", rec.drain())

        sleep_until(state["deadline"], stop, tick)
        stop_perf = time.perf_counter()
        runner.stop()
        runner.send_message("blissful_final", rec.finish(stop_perf))
        finished.set()

    runner.register_message("blissful_setup", on_setup)
    runner.register_message("blissful_stop", on_stop)
    runner.greenlet.join()


def main(argv: list[str]) -> int:
    with open(argv[0], encoding="utf-8") as f:
        cfg: dict[str, Any] = json.load(f)
    logging.basicConfig(level=os.environ.get("BLISSFUL_LOCUST_LOG", "WARNING"), stream=sys.stderr)
    stop = Event()
    gevent.signal_handler(signal.SIGTERM, stop.set)
    gevent.signal_handler(signal.SIGINT, stop.set)
    if cfg.get("parent_pid"):
        gevent.spawn(watch_parent, int(cfg["parent_pid"]), stop)
    role = cfg["role"]
    out = Output(cfg["out"]) if cfg.get("out") else None
    try:
        if role == "local":
            assert out is not None
            run_local(cfg, out, stop)
        elif role == "master":
            assert out is not None
            run_master(cfg, out, stop)
        elif role == "worker":
            run_worker(cfg, out, stop)
        else:
            raise ValueError(f"unknown role {role!r}")
    except Exception as exc:
        if out is not None:
            out.write(t="error", message=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
        traceback.print_exc()
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
