"""Timeline.select_side: the requests of one version of an interleaved comparison load, with its own totals."""

from __future__ import annotations

from pytest_blissful.metrics.timeline import Recorder


def test_select_side_splits_requests_and_totals() -> None:
    recorder = Recorder(1000.0)
    for i in range(10):
        recorder.record("GET [old] /hello", 1_000 + i, 1000.2 + i * 0.3, status=200)
        recorder.record("GET [new] /hello", 5_000 + i, 1000.25 + i * 0.3, status=500 if i == 3 else 200,
                        error="HTTP 500" if i == 3 else None)
        recorder.record("GET [new] /health", 200, 1000.3 + i * 0.3, status=200)
    timeline = recorder.flush()
    old, new = timeline.select_side("old"), timeline.select_side("new")
    assert old.endpoints == ("GET /hello",)
    assert new.endpoints == ("GET /health", "GET /hello")
    assert (old.requests, new.requests, timeline.requests) == (10, 20, 30)
    assert old.window().errors == 0 and new.window().errors == 1
    assert old.window().max_ms < 1.1 and new.window(endpoint="GET /hello").p50_ms > 4.9
    assert timeline.select_side("nobody").requests == 0
