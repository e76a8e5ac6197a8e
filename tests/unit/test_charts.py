"""The SVG timeline chart: well-formed, the fault window shaded where it was, labelled, and cheap to import."""

from __future__ import annotations

import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest

from pytest_blissful.metrics.timeline import SecondPoint
from pytest_blissful.report.charts import Band, Marker, timeline_svg

SVG = "{http://www.w3.org/2000/svg}"


def _points(n: int, start: float = 1000.0) -> list[SecondPoint]:
    return [SecondPoint(second=i, epoch=start + i, requests=100, errors=50 if 5 <= i < 10 else 0, dropped=0,
                        p50_ms=10.0, p95_ms=20.0 + i, p99_ms=40.0 + i, max_ms=90.0) for i in range(n)]


def _groups(root: ET.Element) -> dict[str, ET.Element]:
    return {g.get("id", ""): g for g in root.iter(f"{SVG}g")}


def _x_range(group: ET.Element) -> tuple[float, float]:
    """Leftmost and rightmost x of the path(s) drawn in a group (matplotlib writes absolute ``M x y L x y``)."""
    xs = [float(x) for path in group.iter(f"{SVG}path")
          for x in re.findall(r"[ML] (-?[\d.]+) -?[\d.]+", path.get("d", ""))]
    assert xs, ET.tostring(group)
    return min(xs), max(xs)


def _style(group: ET.Element) -> str:
    return " ".join(path.get("style", "") for path in group.iter(f"{SVG}path"))


def test_the_fault_window_is_shaded_in_both_panels_at_its_time() -> None:
    svg = timeline_svg(_points(20), title="db-down: FAIL <&>", start_epoch=1000.0,
                       bands=[Band(2, 5, "baseline", "#22c55e"), Band(5, 10, "fault")],
                       markers=[Marker(11, "recovered")])
    assert svg.startswith("<svg")
    root = ET.fromstring(svg)  # well-formed (the title is escaped)
    groups = _groups(root)
    x_max = 20.0  # 20 seconds of data (0..19) + 1
    for panel in ("latency", "errors"):  # shaded in both panels, at the same place
        left, right = _x_range(groups[f"{panel}-panel"])
        per_second = (right - left) / x_max
        fault = _x_range(groups[f"fault-window-{panel}"])
        assert fault == pytest.approx((left + 5 * per_second, left + 10 * per_second), abs=0.01)
        assert "fill: #ef4444" in _style(groups[f"fault-window-{panel}"])
        baseline = _x_range(groups[f"baseline-window-{panel}"])
        assert baseline == pytest.approx((left + 2 * per_second, left + 5 * per_second), abs=0.01)
        assert "fill: #22c55e" in _style(groups[f"baseline-window-{panel}"])
        recovered = _x_range(groups[f"marker-recovered-{panel}"])
        assert recovered == pytest.approx((left + 11 * per_second,) * 2, abs=0.01)
    texts = {t.text for t in root.iter(f"{SVG}text")}
    assert {"db-down: FAIL <&>", "fault", "baseline", "recovered", "latency (ms)", "error rate (%)", "req/s",
            "seconds since load start", "p95", "p99", "error rate"} <= texts
    assert groups["fault-label"].findtext(f"{SVG}text") == "fault"  # the label drawn over the fault window
    assert groups["baseline-label"].findtext(f"{SVG}text") == "baseline"
    series = {gid for gid in groups if gid.startswith("series-")}
    assert series == {"series-p95", "series-p99", "series-error-rate", "series-req-s"}
    assert "no load data" not in texts


def test_the_load_chart_draws_the_percentiles_asked_for() -> None:
    root = ET.fromstring(timeline_svg(_points(5), title="load", start_epoch=1000.0,
                                      percentiles=("p50_ms", "p95_ms", "p99_ms")))
    series = {gid for gid in _groups(root) if gid.startswith("series-")}
    assert series == {"series-p50", "series-p95", "series-p99", "series-error-rate", "series-req-s"}
    assert not [gid for gid in _groups(root) if "-window-" in gid]


def test_no_data_says_so() -> None:
    svg = timeline_svg([], title="empty", start_epoch=0.0)
    root = ET.fromstring(svg)
    assert "no load data" in {t.text for t in root.iter(f"{SVG}text")}
    assert not [gid for gid in _groups(root) if gid.startswith("series-")]


def test_importing_the_charts_does_not_import_matplotlib() -> None:
    code = ("import sys, pytest_blissful.plugin, pytest_blissful.report.allure, pytest_blissful.report.charts; "
            "assert 'matplotlib' not in sys.modules, 'matplotlib imported eagerly'")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
