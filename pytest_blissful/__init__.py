"""pytest-blissful: resilience testing of services as ordinary pytest.

The public names a service repo imports. They are loaded on first access so that installing the plugin costs
a test session that does not use it nothing.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_blissful.chaos.runner import ChaosResult
    from pytest_blissful.config.schema import BlissfulConfig
    from pytest_blissful.grading.canary import CanaryResult
    from pytest_blissful.grading.comparison import ComparisonResult
    from pytest_blissful.grading.fmea import FmeaResult
    from pytest_blissful.grading.scorecard import Scorecard
    from pytest_blissful.grading.thresholds import ThresholdReport
    from pytest_blissful.load._result import LoadResult
    from pytest_blissful.stack.model import ServiceHandle, Stack

__version__ = "0.1.0"

_EXPORTS = {
    "BlissfulConfig": "pytest_blissful.config.schema",
    "CanaryResult": "pytest_blissful.grading.canary",
    "ChaosResult": "pytest_blissful.chaos.runner",
    "ComparisonResult": "pytest_blissful.grading.comparison",
    "FmeaResult": "pytest_blissful.grading.fmea",
    "LoadResult": "pytest_blissful.load._result",
    "Scorecard": "pytest_blissful.grading.scorecard",
    "ThresholdReport": "pytest_blissful.grading.thresholds",
    "Stack": "pytest_blissful.stack.model",
    "ServiceHandle": "pytest_blissful.stack.model",
    "STAGES": "pytest_blissful.stages",
}

__all__ = [
    "STAGES",
    "BlissfulConfig",
    "CanaryResult",
    "ChaosResult",
    "ComparisonResult",
    "FmeaResult",
    "LoadResult",
    "Scorecard",
    "ServiceHandle",
    "Stack",
    "ThresholdReport",
    "__version__",
]


def __getattr__(name: str) -> Any:
    try:
        module = _EXPORTS[name]
    except KeyError:
        raise AttributeError(f"module 'pytest_blissful' has no attribute {name!r}") from None
    return getattr(importlib.import_module(module), name)
