"""Metrics: latency histograms in 100 ms buckets (:class:`Timeline`) and exact windows over them. Pure."""

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
