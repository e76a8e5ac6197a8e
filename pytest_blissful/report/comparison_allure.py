"""Allure output of a comparison: the table (HTML), a chart of both versions over time, the JSON document.

The chart has two panels sharing the time axis: p95 latency per second of each version (top) and successful
requests per second of each version (bottom), the warm-up shaded. Elements carry ids (``series-old-p95``,
``series-new-p95``, ``series-old-rps``, ``series-new-rps``, ``warm-up-window-<panel>``) so tests can find them.
matplotlib is imported only when a chart is drawn; every function is a no-op when Allure is not recording.
"""

from __future__ import annotations

import io
import json
from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from pytest_blissful.metrics.timeline import SecondPoint
from pytest_blissful.report.allure import _describe, _img, _label, html_table, recording
from pytest_blissful.report.comparison import HEADER, recommendation_line, table_rows

COLORS = {"old": "#64748b", "new": "#2563eb"}


def comparison_svg(points: Mapping[str, Sequence[SecondPoint]], *, title: str, start_epoch: float,
                   analysis_start_s: float, analysis_end_s: float) -> str:
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "blissful", "text.parse_math": False,
                                "font.size": 9, "axes.grid": True, "grid.color": "#e5e5e5",
                                "axes.facecolor": "#fafafa", "axes.edgecolor": "#d4d4d4"}):
        fig = Figure(figsize=(8.8, 5.4), layout="constrained")
        FigureCanvasAgg(fig)
        latency, rps = fig.subplots(2, 1, sharex=True)
        fig.suptitle(title, x=0.01, ha="left", fontsize=11, fontweight="bold")
        latency.set_ylabel("p95 latency (ms)")
        rps.set_ylabel("successful req/s")
        rps.set_xlabel("seconds since load start")
        for panel, ax in (("latency", latency), ("rps", rps)):
            if analysis_start_s > 0:
                ax.axvspan(0, analysis_start_s, color="#f59e0b", alpha=0.15, linewidth=0,
                           gid=f"warm-up-window-{panel}")
            ax.axvline(analysis_end_s, color="#a3a3a3", linestyle=(0, (4, 3)), linewidth=1)
        for side, series in points.items():
            xs = [p.epoch - start_epoch for p in series]
            latency.plot(xs, [p.p95_ms for p in series], color=COLORS.get(side, "#000"), linewidth=1.6,
                         label=f"{side} p95", gid=f"series-{side}-p95")
            rps.plot(xs, [p.requests - p.errors for p in series], color=COLORS.get(side, "#000"), linewidth=1.4,
                     label=f"{side} req/s", gid=f"series-{side}-rps")
        latency.set_ylim(bottom=0)
        rps.set_ylim(bottom=0)
        latency.legend(loc="upper right", frameon=False, ncols=2)
        rps.legend(loc="upper right", frameon=False, ncols=2)
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    svg = out.getvalue()
    return svg[svg.index("<svg"):]


def attach_comparison(document: Mapping[str, Any], points: Mapping[str, Sequence[SecondPoint]], *,
                      start_epoch: float, analysis_start_s: float, analysis_end_s: float) -> None:
    if not recording():
        return
    import allure

    _label("feature", "version comparison")
    _label("story", f"{document['old']} vs {document['new']}")
    chart = comparison_svg(points, title=f"{document['old']} (old) vs {document['new']} (new)",
                           start_epoch=start_epoch, analysis_start_s=analysis_start_s, analysis_end_s=analysis_end_s)
    table = html_table(list(HEADER), table_rows(document))
    _describe(f"<h3>{escape(recommendation_line(document))}</h3>{table}"
              + _img(chart, "comparison chart: both versions over time"))
    allure.attach(table, name="Comparison table", attachment_type=allure.attachment_type.HTML)
    allure.attach(chart, name="Both versions over time: p95 and throughput", attachment_type=allure.attachment_type.SVG)
    allure.attach(json.dumps(document, indent=2, default=str), name="comparison.json",
                  attachment_type=allure.attachment_type.JSON)
