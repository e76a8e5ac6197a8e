"""The hold: counts from the applied fault, runs the last check before its end, never waits for a slow check."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest

from pytest_blissful.chaos.actions import hold


@pytest.fixture(autouse=True)
def _clean() -> Iterator[None]:
    hold.reset()
    yield
    hold.reset()


def test_the_hold_counts_from_the_moment_the_fault_was_applied() -> None:
    applied = time.monotonic()
    hold.mark_applied(applied)
    time.sleep(0.3)  # e.g. the injection's check
    held = hold.hold(0.5)
    assert 0.5 <= time.monotonic() - applied < 0.8  # 0.8 would mean the 0.3 s before it was added
    assert held == pytest.approx(0.5, abs=0.05)


def test_the_last_check_runs_before_the_end_and_a_slow_one_does_not_lengthen_the_fault() -> None:
    seen: list[float] = []
    hold.mark_applied()
    started = time.monotonic()

    def slow_check(due: float) -> None:
        seen.append(due - time.monotonic())
        time.sleep(1.0)

    hold.before_end(slow_check, lead_s=0.2)
    hold.hold(0.5)
    assert time.monotonic() - started < 0.6
    assert seen and 0.1 < seen[0] <= 0.25  # ran about lead_s before the end


def test_an_abort_ends_the_hold_at_once() -> None:
    hold.mark_applied()
    hold.request_abort("probes failing")
    started = time.monotonic()
    hold.hold(30)
    assert time.monotonic() - started < 0.1
    assert hold.abort_reason() == "probes failing"
