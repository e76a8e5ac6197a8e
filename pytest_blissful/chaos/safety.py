"""Chaos only against what this run owns: its own containers on a local engine, loopback URLs.

Anything else (a shared staging host, a remote Docker engine, a container of another project) is refused
unless explicitly allowed: ``--blissful-allow-chaos`` (configuration key ``blissful_allow_remote``, or the
environment variable ``BLISSFUL_ALLOW_CHAOS=1`` for ``chaos run``).
"""

from __future__ import annotations

import ipaddress
import os
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from pytest_blissful.chaos.errors import ChaosRefused

ALLOW_ENV = "BLISSFUL_ALLOW_CHAOS"
ALLOW_KEY = "blissful_allow_remote"
TARGET_LABEL = "io.blissful.chaos-target"  # opt-in label for standalone containers (value "true")
COMPOSE_PROJECT_LABEL = "com.docker.compose.project"
_HOW = "pass --blissful-allow-chaos (or set BLISSFUL_ALLOW_CHAOS=1) if you really mean it"


def allow_remote(configuration: Mapping[str, Any] | None) -> bool:
    if configuration and bool(configuration.get(ALLOW_KEY)):
        return True
    return os.environ.get(ALLOW_ENV, "").strip().lower() in {"1", "true", "yes"}


def is_loopback_host(host: str | None) -> bool:
    if not host:
        return False
    if host.lower() in {"localhost", "localhost.localdomain"} or host.lower().endswith(".localhost"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def docker_engine_is_local(docker_host: str | None = None) -> bool:
    """True unless DOCKER_HOST points at another machine (unix sockets and loopback TCP are local)."""
    value = docker_host if docker_host is not None else os.environ.get("DOCKER_HOST", "")
    if not value:
        return True
    parts = urlsplit(value)
    if parts.scheme in {"unix", "npipe", "fd"}:
        return True
    return is_loopback_host(parts.hostname)


def check_url(url: str, what: str, configuration: Mapping[str, Any] | None = None) -> None:
    """Refuse a fault sent to a non-loopback URL (e.g. a Toxiproxy API on a shared host)."""
    if is_loopback_host(urlsplit(url).hostname) or allow_remote(configuration):
        return
    raise ChaosRefused(f"refusing chaos against {what} at {url}: it is not on this machine (loopback); {_HOW}")


def check_engine(configuration: Mapping[str, Any] | None = None) -> None:
    if docker_engine_is_local() or allow_remote(configuration):
        return
    raise ChaosRefused(f"refusing chaos through the Docker engine at DOCKER_HOST={os.environ.get('DOCKER_HOST')}: "
                       f"it is not on this machine; {_HOW}")


def check_container(container: Mapping[str, Any], owned_ids: set[str], project: str | None,
                    configuration: Mapping[str, Any] | None = None) -> None:
    """``container`` is ``docker inspect`` output. Owned: one of the stack's handles, a container of the stack's
    compose project, or one labelled ``io.blissful.chaos-target=true``."""
    check_engine(configuration)
    container_id = str(container["Id"])
    labels: dict[str, str] = container.get("Config", {}).get("Labels") or {}
    owned = (
        any(container_id.startswith(known) or known.startswith(container_id) for known in owned_ids if known)
        or (project is not None and labels.get(COMPOSE_PROJECT_LABEL) == project)
        or labels.get(TARGET_LABEL, "").lower() == "true"
    )
    if owned or allow_remote(configuration):
        return
    name = str(container.get("Name", "")).lstrip("/")
    owner = f"compose project {labels[COMPOSE_PROJECT_LABEL]!r}" if COMPOSE_PROJECT_LABEL in labels else "no stack"
    mine = f"this run's stack (project {project!r})" if project else "this run's stack"
    raise ChaosRefused(
        f"refusing chaos against container {name or container_id[:12]} ({container_id[:12]}): it belongs to "
        f"{owner}, not to {mine}; label it {TARGET_LABEL}=true to make it a target, or {_HOW}"
    )
