"""Bounded waits for a target to answer."""

from __future__ import annotations

import time

import httpx


class TargetUnreachable(Exception):
    """The target never answered its health endpoint in time."""


def wait_healthy(url: str, timeout_s: float, interval_s: float = 0.2) -> float:
    """Poll ``url`` until it answers 2xx; return the seconds it took or raise ``TargetUnreachable``."""
    started = time.monotonic()
    deadline = started + timeout_s
    last = "no answer"
    with httpx.Client(timeout=min(2.0, timeout_s)) as client:
        while True:
            try:
                response = client.get(url)
                if response.is_success:
                    return time.monotonic() - started
                last = f"HTTP {response.status_code}"
            except httpx.HTTPError as exc:
                last = f"{type(exc).__name__}: {exc}"
            if time.monotonic() + interval_s > deadline:
                raise TargetUnreachable(f"{url} did not become healthy within {timeout_s:.0f} s (last: {last})")
            time.sleep(interval_s)
