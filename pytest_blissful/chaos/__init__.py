"""Chaos: run Chaos Toolkit experiments (chaoslib) with the fault window recorded, fault actions and probes for
Docker and Toxiproxy targets, a fault ledger so that no fault outlives a run, and the local-target safety check.

Submodules are imported on first use: chaoslib is imported only when an experiment runs.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pytest_blissful.chaos.errors import ChaosError, ChaosRefused, NetemUnsupported, ToxiproxyUnreachable
    from pytest_blissful.chaos.ledger import remove_all_faults, remove_orphan_faults
    from pytest_blissful.chaos.runner import ActivityRecord, ChaosResult, FaultWindow, run_experiment

_EXPORTS = {
    "ChaosError": "pytest_blissful.chaos.errors",
    "ChaosRefused": "pytest_blissful.chaos.errors",
    "NetemUnsupported": "pytest_blissful.chaos.errors",
    "ToxiproxyUnreachable": "pytest_blissful.chaos.errors",
    "remove_all_faults": "pytest_blissful.chaos.ledger",
    "remove_orphan_faults": "pytest_blissful.chaos.ledger",
    "ActivityRecord": "pytest_blissful.chaos.runner",
    "ChaosResult": "pytest_blissful.chaos.runner",
    "FaultWindow": "pytest_blissful.chaos.runner",
    "run_experiment": "pytest_blissful.chaos.runner",
}

__all__ = [
    "ActivityRecord",
    "ChaosError",
    "ChaosRefused",
    "ChaosResult",
    "FaultWindow",
    "NetemUnsupported",
    "ToxiproxyUnreachable",
    "remove_all_faults",
    "remove_orphan_faults",
    "run_experiment",
]


def __getattr__(name: str) -> Any:
    try:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    except KeyError:
        raise AttributeError(name) from None
