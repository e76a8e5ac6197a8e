"""Load: Locust in child processes, every request recorded into per-second HDR histograms.

Importing this package never imports Locust or gevent (they run only in child processes).
"""

from pytest_blissful.load._result import LatencyStats, LoadProgress, LoadResult
from pytest_blissful.load.runner import (
    LoadError,
    LoadHandle,
    TargetNotAllowed,
    check_target,
    run_load,
    start_load,
)

__all__ = [
    "LatencyStats",
    "LoadError",
    "LoadHandle",
    "LoadProgress",
    "LoadResult",
    "TargetNotAllowed",
    "check_target",
    "run_load",
    "start_load",
]
