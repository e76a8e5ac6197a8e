"""docs/your-service.md, followed as a user would: the example service repo (docs/example-service) copied outside
the project, every ``pytest`` snippet of the docs written into it as a test module, and one real run - smoke,
integration, perf and an FMEA scenario through Toxiproxy - that must end green. Then the errors of the
"When a setting is missing" table, each triggered for real."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from pytest_blissful.chaos import _docker
from pytest_blissful.chaos.errors import ChaosError
from pytest_blissful.chaos.scenarios import ScenarioError, load_scenario, selected_scenarios
from pytest_blissful.chaos.targets import toxiproxy_api
from pytest_blissful.config.loader import load_config
from pytest_blissful.stack.model import ServiceHandle, Stack
from tests.docs.snippets import REPO, of_kind, snippets

EXAMPLE = REPO / "docs" / "example-service"
IMAGE = "blissful-example/orders:1"
GUIDE = REPO / "docs" / "your-service.md"
pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def service_repo(tmp_path_factory: pytest.TempPathFactory, docker_engine: None) -> Path:
    if subprocess.run(["docker", "image", "inspect", IMAGE], capture_output=True, check=False).returncode != 0:
        pytest.fail(f"{IMAGE} missing: run ./scripts/setup.sh example-service", pytrace=False)
    repo = tmp_path_factory.mktemp("service-repo") / "orders"
    shutil.copytree(EXAMPLE, repo)
    seen: set[str] = set()
    for index, snippet in enumerate(of_kind("pytest")):
        if snippet.text not in seen:  # README and the guide may show the same module
            seen.add(snippet.text)
            (repo / f"test_snippet_{index}.py").write_text(f"# from {snippet.id}\n{snippet.text}")
    return repo


def run_pytest(repo: Path, *args: str, state: Path, timeout: float = 600) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "BLISSFUL_STATE_DIR": str(state)}
    env.pop("PYTEST_ADDOPTS", None)
    # -p no:base_url: pytest-base-url (if installed) owns a fixture of the same name (see the README)
    command = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-p", "no:base_url", "-p", "no:xdist",
               "-q", *args]
    return subprocess.run(command, cwd=repo, env=env, capture_output=True, text=True, timeout=timeout, check=False)


def test_the_guide_runs_green_on_a_service_that_is_not_the_demo(service_repo: Path, tmp_path: Path) -> None:
    completed = run_pytest(service_repo, state=tmp_path)
    output = completed.stdout + completed.stderr
    assert completed.returncode == 0, output[-6000:]
    assert re.search(r"\b4 passed\b", output), output[-3000:]
    assert re.search(r"inventory-slow\s+✓ pass", output), output[-3000:]
    scorecard = json.loads((service_repo / "reports" / "scorecard.json").read_text())
    assert "inventory-slow" in json.dumps(scorecard)


def _table(doc: Path, heading: str) -> dict[str, str]:
    text = doc.read_text(encoding="utf-8").split(heading, 1)[1]
    rows = re.findall(r"^\| `([\w.]+)`[^|]* \| `(.+)` \|$", text, re.M)
    return dict(rows)


def _matches(excerpt: str, message: str) -> bool:
    """Each ``...``-separated chunk of the documented excerpt appears in the message, in order."""
    position = 0
    for chunk in (c.strip() for c in excerpt.split("...")):
        found = message.find(chunk, position)
        if found < 0:
            return False
        position = found + len(chunk)
    return True


def _stack(**published: dict[int, int]) -> Stack:
    return Stack("orders", "compose", "http://127.0.0.1:1", "p",
                 services={n: (ServiceHandle(n, f"id-{n}", f"p-{n}-1", p),) for n, p in published.items()})


def _error(setting: str, repo: Path, state: Path) -> str:
    config = load_config(EXAMPLE)
    if setting == "stack.entry_service":
        (repo / "blissful.yaml").write_text((EXAMPLE / "blissful.yaml").read_text().replace(
            "entry_port: 8081 ", "entry_port: 8082 "))
    elif setting == "stack.health_path":
        (repo / "blissful.yaml").write_text((EXAMPLE / "blissful.yaml").read_text().replace(
            "health_path: /healthz", "health_path: /health").replace("startup_timeout: 60s", "startup_timeout: 4s"))
    if setting in {"stack.entry_service", "stack.health_path"}:
        completed = run_pytest(repo, "-m", "smoke", state=state, timeout=180)
        return completed.stdout + completed.stderr
    try:
        if setting == "chaos.targets":
            load_scenario("db-down", config)
        elif setting == "chaos.scenarios":
            selected_scenarios(config, ["db-donw"])
        elif setting == "chaos.toxiproxy":
            toxiproxy_api(_stack(orders={8081: 1}))
        elif setting == "chaos.toxiproxy.service":
            toxiproxy_api(_stack(orders={8081: 1}, inventory={}, toxiproxy={8474: 2}), service="proxy")
        elif setting == "chaos.helper_image":
            _docker.ensure_image("blissful/does-not-exist:0")
        elif setting == "extensions.blissful":
            bad = repo / "chaos" / "typo.json"
            bad.write_text((EXAMPLE / "chaos" / "inventory-slow.json").read_text().replace('"mitigation"',
                                                                                           '"mitigaton"'))
            typo = config.model_copy(update={"chaos": config.chaos.model_copy(
                update={"experiments": {"typo": bad}})})
            load_scenario("typo", typo)
    except (ScenarioError, ChaosError) as exc:
        return str(exc)
    raise AssertionError(f"{setting}: no error raised")


def test_every_missing_setting_is_named_in_its_error(service_repo: Path, tmp_path: Path) -> None:
    table = _table(GUIDE, "## When a setting is missing")
    assert len(table) >= 8
    repo = tmp_path / "orders"
    shutil.copytree(EXAMPLE, repo)
    (repo / "test_smoke.py").write_text("import pytest\n\n\n@pytest.mark.smoke\ndef test_up(http):\n    pass\n")
    for setting, excerpt in table.items():
        message = _error(setting, repo, tmp_path / "state")
        shown = excerpt.replace("'blissful/base:bookworm'", "'blissful/does-not-exist:0'")
        assert _matches(shown, message), f"{setting}: the guide says `{excerpt}`, the run said:\n{message[-3000:]}"
        assert setting.split(".")[0] in message and setting.split(".")[-1] in message, (setting, message[-2000:])


def test_the_example_blissful_yaml_is_the_guides(service_repo: Path) -> None:
    shown = [s for s in snippets((GUIDE,)) if s.arg == "docs/example-service/blissful.yaml"]
    assert shown and yaml.safe_load(shown[0].text) == yaml.safe_load((service_repo / "blissful.yaml").read_text())
