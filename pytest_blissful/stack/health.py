"""Bounded waits for a target to answer (tenacity: a deadline and a fixed interval, never an endless loop)."""

from __future__ import annotations

import time

import httpx
from tenacity import RetryError, retry_if_result, stop_after_delay, wait_fixed
from tenacity import Retrying as _Retrying


class TargetUnreachable(Exception):
    """The target never answered its health endpoint in time."""


def wait_healthy(url: str, timeout_s: float, interval_s: float = 0.2) -> float:
    """Poll ``url`` until it answers 2xx; return the seconds it took or raise ``TargetUnreachable``."""
    started = time.monotonic()
    last = ["no answer"]

    def attempt(client: httpx.Client) -> bool:
        try:
            response = client.get(url)
        except httpx.HTTPError as exc:
            last[0] = f"{type(exc).__name__}: {exc}"
            return False
        if not response.is_success:
            last[0] = f"HTTP {response.status_code}"
        return response.is_success

    retrying = _Retrying(stop=stop_after_delay(max(0.0, timeout_s - interval_s)), wait=wait_fixed(interval_s),
                         retry=retry_if_result(lambda ok: not ok))
    with httpx.Client(timeout=min(2.0, timeout_s)) as client:
        try:
            retrying(attempt, client)
        except RetryError:
            raise TargetUnreachable(
                f"{url} did not become healthy within {timeout_s:.0f} s (last: {last[0]})") from None
    return time.monotonic() - started
