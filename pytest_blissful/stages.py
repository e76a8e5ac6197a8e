"""Pipeline stages: each is a pytest marker, selectable with ``-m NAME`` or ``--blissful-stage NAME``."""

from __future__ import annotations

from typing import Final

STAGES: Final[dict[str, str]] = {
    "smoke": "contract checks of the standard endpoints; fast, run on every PR.",
    "integration": "endpoints together with their dependencies (events, WebSocket delivery, readiness).",
    "perf": "load tests graded against SLO thresholds (p95, error rate, throughput).",
    "chaos": "FMEA chaos scenarios under load: inject a fault, observe, recover, grade.",
    "compare": "old-vs-new version comparison under identical load.",
    "canary": "canary analysis and automatic rollback drills.",
}


def parse_stage_option(values: list[str]) -> list[str]:
    """Split ``--blissful-stage a,b --blissful-stage c`` into known stage names or raise ``ValueError``."""
    names = [name.strip() for value in values for name in value.split(",") if name.strip()]
    unknown = [name for name in names if name not in STAGES]
    if unknown:
        raise ValueError(
            f"unknown stage {', '.join(map(repr, unknown))} in --blissful-stage; known stages: {', '.join(STAGES)}"
        )
    return names
