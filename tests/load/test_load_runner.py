"""The load runner against a real HTTP server on 127.0.0.1 (Locust runs in child processes)."""

from __future__ import annotations

import sys
import threading
import time

import pytest

from pytest_blissful.load import LoadProgress, TargetNotAllowed, check_target, run_load, start_load
from tests.load.conftest import Target


def test_stops_on_time_and_records_microseconds(target: Target) -> None:
    seen: list[LoadProgress] = []
    assert threading.active_count() > 1  # the server thread is alive in this process
    result = run_load(target.url, users=4, duration_s=2.5, slos=["p99 < 2s", "error_rate < 1%"], progress=seen.append)
    assert abs(result.duration_s - 2.5) <= 0.1, result.duration_s
    assert result.totals.requests > 50
    assert result.passed, result.explain()
    assert seen
    assert all(p.elapsed_s >= 0 for p in seen)
    window = result.timeline.window()
    values = [window.percentile_us(q) for q in (50, 75, 90, 95, 99)]
    assert any(v % 1000 for v in values), values  # µs, not whole-ms buckets
    assert result.generator_cpu_percent > 0
    assert "local" in result.generator_cpu_by_process
    assert set(result.timeline.endpoints) <= {"GET /hello", "GET /hello/{name}", "GET /health", "POST /echo"}
    assert "✓ All thresholds passed" in result.table()


def test_master_and_two_workers_merge(target: Target) -> None:
    before = target.server.count
    result = run_load(target.url, users=4, duration_s=2.0, workers=2, mix={"GET /hello": 1})
    served = target.server.count - before
    assert set(result.generator_cpu_by_process) == {"worker-0", "worker-1"}
    assert abs(result.duration_s - 2.0) <= 0.1
    # every request the server answered was recorded, except those cut off in flight at the stop
    assert served - 4 <= result.totals.requests <= served, (served, result.totals.requests)
    assert sum(p.requests for p in result.timeline.per_second()) == result.totals.requests
    assert result.timeline.endpoints == ("GET /hello",)


def test_arrival_rate_counts_dropped_and_corrects_latency(target: Target) -> None:
    result = run_load(target.url, users=2, duration_s=2.0, rate=40, mix={"GET /slow": 1})
    # capacity is 2 users / 0.25 s = 8 req/s, 40 req/s were due: most could not be sent in time
    assert result.dropped > 40, result.dropped
    assert result.totals.requests <= 20
    # measured from the intended send time, latency grows far beyond the 0.25 s service time
    assert result.totals.max_ms > 1000, result.totals.max_ms
    assert any("could not be sent" in w for w in result.warnings)


def test_errors_by_kind(target: Target) -> None:
    result = run_load(target.url, users=2, duration_s=1.0, mix={"GET /fail": 1, "GET /hello": 1})
    assert result.errors_by_kind.get("HTTP 500", 0) > 0
    assert 0 < result.totals.error_rate < 1
    assert not result.meets("error_rate < 1%")
    assert result.meets("GET /hello: error_rate == 0")


def test_background_load_can_be_stopped_early(target: Target) -> None:
    with start_load(target.url, users=2, duration_s=30) as handle:
        while handle.start_monotonic is None:
            handle.poll()
            time.sleep(0.02)
        time.sleep(1.0)
        handle.stop()
        result = handle.result(timeout=20)
    assert result.duration_s < 5
    assert result.totals.requests > 0
    assert any("stopped early" in w for w in result.warnings)


def test_works_with_requests_imported(target: Target) -> None:
    import requests  # locust depends on it, so it is always installed

    assert requests.__version__
    assert "requests" in sys.modules
    result = run_load(target.url, users=1, duration_s=1.0)
    assert result.totals.requests > 0


def test_refuses_non_loopback_targets() -> None:
    with pytest.raises(TargetNotAllowed, match="allowed_hosts"):
        run_load("http://10.1.2.3:8080", duration_s=1)
    with pytest.raises(TargetNotAllowed):
        check_target("http://example.invalid/")
    assert check_target("http://svc.internal:80", allowed_hosts=["svc.internal"]) == "svc.internal"
    for url in ("http://127.0.0.1:1", "http://127.9.9.9", "http://[::1]:8080", "http://localhost:1"):
        check_target(url)


def test_bad_locustfile_is_reported(tmp_path: pytest.TempPathFactory, target: Target) -> None:
    from pathlib import Path

    bad = Path(str(tmp_path)) / "locustfile.py"
    bad.write_text("raise RuntimeError('broken on purpose')\n")
    with pytest.raises(Exception, match="broken on purpose"):
        run_load(target.url, users=1, duration_s=1, locustfile=bad)
