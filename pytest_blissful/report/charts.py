"""Timeline charts as self-contained SVG, drawn with matplotlib (imported lazily: the plugin stays cheap to import).

Pure: per-second points in, an SVG document (str, starting with ``<svg``) out. Two stacked panels share the time
axis — latency percentiles on top, error rate (with throughput on a twin axis) below — with optional shaded bands
(the fault window, the baseline) and marked instants (detection, recovery). Text stays text (``svg.fonttype:
none``) and the drawn elements carry ids (``gid``), ``<panel>`` being ``latency`` or ``errors``: ``<panel>-panel``
(the plot area), ``<band>-window-<panel>`` (a shaded band, e.g. ``fault-window-latency``), ``marker-<marker>-<panel>``,
``<band>-label``, ``marker-<marker>-label`` and ``series-<line>`` (``p95``, ``error-rate``, ``req-s``...).
"""

from __future__ import annotations

import io
import re
from collections.abc import Sequence
from dataclasses import dataclass

from pytest_blissful.metrics.timeline import SecondPoint

_SERIES = (("p50_ms", "p50", "#60a5fa"), ("p95_ms", "p95", "#f59e0b"), ("p99_ms", "p99", "#dc2626"))


@dataclass(frozen=True)
class Band:
    """A shaded time span (seconds on the chart's axis), e.g. the fault window."""

    start_s: float
    end_s: float
    label: str
    color: str = "#ef4444"


@dataclass(frozen=True)
class Marker:
    """A vertical line at an instant (seconds on the chart's axis), e.g. the detection of the fault."""

    at_s: float
    label: str
    color: str = "#16a34a"


def _slug(label: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", label.lower()).strip("-") or "x"


def timeline_svg(points: Sequence[SecondPoint], *, title: str, start_epoch: float,
                 bands: Sequence[Band] = (), markers: Sequence[Marker] = (),
                 percentiles: Sequence[str] = ("p95_ms", "p99_ms")) -> str:
    """Latency percentiles (top) and error rate % with throughput (bottom) per second, ``x = epoch - start_epoch``."""
    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    xs = [p.epoch - start_epoch for p in points]
    x_max = max([*xs, *(b.end_s for b in bands), *(m.at_s for m in markers), 1.0]) + 1
    rates = [100.0 * p.errors / p.requests if p.requests else 0.0 for p in points]

    with matplotlib.rc_context({
            "svg.fonttype": "none", "svg.hashsalt": "blissful", "text.parse_math": False, "font.size": 9,
            "font.family": "sans-serif", "font.sans-serif": ["Helvetica", "Arial", "DejaVu Sans"],
            "axes.edgecolor": "#d4d4d4", "axes.facecolor": "#fafafa", "axes.grid": True, "grid.color": "#e5e5e5",
            "xtick.color": "#525252", "ytick.color": "#525252", "axes.labelcolor": "#404040"}):
        fig = Figure(figsize=(8.8, 5.4), layout="constrained")
        FigureCanvasAgg(fig)
        latency, errors = fig.subplots(2, 1, sharex=True)
        throughput = errors.twinx()
        fig.suptitle(title, x=0.01, ha="left", fontsize=11, fontweight="bold")
        latency.set_xlim(0, x_max)
        latency.set_ylabel("latency (ms)")
        errors.set_ylabel("error rate (%)")
        errors.set_xlabel("seconds since load start")
        throughput.set_ylabel("req/s", color="#94a3b8")
        throughput.tick_params(axis="y", colors="#94a3b8")
        throughput.grid(False)
        for panel_name, ax in (("latency", latency), ("errors", errors)):
            ax.patch.set_gid(f"{panel_name}-panel")
            for band in bands:
                ax.axvspan(band.start_s, band.end_s, color=band.color, alpha=0.16, linewidth=0,
                           gid=f"{_slug(band.label)}-window-{panel_name}")
            for marker in markers:
                ax.axvline(marker.at_s, color=marker.color, linestyle=(0, (4, 3)), linewidth=1.5,
                           gid=f"marker-{_slug(marker.label)}-{panel_name}")
        for band in bands:  # labels above the top panel, centred on the (visible part of the) band
            middle = (max(0.0, min(band.start_s, x_max)) + max(0.0, min(band.end_s, x_max))) / 2
            latency.text(middle, 1.01, band.label, transform=latency.get_xaxis_transform(), ha="center",
                         va="bottom", color=band.color, fontweight="bold", gid=f"{_slug(band.label)}-label")
        for marker in markers:
            latency.annotate(marker.label, (marker.at_s, 1), xycoords=latency.get_xaxis_transform(), xytext=(3, -3),
                             textcoords="offset points", va="top", color=marker.color,
                             gid=f"marker-{_slug(marker.label)}-label")
        if points:
            for key, label, color in _SERIES:
                if key in percentiles:
                    latency.plot(xs, [getattr(p, key) for p in points], color=color, linewidth=1.8, label=label,
                                 gid=f"series-{label}")
            errors.plot(xs, rates, color="#dc2626", linewidth=2.0, label="error rate", gid="series-error-rate")
            throughput.plot(xs, [p.requests for p in points], color="#94a3b8", linewidth=1.2,
                            linestyle=(0, (3, 2)), label="req/s", gid="series-req-s")
            lines = [*latency.get_lines(), *errors.get_lines(), *throughput.get_lines()]
            fig.legend(handles=[line for line in lines if line.get_label() and not line.get_label().startswith("_")],
                       loc="outside upper right", ncols=5, frameon=False)
        else:
            latency.text(0.5, 0.5, "no load data", transform=latency.transAxes, ha="center", va="center")
        latency.set_ylim(bottom=0)
        errors.set_ylim(0, max(errors.get_ylim()[1], 1.0))
        throughput.set_ylim(0, 1.15 * max((p.requests for p in points), default=0) or 1.0)
        out = io.StringIO()
        fig.savefig(out, format="svg", metadata={"Date": None})
    svg = out.getvalue()
    return svg[svg.index("<svg"):]  # without the XML declaration and DOCTYPE: an SVG fragment as before
