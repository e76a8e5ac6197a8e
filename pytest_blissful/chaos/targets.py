"""Resolve an experiment's ``target`` (a compose service name or a container id/name) to containers."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pytest_blissful.chaos._docker as _docker
import pytest_blissful.chaos.safety as safety
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


TOXIPROXY_API_PORT = 8474
TOXIPROXY_SETTING_HINT = ("set chaos.toxiproxy in blissful.yaml: {service: <compose service running Toxiproxy>, "
                          "port: <its API's container port, default 8474>} (or {url: http://127.0.0.1:PORT})")


def toxiproxy_api(stack: Stack | None, service: str | None = None, port: int = TOXIPROXY_API_PORT,
                  url: str | None = None) -> str:
    """The URL of Toxiproxy's HTTP API for ``stack``.

    ``url`` (``chaos.toxiproxy.url``) wins; then ``service`` and ``port`` (``chaos.toxiproxy: {service, port}``,
    the port must be published: ``"127.0.0.1::8474"``); without either, the one service of the stack that
    publishes ``port`` (8474 by default: auto-discovery). Every failure names the ``chaos.toxiproxy`` setting.
    """
    if url:
        return url.rstrip("/")
    services = stack.services if stack is not None else {}
    if service is not None:
        if service not in services:
            known = ", ".join(sorted(services)) or "none (an external target: use chaos.toxiproxy.url)"
            raise ChaosError(f"chaos.toxiproxy.service {service!r} is not a service of the stack (services: {known})")
        handle = services[service][0]
        if port not in handle.published:
            raise ChaosError(
                f"chaos.toxiproxy: service {service!r} publishes no port {port} (published container ports: "
                f"{sorted(handle.published) or 'none'}); publish it in the compose file as \"127.0.0.1::{port}\" "
                "or set chaos.toxiproxy.port to the API's container port")
        return handle.url(port)
    found = sorted(name for name, handles in services.items() if handles and port in handles[0].published)
    if len(found) == 1:
        return services[found[0]][0].url(port)
    if not found:
        raise ChaosError(f"Toxiproxy not found: no service of the stack publishes port {port} (its API); "
                         + TOXIPROXY_SETTING_HINT)
    raise ChaosError(f"Toxiproxy is ambiguous: services {', '.join(found)} all publish port {port}; "
                     + TOXIPROXY_SETTING_HINT)
