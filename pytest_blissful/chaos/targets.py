"""Resolve an experiment's ``target`` (a compose service name or a container id/name) to containers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from pytest_blissful.chaos import _docker, safety
from pytest_blissful.chaos.errors import ChaosError
from pytest_blissful.stack.model import Stack

STACK_KEY = "blissful_stack"
PROJECT_KEY = "blissful_project"


@dataclass(frozen=True)
class Container:
    id: str
    name: str
    service: str | None = None


def stack_from(configuration: Mapping[str, Any] | None) -> Stack | None:
    """The stack bound into an experiment's configuration (a dict, a JSON string or a ``Stack``), if any."""
    value = (configuration or {}).get(STACK_KEY)
    if value is None or value == "":
        return None
    if isinstance(value, Stack):
        return value
    if isinstance(value, str):
        value = json.loads(value)
    if not isinstance(value, Mapping):
        raise ChaosError(f"configuration {STACK_KEY!r} must be a mapping (Stack.to_dict()), got {type(value).__name__}")
    return Stack.from_dict(dict(value))


def _pick(items: list[Container], replicas: str | int, target: str) -> list[Container]:
    if replicas == "all":
        return items
    if replicas in ("one", "first"):
        return items[:1]
    try:
        index = int(replicas)
        return [items[index]]
    except (ValueError, IndexError):
        raise ChaosError(f"replicas={replicas!r} for target {target!r}: use 'all', 'one' or an index "
                         f"below {len(items)}") from None


def resolve(target: str, configuration: Mapping[str, Any] | None = None,
            replicas: str | int = "all") -> list[Container]:
    """Containers named by ``target``, each checked by :mod:`safety` (this run's own, local engine)."""
    stack = stack_from(configuration)
    project = (stack.project if stack else None) or (configuration or {}).get(PROJECT_KEY) or None
    owned = {h.container_id for handles in (stack.services.values() if stack else ()) for h in handles}
    found: list[Container]
    if stack is not None and target in stack.services:
        found = [Container(h.container_id, h.container_name, h.service) for h in stack.service(target)]
    elif project is not None and stack is None:
        listed = _docker.docker("ps", "-a", "-q", "--no-trunc", "--filter",
                                f"label={safety.COMPOSE_PROJECT_LABEL}={project}", "--filter",
                                f"label=com.docker.compose.service={target}").stdout.split()
        found = [Container(cid, cid[:12], target) for cid in sorted(listed)]
    else:
        found = []
    if not found:
        info = _docker.inspect(target)
        if info is None:
            known = ", ".join(sorted(stack.services)) if stack else "none bound (no blissful_stack in configuration)"
            raise ChaosError(f"no service or container named {target!r} (stack services: {known})")
        found = [Container(str(info["Id"]), str(info["Name"]).lstrip("/"), None)]
    chosen = _pick(found, replicas, target)
    for container in chosen:
        info = _docker.inspect(container.id)
        if info is None:
            raise ChaosError(f"container {container.name} ({container.id[:12]}) of {target!r} no longer exists")
        safety.check_container(info, owned, project, configuration)
    return chosen
