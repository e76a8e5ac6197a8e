"""Timeline charts as self-contained SVG (no plotting library: cheap to import, renders in Allure and browsers).

Pure: per-second points in, an SVG document (str) out. Two stacked panels share the time axis — latency
percentiles on top, error rate (and throughput) below — with optional shaded bands (the fault window) and
marked instants (baseline start, fault removal).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from pytest_blissful.metrics.timeline import SecondPoint

WIDTH, PANEL_H, GAP, LEFT, RIGHT, TOP, BOTTOM = 880, 200, 46, 64, 64, 44, 40
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
    """A vertical line at an instant (seconds on the chart's axis), e.g. the start of the baseline."""

    at_s: float
    label: str
    color: str = "#16a34a"


def nice_ticks(high: float, count: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``high`` (1-2-5 steps)."""
    if not math.isfinite(high) or high <= 0:
        return [0.0, 1.0]
    raw = high / count
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 5, 10) if m * magnitude >= raw)
    ticks = [0.0]
    while ticks[-1] < high - 1e-9:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _fmt(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 or value == int(value) else f"{value:g}"


def timeline_svg(points: Sequence[SecondPoint], *, title: str, start_epoch: float,
                 bands: Sequence[Band] = (), markers: Sequence[Marker] = (),
                 percentiles: Sequence[str] = ("p95_ms", "p99_ms")) -> str:
    """Latency percentiles (top) and error rate % with throughput (bottom) per second, ``x = epoch - start_epoch``."""
    xs = [p.epoch - start_epoch for p in points]
    x_max = max([*xs, *(b.end_s for b in bands), *(m.at_s for m in markers), 1.0]) + 1
    x_ticks = nice_ticks(x_max, 8)
    x_max = x_ticks[-1]
    plot_w = WIDTH - LEFT - RIGHT
    height = TOP + 2 * PANEL_H + GAP + BOTTOM

    def x_of(seconds: float) -> float:
        return LEFT + plot_w * max(0.0, min(seconds, x_max)) / x_max

    series = [s for s in _SERIES if s[0] in percentiles]
    latency_high = max((getattr(p, key) for p in points for key, _, _ in series), default=0.0)
    lat_ticks = nice_ticks(latency_high * 1.05 or 1.0)
    rates = [100.0 * p.errors / p.requests if p.requests else 0.0 for p in points]
    rate_ticks = nice_ticks(max(max(rates, default=0.0) * 1.05, 1.0))
    rps_ticks = nice_ticks(max((p.requests for p in points), default=0) * 1.05 or 1.0)

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
           f'viewBox="0 0 {WIDTH} {height}" font-family="Helvetica, Arial, sans-serif" font-size="11">',
           f'<rect width="{WIDTH}" height="{height}" fill="#ffffff"/>',
           f'<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{escape(title)}</text>']
    panels = [(TOP, "latency (ms)", lat_ticks), (TOP + PANEL_H + GAP, "error rate (%)", rate_ticks)]
    for top, label, ticks in panels:
        out.append(f'<rect x="{LEFT}" y="{top}" width="{plot_w}" height="{PANEL_H}" fill="#fafafa" stroke="#d4d4d4"/>')
        for band in bands:
            x0, x1 = x_of(band.start_s), x_of(band.end_s)
            out.append(f'<rect class="band" x="{x0:.1f}" y="{top}" width="{max(x1 - x0, 1):.1f}" height="{PANEL_H}" '
                       f'fill="{band.color}" fill-opacity="0.16"><title>{escape(band.label)}</title></rect>')
        for tick in ticks:
            y = top + PANEL_H - PANEL_H * tick / ticks[-1]
            out.append(f'<line x1="{LEFT}" x2="{LEFT + plot_w}" y1="{y:.1f}" y2="{y:.1f}" stroke="#e5e5e5"/>'
                       f'<text x="{LEFT - 6}" y="{y + 4:.1f}" text-anchor="end" fill="#525252">{_fmt(tick)}</text>')
        out.append(f'<text transform="translate(16 {top + PANEL_H / 2}) rotate(-90)" text-anchor="middle" '
                   f'fill="#404040">{label}</text>')
        for marker in markers:
            x = x_of(marker.at_s)
            out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{top + PANEL_H}" stroke="{marker.color}" '
                       f'stroke-dasharray="4 3" stroke-width="1.5"/>')
    for tick in x_ticks:
        x = x_of(tick)
        bottom = TOP + 2 * PANEL_H + GAP
        out.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle" fill="#525252">{_fmt(tick)}</text>')
    out.append(f'<text x="{LEFT + plot_w / 2}" y="{height - 6}" text-anchor="middle" fill="#404040">'
               f'seconds since load start</text>')
    for band in bands:  # labels above the top panel
        out.append(f'<text x="{(x_of(band.start_s) + x_of(band.end_s)) / 2:.1f}" y="{TOP - 5}" text-anchor="middle" '
                   f'fill="{band.color}" font-weight="bold">{escape(band.label)}</text>')
    for marker in markers:
        out.append(f'<text x="{x_of(marker.at_s) + 3:.1f}" y="{TOP + 12}" fill="{marker.color}">'
                   f'{escape(marker.label)}</text>')

    def polyline(values: Sequence[float], top: float, high: float, color: str, width: float = 1.8,
                 dash: str = "") -> str:
        coords = " ".join(f"{x_of(x):.1f},{top + PANEL_H - PANEL_H * min(v, high) / high:.1f}"
                          for x, v in zip(xs, values, strict=True))
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        return f'<polyline fill="none" stroke="{color}" stroke-width="{width}"{extra} points="{coords}"/>'

    if points:
        for key, _, color in series:
            out.append(polyline([getattr(p, key) for p in points], TOP, lat_ticks[-1], color))
        lower = TOP + PANEL_H + GAP
        # throughput on the lower panel's right axis, scaled to its own ticks
        out.append(polyline([float(p.requests) for p in points], lower, rps_ticks[-1], "#94a3b8", 1.2, "3 2"))
        for tick in rps_ticks:
            y = lower + PANEL_H - PANEL_H * tick / rps_ticks[-1]
            out.append(f'<text x="{LEFT + plot_w + 6}" y="{y + 4:.1f}" fill="#94a3b8">{_fmt(tick)}</text>')
        out.append(f'<text transform="translate({WIDTH - 10} {lower + PANEL_H / 2}) rotate(90)" '
                   f'text-anchor="middle" fill="#94a3b8">req/s</text>')
        out.append(polyline(rates, lower, rate_ticks[-1], "#dc2626", 2.0))
    else:
        out.append(f'<text x="{LEFT + plot_w / 2}" y="{TOP + PANEL_H / 2}" text-anchor="middle">no load data</text>')

    legend = [(label, color, "") for key, label, color in series if key in percentiles]
    legend += [("error rate", "#dc2626", ""), ("req/s", "#94a3b8", "3 2")]
    x = LEFT + plot_w - 8
    for label, color, dash in reversed(legend):
        x -= 8 + 7 * len(label) + 22
        extra = f' stroke-dasharray="{dash}"' if dash else ""
        out.append(f'<line x1="{x}" x2="{x + 18}" y1="16" y2="16" stroke="{color}" stroke-width="2"{extra}/>'
                   f'<text x="{x + 22}" y="20" fill="#404040">{label}</text>')
    out.append("</svg>")
    return "\n".join(out)
