"""Keep a fault in place for a while: the method's last step in every scenario.

Unlike Chaos Toolkit's ``pauses``, the hold

* ends early when the FMEA watcher asks for an abort (``abort_on_critical_failure``), so the rollbacks run at once;
* counts from the moment the fault was *applied* (the runner marks it when the last injection action returns), so
  the time spent verifying the fault is part of the hold, not added to it: a 3 s fault is in place 3 s;
* runs the runner's "still in place?" check shortly before it ends (``before_end``), in a thread, early enough
  that the check does not delay the removal (a late check that finds the fault missing confirms nothing).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

_abort = threading.Event()
_reason: list[str] = []
_applied_at: list[float] = []  # time.monotonic() when the fault was applied (set by the runner)
_before_end: list[tuple[Callable[[float], object], float]] = []  # (check(due monotonic), lead seconds)


def hold(seconds: float | str) -> float:
    """Hold until ``seconds`` (bounded to one hour) after the fault was applied, or until an abort is requested;
    return how long the fault has been in place when the hold ends."""
    limit = min(float(seconds), 3600.0)
    now = time.monotonic()
    started = _applied_at[0] if _applied_at and _applied_at[0] <= now else now
    deadline = started + limit
    if _before_end:
        check, lead = _before_end[0]
        lead = min(lead, limit / 2.0)  # checked in the fault's second half, so it still says it was held
        if not _abort.wait(max(0.0, deadline - lead - time.monotonic())):
            # in a thread: a check slower than its lead must not hold the fault longer than asked
            checking = threading.Thread(target=check, args=(deadline,), name="blissful-fault-check", daemon=True)
            checking.start()
            checking.join(max(0.0, deadline - time.monotonic()))
    _abort.wait(max(0.0, deadline - time.monotonic()))
    return time.monotonic() - started


def mark_applied(at_monotonic: float | None = None) -> None:
    """The fault is in place from ``at_monotonic`` (default: now); the next hold counts from there."""
    _applied_at[:] = [time.monotonic() if at_monotonic is None else at_monotonic]


def before_end(check: Callable[[float], object] | None, lead_s: float = 0.0) -> None:
    """Run ``check(end)`` ``lead_s`` before the hold ends at ``end`` (monotonic; None: no check). The hold ends on
    time even if the check has not finished."""
    _before_end[:] = [] if check is None else [(check, max(0.0, lead_s))]


def request_abort(reason: str) -> None:
    _reason[:] = [reason]
    _abort.set()


def abort_reason() -> str | None:
    return _reason[0] if _abort.is_set() and _reason else None


def reset() -> None:
    _reason.clear()
    _abort.clear()
    _applied_at.clear()
    _before_end.clear()
