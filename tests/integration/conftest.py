"""Integration tier: real Docker. Every test here runs in CI; a missing engine fails, it never skips."""

from __future__ import annotations

import json
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest

TINY_COMPOSE = Path(__file__).parent / "tiny" / "compose.yaml"
IMAGE = "blissful/base:bookworm"
TEST_LABEL = "io.blissful.test=chaos"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if Path(str(item.fspath)).is_relative_to(Path(__file__).parent):
            item.add_marker(pytest.mark.docker)
            item.fixturenames.insert(0, "docker_engine")


DOCKER = "pytest_blissful.chaos.actions.docker"


def _experiment(inject: str, remove: str, **arguments: object) -> dict[str, object]:
    def action(name: str, func: str, args: dict[str, object]) -> dict[str, object]:
        return {"type": "action", "name": name,
                "provider": {"type": "python", "module": DOCKER, "func": func, "arguments": args}}

    return {
        "title": f"{inject} on the tiny stack",
        "description": "test scenario",
        "extensions": [{"name": "blissful", "severity": "Medium", "expected_behaviour": "keeps serving",
                        "mitigation": "run two replicas", "slos": {"max_recovery_time_s": 5}}],
        "method": [action("inject", inject, {"target": "${app}", **arguments}),
                   {"type": "action", "name": "hold", "provider": {
                       "type": "python", "module": "pytest_blissful.chaos.actions.hold", "func": "hold",
                       "arguments": {"seconds": "${fault_duration}"}}}],
        "rollbacks": [action("remove", remove, {"target": "${app}"})],
    }


@pytest.fixture
def tiny_chaos(pytester: pytest.Pytester) -> pytest.Pytester:
    (pytester.path / "freeze.json").write_text(json.dumps(_experiment("pause_container", "unpause_container")))
    (pytester.path / "lossy.json").write_text(
        json.dumps(_experiment("add_packet_loss", "remove_packet_loss", probability=0.01)))
    (pytester.path / "busy.json").write_text(
        json.dumps(_experiment("add_cpu_stress", "remove_cpu_stress", workers=1, duration_s=60)))
    pytester.makefile(".yaml", blissful=f"""
stack:
  compose: [{TINY_COMPOSE}]
  entry_service: web
  entry_port: 8000
chaos:
  experiments: {{freeze: freeze.json, lossy: lossy.json, busy: busy.json}}
  scenarios: [freeze, busy]
  targets: {{app: web}}
  probe_paths: [/health]
  mix: {{"GET /health": 1}}
  baseline_duration: 2s
  default_duration: 3s
  load_during_chaos: 2
  abort_on_critical_failure: false
  slos: {{max_recovery_time_s: 5}}
""")
    pytester.makepyfile(test_scenario="""
import pathlib
def test_scenario(fmea, stack):
    pathlib.Path("project.txt").write_text(stack.project + " " + stack.service("web")[0].container_id)
    result = fmea.run(pathlib.Path("which.txt").read_text())
    pathlib.Path("verdict.txt").write_text(result.verdict)
    assert result.passed, result.explain()
""")
    return pytester


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


def start_container(network: str, name: str, *args: str, label_target: bool = True,
                    command: tuple[str, ...] = ("sleep", "infinity")) -> str:
    labels = ["--label", TEST_LABEL] + (["--label", "io.blissful.chaos-target=true"] if label_target else [])
    out = subprocess.run(["docker", "run", "-d", "--init", "--network", network, "--name", name, *labels, *args,
                          IMAGE, *command], capture_output=True, text=True, check=True, timeout=60)
    return out.stdout.strip()


@pytest.fixture
def network() -> Iterator[str]:
    name = f"blissful-chaos-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(["docker", "network", "create", "--label", TEST_LABEL, name], check=True, capture_output=True)
    try:
        yield name
    finally:
        ids = subprocess.run(["docker", "ps", "-aq", "--filter", f"network={name}"], capture_output=True,
                             text=True, check=False).stdout.split()
        if ids:
            subprocess.run(["docker", "rm", "-f", *ids], capture_output=True, check=False)
        subprocess.run(["docker", "network", "rm", name], capture_output=True, check=False)
