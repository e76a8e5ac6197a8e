"""Shared fixtures of the plugin's own tests."""

from __future__ import annotations

import json
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def isolated_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    """A private ledger/state dir, so inner pytest sessions never see this session's stack records.

    Afterwards, whatever that ledger still names is removed, so that a failing test leaves nothing behind.
    """
    state = tmp_path / "state"
    state.mkdir()
    monkeypatch.setenv("BLISSFUL_STATE_DIR", str(state))
    yield state
    ledger = state / "ledger.json"
    if ledger.exists():
        from pytest_blissful.stack.compose import compose_down

        for key, entry in json.loads(ledger.read_text()).items():
            if entry.get("kind") == "compose-project":
                compose_down(key)


@pytest.fixture(scope="session")
def docker_engine() -> None:
    """Integration tests need a Docker engine: fail loudly (never skip) when it is missing."""
    if shutil.which("docker") is None:
        pytest.fail("no docker CLI: run ./scripts/setup.sh (it installs and starts Docker)", pytrace=False)
    info = subprocess.run(["docker", "info"], capture_output=True, text=True, timeout=30, check=False)
    if info.returncode != 0:
        pytest.fail(f"Docker engine not reachable: run ./scripts/setup.sh\n{info.stderr.strip()}", pytrace=False)
