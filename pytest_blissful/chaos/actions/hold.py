"""Keep a fault in place for a while: the method's last step in every scenario.

Unlike Chaos Toolkit's ``pauses``, the hold ends early when the FMEA watcher asks for an abort
(``abort_on_critical_failure``), so the rollbacks run at once.
"""

from __future__ import annotations

import threading
import time

_abort = threading.Event()
_reason: list[str] = []


def hold(seconds: float | str) -> float:
    """Wait ``seconds`` (bounded to one hour) or until an abort is requested; return how long it held."""
    limit = min(float(seconds), 3600.0)
    started = time.monotonic()
    _abort.wait(limit)
    return time.monotonic() - started


def request_abort(reason: str) -> None:
    _reason[:] = [reason]
    _abort.set()


def abort_reason() -> str | None:
    return _reason[0] if _abort.is_set() and _reason else None


def reset() -> None:
    _reason.clear()
    _abort.clear()
