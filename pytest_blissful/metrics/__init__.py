"""Metrics: per-second HDR latency histograms (:class:`Timeline`) and windows over them. Pure."""

from pytest_blissful.metrics.timeline import (
    PERCENTILES,
    TOTAL,
    Recorder,
    SecondPoint,
    Timeline,
    TimelineBuilder,
    Window,
)

__all__ = ["PERCENTILES", "TOTAL", "Recorder", "SecondPoint", "Timeline", "TimelineBuilder", "Window"]
