"""Named scenarios: Chaos Toolkit experiment files carrying their FMEA metadata in a ``blissful`` extension.

The ten built-in scenarios live in ``experiments/`` (inside the wheel: ``pytest_blissful/_experiments``);
``chaos.experiments`` in blissful.yaml adds custom ones. An experiment names what it acts on with
``${placeholders}`` that ``chaos.targets`` fills in (``${app}``, ``${db_proxy}`` ...), and holds the fault
for ``${fault_duration}`` seconds, so the same files target any stack. The steady-state probe asks
``${blissful_base_url}${blissful_health_path}``: the health path is ``stack.health_path`` of the configuration.

The ``blissful`` extension is parsed by :class:`ScenarioMeta` (pydantic): an unknown key or a bad value is an
error naming the file, the line and the key. ``extends: NAME`` takes the extension of the built-in scenario NAME,
and the keys given next to it replace its own: the Chaos Mesh variants (``experiments/chaos-mesh/``, used for
their names with ``chaos.tool: chaos-mesh``) carry the FMEA metadata of their Docker twins that way.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from pytest_blissful.chaos.errors import ChaosError
from pytest_blissful.config.schema import BlissfulConfig
from pytest_blissful.grading.fmea import FmeaExpectation
from pytest_blissful.stack.model import Stack

# the ten scenarios of the FMEA plan, plus graceful-shutdown, dependency-flaky and overload (evidence for the
# scorecard's SIGTERM, retry and rate-limiting checks)
BUILTIN_SCENARIOS = (
    "network-latency", "network-partition", "pod-kill", "kafka-down", "db-latency",
    "db-down", "memory-pressure", "cpu-stress", "dns-failure", "dependency-timeout", "graceful-shutdown",
    "dependency-flaky", "overload",
)
# with chaos.tool: chaos-mesh these names are Chaos Mesh resources on the stack's cluster (experiments/chaos-mesh/)
CHAOS_MESH_SCENARIOS = ("network-latency", "network-partition", "cpu-stress", "memory-pressure", "dns-failure")
CHAOS_MESH_DIR = "chaos-mesh"
_PLACEHOLDER = re.compile(r"\$\{([a-zA-Z_][a-zA-Z0-9_]*)\}")
_RUNTIME_KEYS = {"fault_duration"}
HEALTH_PATH_KEY = "blissful_health_path"
TOXIPROXY_URL_KEY = "blissful_toxiproxy_url"
TOXIPROXY_URL_ENV = "BLISSFUL_TOXIPROXY_URL"
HELPER_IMAGE_KEY = "blissful_helper_image"
_TOXIPROXY_MODULE = "pytest_blissful.chaos.actions.toxiproxy"


class ScenarioError(Exception):
    """An unknown or malformed scenario; the message says which and how to fix it."""


class ScenarioSlos(BaseModel):
    """Per-scenario overrides of ``chaos.slos``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    max_error_rate_percent: float | None = Field(default=None, ge=0, le=100)
    max_p99_latency_ms: float | None = Field(default=None, gt=0)
    max_recovery_time_s: float | None = Field(default=None, gt=0)
    max_requests_lost_percent: float | None = Field(
        default=None, ge=0, le=100,
        description="share of the expected requests the fault may cost (default: twice max_error_rate_percent); a "
                    "fault that slows part of the service (packet loss) costs throughput without failing requests")


class ScenarioMeta(BaseModel):
    """The ``blissful`` extension of an experiment: its FMEA metadata (every key optional)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: Literal["blissful"] = "blissful"
    extends: str | None = Field(
        default=None, description="a built-in scenario whose metadata this one takes (the keys given here win)")
    scenario: str | None = None
    failure: str | None = Field(default=None, description="the failure mode (default: the experiment's title)")
    expected_behaviour: str | None = Field(default=None, description="default: the experiment's description")
    severity: Literal["Critical", "High", "Medium", "Low"] = "High"
    occurrence: int = Field(default=5, ge=1, le=10, description="FMEA occurrence rating")
    weight: float = Field(default=1.0, gt=0, description="weight in the resilience score")
    capabilities: tuple[str, ...] = Field(default=(), description="scorecard checks this scenario exercises")
    mitigation: str = Field(default="", description="the suggestion shown when the scenario fails")
    slos: ScenarioSlos = Field(default_factory=ScenarioSlos)
    critical_error_rate_percent: float = Field(default=90.0, ge=0, le=100)
    evidence: dict[str, Any] = Field(
        default_factory=dict, description="what the fault does, for the capability rules (see flows/evidence.py)"
    )


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
    """Scenario name → experiment file: the built-ins (with ``chaos.tool: chaos-mesh``, the Chaos Mesh variants
    for the names they cover), then ``chaos.experiments``, which win."""
    found = {path.stem: path for path in sorted(experiments_dir().glob("*.json"))}
    if config.chaos.tool == "chaos-mesh":
        found.update({path.stem: path for path in sorted((experiments_dir() / CHAOS_MESH_DIR).glob("*.json"))})
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
            "(pick from these in chaos.scenarios; add your own under chaos.experiments: "
            "{name: path/to/experiment.json})"
        )
    return names


def load_scenario(name: str, config: BlissfulConfig) -> Scenario:
    known = known_scenarios(config)
    if name not in known:
        raise ScenarioError(f"unknown scenario {name!r}; known: {', '.join(known)}")
    path = known[name]
    experiment, text = _read_experiment(name, path)
    meta = _parse_meta(experiment, path, text)
    configuration = experiment.setdefault("configuration", {})
    if not isinstance(configuration, dict):
        raise ScenarioError(f"{path}: configuration must be a mapping")
    configuration[HEALTH_PATH_KEY] = config.stack.health_path
    needs = tuple(sorted(set(_PLACEHOLDER.findall(json.dumps(experiment))) - _RUNTIME_KEYS
                         - set(configuration) - _bound_by_runner()))
    missing = [key for key in needs if key not in config.chaos.targets]
    if missing:
        raise ScenarioError(
            f"scenario {name!r} ({path.name}) acts on {', '.join(missing)}: set chaos.targets."
            f"{missing[0]} in blissful.yaml (e.g. the compose service or Toxiproxy proxy it should hit)"
        )
    slos = config.chaos.slos.model_dump()
    slos.update(meta.slos.model_dump(exclude_none=True))
    expectation = FmeaExpectation(
        scenario=name,
        expected_behaviour=meta.expected_behaviour or str(experiment.get("description", "")),
        severity=meta.severity,
        occurrence=meta.occurrence,
        max_error_rate_percent=float(slos["max_error_rate_percent"]),
        max_p99_latency_ms=float(slos["max_p99_latency_ms"]),
        max_recovery_time_s=float(slos["max_recovery_time_s"]),
        max_requests_lost_percent=(float(slos["max_requests_lost_percent"])
                                   if slos.get("max_requests_lost_percent") is not None else None),
        critical_error_rate_percent=meta.critical_error_rate_percent,
        mitigation=meta.mitigation,
        weight=meta.weight,
    )
    return Scenario(
        name=name, path=path, failure=meta.failure or str(experiment.get("title", name)), expectation=expectation,
        capabilities=meta.capabilities, targets=needs, experiment=experiment,
    )


def scenario_configuration(scenario: Scenario, config: BlissfulConfig, stack: Stack | None) -> dict[str, Any]:
    """What the FMEA flow binds into a scenario's configuration besides ``chaos.targets``: see
    :func:`experiment_configuration`."""
    return experiment_configuration(scenario.experiment, config, stack, f"scenario {scenario.name!r}")


def experiment_configuration(experiment: Mapping[str, Any], config: BlissfulConfig, stack: Stack | None,
                             what: str = "the experiment", given: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """The configuration blissful.yaml binds into any experiment run against ``stack`` (the FMEA flow's scenarios
    and the ``chaos_experiment`` fixture's alike): Toxiproxy's API (``chaos.toxiproxy``, else the one service
    publishing 8474; required only when the experiment uses Toxiproxy actions and ``given`` names no API) and
    the helper image for network faults (``chaos.helper_image``)."""
    from pytest_blissful.chaos.targets import toxiproxy_api

    bound: dict[str, Any] = {}
    setting = config.chaos.toxiproxy
    uses_toxiproxy = _TOXIPROXY_MODULE in json.dumps(experiment, default=str)
    if setting is not None or (uses_toxiproxy and TOXIPROXY_URL_KEY not in (given or {})):
        try:
            bound[TOXIPROXY_URL_KEY] = toxiproxy_api(
                stack, service=setting.service if setting else None, port=setting.port if setting else 8474,
                url=str(setting.url) if setting and setting.url else None)
        except ChaosError as exc:
            # without the setting, the Toxiproxy actions may still fall back to $BLISSFUL_TOXIPROXY_URL
            if setting is not None or not os.environ.get(TOXIPROXY_URL_ENV):
                where = f" ({config.source})" if config.source else ""
                raise ScenarioError(f"{what} needs Toxiproxy{where}: {exc}") from None
    if config.chaos.helper_image:
        bound[HELPER_IMAGE_KEY] = config.chaos.helper_image
    return bound


def _read_experiment(name: str, path: Path) -> tuple[dict[str, Any], str]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ScenarioError(f"scenario {name!r}: experiment file not found: {path}") from None
    if path.suffix in {".yaml", ".yml"}:
        import yaml

        try:
            experiment = yaml.safe_load(text)
        except yaml.MarkedYAMLError as exc:
            mark = exc.problem_mark
            where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
            raise ScenarioError(f"{where}: invalid YAML: {exc.problem}") from None
    else:
        try:
            experiment = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ScenarioError(f"{path}:{exc.lineno}:{exc.colno}: invalid JSON: {exc.msg}") from None
    if not isinstance(experiment, dict):
        raise ScenarioError(f"{path}: an experiment must be a mapping (title, description, method, ...)")
    return experiment, text


def _parse_meta(experiment: dict[str, Any], path: Path, text: str) -> ScenarioMeta:
    extensions = experiment.get("extensions") or []
    if not isinstance(extensions, list):
        raise ScenarioError(f"{path}: extensions must be a list")
    raw = blissful_extension(experiment) or {"name": "blissful"}
    if raw.get("extends") is not None:
        # merged in place: the FMEA flow and the evidence rules read the metadata from the experiment
        raw.update({**_extended(raw["extends"], path, text), **raw})
    try:
        return ScenarioMeta.model_validate(raw)
    except ValidationError as exc:
        problems = []
        for error in exc.errors(include_url=False):
            key = ".".join(str(part) for part in error["loc"])
            line = _line_of_key(text, str(error["loc"][0]) if error["loc"] else "")
            what = ("unknown key (known: " + ", ".join(ScenarioMeta.model_fields) + ")"
                    if error["type"] == "extra_forbidden" else str(error["msg"]))
            problems.append(f"{path}{f':{line}' if line else ''}: extensions.blissful.{key}: {what}")
        raise ScenarioError("invalid scenario metadata:\n  " + "\n  ".join(problems)) from None


def _extended(twin: Any, path: Path, text: str) -> dict[str, Any]:
    """The ``blissful`` extension of the built-in scenario ``twin`` (``extends``), without its name."""
    line = _line_of_key(text, "extends")
    where = f"{path}{f':{line}' if line else ''}: extensions.blissful.extends"
    builtin = experiments_dir() / f"{twin}.json"
    if not isinstance(twin, str) or twin not in BUILTIN_SCENARIOS or not builtin.is_file():
        raise ScenarioError(f"{where}: {twin!r} is not a built-in scenario (one of {', '.join(BUILTIN_SCENARIOS)})")
    experiment, _ = _read_experiment(twin, builtin)
    meta = blissful_extension(experiment) or {}
    return {key: value for key, value in meta.items() if key not in {"name", "extends"}}


def blissful_extension(experiment: Mapping[str, Any]) -> dict[str, Any] | None:
    """The experiment's ``{"name": "blissful", ...}`` extension (the scenario's FMEA metadata), if it has one."""
    extensions = experiment.get("extensions") or []
    found: dict[str, Any] | None = next(
        (e for e in extensions if isinstance(e, dict) and e.get("name") == "blissful"), None)
    return found


def _line_of_key(text: str, key: str) -> int | None:
    """1-based line of ``key`` in the blissful extension (JSON ``"key":`` or YAML ``key:``), searched from the
    line that names the extension."""
    lines = text.splitlines()
    start = next((i for i, line in enumerate(lines) if re.search(r"""["']?name["']?\s*:\s*["']?blissful\b""", line)),
                 None)
    if start is None:
        return None
    pattern = re.compile(rf"""^\s*(-\s*)?["']?{re.escape(key)}["']?\s*:""")
    return next((index + 1 for index in range(start, len(lines)) if pattern.search(lines[index])), None)


def _bound_by_runner() -> set[str]:
    return {"blissful_stack", "blissful_base_url", "blissful_project", "blissful_toxiproxy_url",
            "blissful_allow_remote", "blissful_run_id", "blissful_helper_image"}
