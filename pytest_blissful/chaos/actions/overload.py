"""Overload as a fault: an open-model arrival rate well above the service's measured capacity.

``start_overload`` starts a second Locust load (child processes, constant arrival rate) against the stack's entry
point and returns once it is sending; ``stop_overload`` (the rollback) stops it and keeps its result for the FMEA
flow, which measured the capacity during the baseline and passes ``overload_rate`` (requests/s) in the
configuration. The load is bounded in time (``duration_s``) even if the rollback never runs.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pytest_blissful.chaos.errors import ChaosError

if TYPE_CHECKING:
    from pytest_blissful.load import LoadHandle, LoadResult

Configuration = dict[str, Any] | None
_state: dict[str, Any] = {}


def start_overload(rate: float | str | None = None, users: int = 400, duration_s: float = 120.0,
                   mix: dict[str, int] | None = None, configuration: Configuration = None) -> dict[str, Any]:
    """Send ``rate`` requests/s (default: ``overload_rate`` from the configuration) until ``stop_overload``."""
    from pytest_blissful.load import start_load

    config = configuration or {}
    offered = float(rate if rate not in (None, "") else config.get("overload_rate", 0.0))
    if not offered > 0:
        raise ChaosError("start_overload needs a positive rate (or overload_rate in the configuration)")
    base_url = config.get("blissful_base_url")
    if not base_url:
        raise ChaosError("start_overload needs blissful_base_url in the configuration (the stack's entry point)")
    stop_overload()
    handle: LoadHandle = start_load(
        str(base_url), users=int(users), rate=offered, duration_s=min(float(duration_s), 600.0),
        mix=mix or config.get("overload_mix") or None, request_timeout_s=float(config.get("overload_timeout_s", 5.0)),
    )
    _state.update(handle=handle, result=None, rate=offered, started=time.time())
    # the fault is in place once the arrivals reach the service, not when the generator process starts (spawning
    # its users takes seconds on a busy machine): wait for its first answered requests
    deadline = time.monotonic() + 30.0
    while True:
        if not handle.poll():
            handle.result(timeout=10)  # raises the load error
        timeline = handle.snapshot() if handle.start_monotonic is not None else None
        if timeline is not None and timeline.requests > 0:
            break
        if time.monotonic() > deadline:
            stop_overload()
            raise ChaosError("the overload generator sent nothing within 30 s")
        time.sleep(0.05)
    return {"rate": offered, "users": users}


def stop_overload(configuration: Configuration = None) -> dict[str, Any]:
    handle: LoadHandle | None = _state.pop("handle", None)
    if handle is None:
        return {"stopped": False}
    handle.stop()
    try:
        _state["result"] = handle.result(timeout=30)
    except Exception as exc:  # the result is evidence, not a reason to leave the rollback unfinished
        _state["error"] = str(exc)
    return {"stopped": True}


@dataclass(frozen=True)
class OverloadProgress:
    """What the running overload generator has sent so far (for the in-place check)."""

    running: bool
    elapsed_s: float
    requests: int
    rps: float
    offered_rps: float
    p50_ms: float
    p95_ms: float
    error_rate: float
    shed_rate: float  # share answered 429 or 503: the service turning requests away


def progress() -> OverloadProgress | None:
    """The overload generator's figures so far; None when no overload was started."""
    handle: LoadHandle | None = _state.get("handle")
    if handle is None:
        return None
    offered = float(_state.get("rate", 0.0))
    try:
        timeline = handle.snapshot()
    except Exception as exc:  # the generator failed: not running, and the check says why
        _state["error"] = str(exc)
        return OverloadProgress(False, 0.0, 0, 0.0, offered, 0.0, 0.0, 0.0, 0.0)
    if timeline is None:
        return OverloadProgress(handle.running, 0.0, 0, 0.0, offered, 0.0, 0.0, 0.0, 0.0)
    # the generator hands its figures over once a second: its last second may still be partly in flight
    recorded = timeline.duration_s
    window = timeline.window(0.0, max(recorded - 1.0, recorded / 2))
    answered = max(window.requests, 1)
    shed = sum(count for status, count in window.statuses.items() if status in (429, 503))
    return OverloadProgress(handle.running, window.duration_s, window.requests, window.rps, offered,
                            window.percentile_us(50) / 1000.0, window.percentile_us(95) / 1000.0,
                            window.errors / answered, shed / answered)


def take_result() -> tuple[float, LoadResult | None]:
    """The offered rate and the overload's result (once), for the FMEA flow."""
    rate = float(_state.pop("rate", 0.0))
    result: LoadResult | None = _state.pop("result", None)
    return rate, result
