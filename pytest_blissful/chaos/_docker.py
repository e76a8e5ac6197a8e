"""The few Docker CLI calls the chaos layer makes, through the package's one Docker module
(``pytest_blissful._docker``), with the chaos layer's error type."""

from __future__ import annotations

import json
import os
import subprocess
from typing import Any

from pytest_blissful import _docker as _shared
from pytest_blissful.chaos.errors import ChaosError

HELPER_IMAGE_ENV = "BLISSFUL_HELPER_IMAGE"
DEFAULT_HELPER_IMAGE = "blissful/base:bookworm"
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


def state(container_id: str) -> str | None:
    """``running``, ``paused``, ``exited``, ... or None for a container that does not exist."""
    info = inspect(container_id)
    return None if info is None else str(info["State"]["Status"])


def helper_image() -> str:
    return os.environ.get(HELPER_IMAGE_ENV) or DEFAULT_HELPER_IMAGE


def in_netns(container_id: str, script: str, timeout: float = _TIMEOUT_S,
             check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a shell script in the network namespace of ``container_id``, with NET_ADMIN, from a helper container.

    A helper container (``--network container:ID``) needs only access to the Docker engine, so it works on a
    Linux host, a GitHub runner and Docker Desktop alike; the target needs neither iptables nor NET_ADMIN.
    """
    return docker("run", "--rm", "--network", f"container:{container_id}", "--cap-add", "NET_ADMIN",
                  "--label", "io.blissful.helper=true", "--entrypoint", "sh", helper_image(), "-c", script,
                  timeout=timeout, check=check)


def exec_in(container_id: str, script: str, timeout: float = _TIMEOUT_S,
            check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run a shell script inside ``container_id`` (its own filesystem, pid namespace and cgroup)."""
    return docker("exec", container_id, "sh", "-c", script, timeout=timeout, check=check)
