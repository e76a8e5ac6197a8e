"""The few Docker CLI calls the chaos layer makes, through the package's one Docker module
(``pytest_blissful._docker``), with the chaos layer's error type."""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping
from typing import Any

import pytest_blissful._docker as _shared
from pytest_blissful.chaos.errors import ChaosError

HELPER_IMAGE_ENV = "BLISSFUL_HELPER_IMAGE"
HELPER_IMAGE_KEY = "blissful_helper_image"  # bound from chaos.helper_image in blissful.yaml
DEFAULT_HELPER_IMAGE = "blissful/base:bookworm"
_INSTALL_HINT = ("install Docker (docs.docker.com/engine/install); in a pytest-blissful checkout "
                 "`./scripts/setup.sh docker compose` does it")
_TIMEOUT_S = 60.0


def docker(*args: str, timeout: float = _TIMEOUT_S, check: bool = True) -> subprocess.CompletedProcess[str]:
    return _shared.docker(*args, timeout=timeout, check=check, error=ChaosError)


def inspect(container_id: str) -> dict[str, Any] | None:
    """``docker inspect`` of one container, or None when it does not exist (any more)."""
    completed = docker("container", "inspect", container_id, check=False)
    if completed.returncode != 0:
        if "no such" in completed.stderr.lower():
            return None
        raise ChaosError(f"docker inspect {container_id} failed: {completed.stderr.strip()}")
    data: list[dict[str, Any]] = json.loads(completed.stdout)
    return data[0]


def loopback_ports(container_id: str) -> dict[int, int]:
    """Container port → host port on loopback, as published *now* (an ephemeral host port changes at every start)."""
    ports = ((inspect(container_id) or {}).get("NetworkSettings") or {}).get("Ports") or {}
    return {int(spec.split("/")[0]): int(binding["HostPort"]) for spec, bindings in ports.items()
            for binding in (bindings or [])
            if binding.get("HostPort") and binding.get("HostIp", "") in ("127.0.0.1", "::1", "")}


def state(container_id: str) -> str | None:
    """``running``, ``paused``, ``exited``, ... or None for a container that does not exist."""
    info = inspect(container_id)
    return None if info is None else str(info["State"]["Status"])


def helper_image(configuration: Mapping[str, Any] | None = None) -> str:
    """The image of network-fault helper containers: ``chaos.helper_image`` (bound into the configuration),
    else ``$BLISSFUL_HELPER_IMAGE``, else ``blissful/base:bookworm``."""
    return str((configuration or {}).get(HELPER_IMAGE_KEY) or os.environ.get(HELPER_IMAGE_ENV) or DEFAULT_HELPER_IMAGE)


_AVAILABLE: set[str] = set()


def ensure_image(image: str) -> None:
    """Raise a ChaosError that says how to pick another helper image when ``image`` is not available locally."""
    if image in _AVAILABLE:
        return
    if (docker("image", "inspect", image, check=False).returncode != 0
            and docker("pull", "-q", image, check=False, timeout=300).returncode != 0):
        raise ChaosError(
            f"the helper image {image!r} for network faults is not available (not local, and `docker pull` "
            "failed). Pick an image that has sh, iptables and tc (iproute2) and set chaos.helper_image in "
            "blissful.yaml (or $BLISSFUL_HELPER_IMAGE), e.g. one built from a Dockerfile with "
            "`FROM debian:bookworm-slim` and `RUN apt-get update && apt-get install -y iptables iproute2`; "
            "in a pytest-blissful checkout `./scripts/setup.sh base-image` builds blissful/base:bookworm")
    _AVAILABLE.add(image)


def in_netns(container_id: str, script: str, timeout: float = _TIMEOUT_S,
             check: bool = True, image: str | None = None) -> subprocess.CompletedProcess[str]:
    """Run a shell script in the network namespace of ``container_id``, with NET_ADMIN, from a helper container.

    A helper container (``--network container:ID``) needs only access to the Docker engine, so it works on a
    Linux host, a GitHub runner and Docker Desktop alike; the target needs neither iptables nor NET_ADMIN.
    """
    image = image or helper_image()
    ensure_image(image)
    return docker("run", "--rm", "--network", f"container:{container_id}", "--cap-add", "NET_ADMIN",
                  "--label", "io.blissful.helper=true", "--entrypoint", "sh", image, "-c", script,
                  timeout=timeout, check=check)


def exec_in(container_id: str, script: str, timeout: float = _TIMEOUT_S,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a shell script inside ``container_id`` (its own filesystem, pid namespace and cgroup)."""
    return docker("exec", container_id, "sh", "-c", script, timeout=timeout, check=check)
