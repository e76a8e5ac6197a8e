"""A canary result in Allure: each rollout step as an Allure step (with its measurements), the status table, the
JSON, and a chart of canary vs stable (error rate, p95, traffic share) with the weight changes marked.
matplotlib and allure are imported lazily."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

__all__ = ["attach_canary_result", "canary_chart_svg"]


def canary_chart_svg(result: Mapping[str, Any]) -> str:
    """Three panels over the rollout's seconds: error rate %, p95 ms and traffic share % of each version (with the
    set weight as a step line); vertical lines at weight changes, the first failed measurement and the rollback."""
    import io

    import matplotlib
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    traffic: Sequence[Mapping[str, Any]] = result.get("traffic") or []
    xs = [float(p["at"]) for p in traffic]

    def series(key: str) -> list[float]:
        return [math.nan if p.get(key) is None else float(p[key]) for p in traffic]

    share = [math.nan if p.get("canary_share") is None else float(p["canary_share"]) for p in traffic]
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": "blissful", "font.size": 9,
                                "text.parse_math": False}):
        fig = Figure(figsize=(9, 7))
        FigureCanvasAgg(fig)
        ax_err, ax_lat, ax_share = fig.subplots(3, 1, sharex=True)
        ax_err.plot(xs, series("stable_error_rate"), color="#2563eb", label="stable", gid="series-stable-errors")
        ax_err.plot(xs, series("canary_error_rate"), color="#dc2626", label="canary", gid="series-canary-errors")
        ax_err.set_ylabel("error rate %")
        ax_lat.plot(xs, series("stable_p95_ms"), color="#2563eb", label="stable p95", gid="series-stable-p95")
        ax_lat.plot(xs, series("canary_p95_ms"), color="#dc2626", label="canary p95", gid="series-canary-p95")
        ax_lat.set_ylabel("p95 ms")
        weights = result.get("weights") or []
        wx = [float(w["at"]) for w in weights]
        wy = [float(w["weight"]) for w in weights]
        if wx:
            end = max([*xs, *wx]) + 1
            ax_share.step([*wx, end], [*wy, wy[-1]], where="post", color="#111827", label="set weight",
                          gid="series-weight")
        ax_share.plot(xs, share, color="#dc2626", marker=".", linestyle="none", label="canary share (observed)",
                      gid="series-canary-share")
        ax_share.set_ylabel("canary traffic %")
        ax_share.set_ylim(-5, 105)
        ax_share.set_xlabel("seconds since the rollout started")
        for ax in (ax_err, ax_lat, ax_share):
            for w in weights:
                ax.axvline(float(w["at"]), color="#9ca3af", linestyle=":", linewidth=1)
            if result.get("detected_at") is not None:
                ax.axvline(float(result["detected_at"]), color="#7c3aed", linewidth=1.2, gid="marker-detected")
            rollback = result.get("rollback") or {}
            if rollback.get("stable_full_at") is not None:
                ax.axvline(float(rollback["stable_full_at"]), color="#16a34a", linewidth=1.2,
                           gid="marker-stable-100")
            ax.grid(alpha=0.3)
        for w in weights:
            ax_share.annotate(f"{w['weight']}%", (float(w["at"]), float(w["weight"])), fontsize=7,
                              xytext=(2, 3), textcoords="offset points")
        ax_err.legend(loc="upper left", fontsize=7)
        ax_share.legend(loc="upper left", fontsize=7)
        ax_err.set_title(f"{result['name']}: {str(result['verdict']).upper()} — canary vs stable, weight changes "
                         f"dotted, detection purple, 100% stable green")
        buffer = io.StringIO()
        fig.savefig(buffer, format="svg", bbox_inches="tight")
    return buffer.getvalue()


def attach_canary_result(result: Mapping[str, Any], table: str) -> None:
    """Steps as Allure steps, then the table, the chart and the JSON as attachments."""
    from pytest_blissful.report.allure import recording

    if not recording():
        return
    import json

    import allure

    measurements = list(result["measurements"])
    for step in result["steps"]:
        title = f"step {step['index']}: {step['description']} — weight {step['weight']}%, {step['status']}"
        with allure.step(title):
            for m in measurements:
                if m.get("step") == step["index"]:
                    with allure.step(f"measurement {m['metric']}: {m['phase']} {m['value']}"
                                     + (f" ({m['message']})" if m.get("message") else "")):
                        pass
            if step.get("analysis"):
                with allure.step(f"analysis: {step['analysis']}"):
                    pass
    if result.get("rollback"):
        rb = result["rollback"]
        done = rb.get("completed_s")
        with allure.step("rollback" + (f" completed in {done:.1f} s" if done is not None else " incomplete")):
            pass
    allure.attach(table, name=f"Canary {result['name']}: steps and analysis",
                  attachment_type=allure.attachment_type.TEXT)
    allure.attach(canary_chart_svg(result), name=f"Canary {result['name']}: canary vs stable, weight changes marked",
                  attachment_type=allure.attachment_type.SVG)
    allure.attach(json.dumps(result, indent=2, default=str), name=f"Canary {result['name']} (JSON)",
                  attachment_type=allure.attachment_type.JSON)
