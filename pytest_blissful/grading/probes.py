"""Steady-state probe samples: the value the chaos probe records and the FMEA and capability rules read.

A leaf of the grading layer (standard library only), so that ``grading.fmea`` and ``grading.capabilities``
both import it and neither imports the other's inputs.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ProbeSample:
    """One steady-state probe request: when it was sent (epoch s), what came back."""

    at: float
    path: str
    ok: bool
    latency_ms: float
    status: int | None = None
    error: str | None = None
    degraded: bool = False  # the answer carried the service's degraded mark (chaos.degraded_header)
