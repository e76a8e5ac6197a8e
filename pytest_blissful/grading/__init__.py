"""Grading: pure functions from metrics to results (thresholds; FMEA, scorecards and more to come)."""

from pytest_blissful.grading.thresholds import (
    Threshold,
    ThresholdError,
    ThresholdReport,
    ThresholdResult,
    evaluate,
    parse_threshold,
)

__all__ = ["Threshold", "ThresholdError", "ThresholdReport", "ThresholdResult", "evaluate", "parse_threshold"]
