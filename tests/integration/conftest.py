"""Integration tier: real Docker. Every test here runs in CI; a missing engine fails, it never skips."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

TINY_COMPOSE = Path(__file__).parent / "tiny" / "compose.yaml"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.docker)
            item.fixturenames.insert(0, "docker_engine")


def project_resources(project: str) -> dict[str, list[str]]:
    """Containers, networks and volumes that still carry ``project``'s compose label."""
    label = f"label=com.docker.compose.project={project}"
    found = {}
    for kind, command in {
        "containers": ["docker", "ps", "-aq", "--filter", label],
        "networks": ["docker", "network", "ls", "-q", "--filter", label],
        "volumes": ["docker", "volume", "ls", "-q", "--filter", label],
    }.items():
        out = subprocess.run(command, capture_output=True, text=True, check=True, timeout=30).stdout
        found[kind] = out.split()
    return found


def assert_nothing_left(project: str) -> None:
    leftovers = {kind: ids for kind, ids in project_resources(project).items() if ids}
    assert not leftovers, f"compose project {project} left {leftovers}"
