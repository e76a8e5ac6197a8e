"""The SVG timeline chart: well-formed, the fault window shaded where it was, and round axis ticks."""

from __future__ import annotations

import itertools
import xml.etree.ElementTree as ET

from hypothesis import given
from hypothesis import strategies as st

from pytest_blissful.metrics.timeline import SecondPoint
from pytest_blissful.report.charts import LEFT, RIGHT, WIDTH, Band, Marker, nice_ticks, timeline_svg

SVG = "{http://www.w3.org/2000/svg}"


def _points(n: int, start: float = 1000.0) -> list[SecondPoint]:
    return [SecondPoint(second=i, epoch=start + i, requests=100, errors=50 if 5 <= i < 10 else 0, dropped=0,
                        p50_ms=10.0, p95_ms=20.0 + i, p99_ms=40.0 + i, max_ms=90.0) for i in range(n)]


@given(st.floats(min_value=1e-3, max_value=1e9))
def test_ticks_cover_the_range_in_round_steps(high: float) -> None:
    ticks = nice_ticks(high)
    assert ticks[0] == 0
    assert ticks[-1] >= high
    steps = {round(b - a, 9) for a, b in itertools.pairwise(ticks)}
    assert len(steps) == 1
    assert 2 <= len(ticks) <= 12


def test_the_fault_window_is_shaded_in_both_panels_at_its_time() -> None:
    svg = timeline_svg(_points(20), title="db-down: FAIL <&>", start_epoch=1000.0,
                       bands=[Band(2, 5, "baseline", "#22c55e"), Band(5, 10, "fault")],
                       markers=[Marker(11, "recovered")])
    root = ET.fromstring(svg)  # well-formed (the title is escaped)
    bands = [r for r in root.iter(f"{SVG}rect") if r.get("class") == "band"]
    fault = [r for r in bands if r.findtext(f"{SVG}title") == "fault"]
    assert len(fault) == 2  # latency panel and error-rate panel
    x_max = 20.0  # nice_ticks(21, 8)[-1] for 20 seconds of data
    plot_w = WIDTH - LEFT - RIGHT
    assert float(fault[0].get("x", "")) == round(LEFT + plot_w * 5 / x_max, 1)
    assert float(fault[0].get("width", "")) == round(plot_w * 5 / x_max, 1)
    texts = [t.text for t in root.iter(f"{SVG}text")]
    assert {"fault", "baseline", "recovered", "latency (ms)", "error rate (%)"} <= set(texts)
    assert len(list(root.iter(f"{SVG}polyline"))) == 4  # p95, p99, req/s, error rate


def test_no_data_says_so() -> None:
    svg = timeline_svg([], title="empty", start_epoch=0.0)
    assert "no load data" in svg
    ET.fromstring(svg)
