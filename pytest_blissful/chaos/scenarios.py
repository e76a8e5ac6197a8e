"""Named scenarios: Chaos Toolkit experiment files carrying their FMEA metadata in a ``blissful`` extension.

The ten built-in scenarios live in ``experiments/`` (inside the wheel: ``pytest_blissful/_experiments``);
``chaos.experiments`` in blissful.yaml adds custom ones. An experiment names what it acts on with
``${placeholders}`` that ``chaos.targets`` fills in (``${app}``, ``${db_proxy}`` ...), and holds the fault
for ``${fault_duration}`` seconds, so the same files target any stack.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pytest_blissful.config.schema import BlissfulConfig
from pytest_blissful.grading.fmea import SEVERITY_RATING, FmeaExpectation

# the ten scenarios of the FMEA plan, plus graceful-shutdown, dependency-flaky and overload (evidence for the
# scorecard's SIGTERM, retry and rate-limiting checks)
BUILTIN_SCENARIOS = (
    "network-latency", "network-partition", "pod-kill", "kafka-down", "db-latency",
    "db-down", "memory-pressure", "cpu-stress", "dns-failure", "dependency-timeout", "graceful-shutdown",
    "dependency-flaky", "overload",
)
_PLACEHOLDER = re.compile(r"\$\{([a-zA-Z_][a-zA-Z0-9_]*)\}")
_RUNTIME_KEYS = {"fault_duration"}


class ScenarioError(Exception):
    """An unknown or malformed scenario; the message says which and how to fix it."""


@dataclass(frozen=True)
class Scenario:
    name: str
    path: Path
    failure: str
    expectation: FmeaExpectation
    capabilities: tuple[str, ...]
    targets: tuple[str, ...]  # placeholders the experiment needs from chaos.targets
    experiment: dict[str, Any]


def experiments_dir() -> Path:
    packaged = Path(__file__).resolve().parent.parent / "_experiments"
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[2] / "experiments"


def known_scenarios(config: BlissfulConfig) -> dict[str, Path]:
    found = {path.stem: path for path in sorted(experiments_dir().glob("*.json"))}
    found.update({name: (config.base_dir / path).resolve() for name, path in config.chaos.experiments.items()})
    return found


def selected_scenarios(config: BlissfulConfig, requested: list[str] | None = None) -> list[str]:
    """The scenarios to run: ``--blissful-scenario`` if given, else ``chaos.scenarios``, else all known."""
    known = known_scenarios(config)
    names = requested or config.chaos.scenarios or list(known)
    unknown = [name for name in names if name not in known]
    if unknown:
        raise ScenarioError(
            f"unknown scenario {', '.join(map(repr, unknown))}; known: {', '.join(known)} "
            "(add your own under chaos.experiments: {name: path/to/experiment.json})"
        )
    return names


def load_scenario(name: str, config: BlissfulConfig) -> Scenario:
    known = known_scenarios(config)
    if name not in known:
        raise ScenarioError(f"unknown scenario {name!r}; known: {', '.join(known)}")
    path = known[name]
    try:
        experiment = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ScenarioError(f"scenario {name!r}: experiment file not found: {path}") from None
    except json.JSONDecodeError as exc:
        raise ScenarioError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    meta: dict[str, Any] = next((e for e in experiment.get("extensions", []) if e.get("name") == "blissful"), {})
    needs = tuple(sorted(set(_PLACEHOLDER.findall(json.dumps(experiment))) - _RUNTIME_KEYS
                         - set(experiment.get("configuration", {})) - {k for k in _bound_by_runner()}))
    missing = [key for key in needs if key not in config.chaos.targets]
    if missing:
        raise ScenarioError(
            f"scenario {name!r} ({path.name}) acts on {', '.join(missing)}: set chaos.targets."
            f"{missing[0]} in blissful.yaml (e.g. the compose service or Toxiproxy proxy it should hit)"
        )
    slos = config.chaos.slos.model_dump()
    slos.update(meta.get("slos", {}))
    severity = meta.get("severity", "High")
    if severity not in SEVERITY_RATING:
        raise ScenarioError(f"{path}: extensions.blissful.severity must be one of {', '.join(SEVERITY_RATING)}")
    expectation = FmeaExpectation(
        scenario=name,
        expected_behaviour=meta.get("expected_behaviour", experiment.get("description", "")),
        severity=severity,
        occurrence=int(meta.get("occurrence", 5)),
        max_error_rate_percent=float(slos["max_error_rate_percent"]),
        max_p99_latency_ms=float(slos["max_p99_latency_ms"]),
        max_recovery_time_s=float(slos["max_recovery_time_s"]),
        critical_error_rate_percent=float(meta.get("critical_error_rate_percent", 90.0)),
        mitigation=meta.get("mitigation", ""),
        weight=float(meta.get("weight", 1.0)),
    )
    return Scenario(
        name=name, path=path, failure=meta.get("failure", experiment.get("title", name)), expectation=expectation,
        capabilities=tuple(meta.get("capabilities", ())), targets=needs, experiment=experiment,
    )


def _bound_by_runner() -> set[str]:
    return {"blissful_stack", "blissful_base_url", "blissful_project", "blissful_toxiproxy_url",
            "blissful_allow_remote", "blissful_run_id"}
