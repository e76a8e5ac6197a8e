"""The one way pytest-blissful talks to Docker: the ``docker`` CLI (what users have, and debug with).

A leaf module used by ``stack/`` (compose projects) and ``chaos/`` (faults). Every call is bounded in time, and
a failure raises the caller's error type with the command and Docker's own message. No environment variable of
the test process is changed: extra variables go to the child process only.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Mapping, Sequence
from typing import Any

DEFAULT_TIMEOUT_S = 60.0
INSTALL_HINT = "install Docker (with the compose v2 plugin) and make sure `docker info` answers"


class DockerError(Exception):
    """A docker CLI call failed; the message names the command and Docker's answer."""


def docker(*args: str, timeout: float = DEFAULT_TIMEOUT_S, check: bool = True, env: Mapping[str, str] | None = None,
           cwd: str | None = None, error: type[Exception] = DockerError) -> subprocess.CompletedProcess[str]:
    """Run ``docker ARGS...``; raise ``error`` when it is missing, times out, or (with ``check``) fails."""
    try:
        completed = subprocess.run(["docker", *args], capture_output=True, text=True, timeout=timeout, check=False,
                                   env={**os.environ, **env} if env else None, cwd=cwd)
    except FileNotFoundError:
        raise error(f"the docker CLI is not installed: {INSTALL_HINT}") from None
    except subprocess.TimeoutExpired:
        raise error(f"`docker {' '.join(args[:4])} ...` did not finish within {timeout:g} s") from None
    if check and completed.returncode != 0:
        raise error(f"`docker {' '.join(args)}` failed (exit {completed.returncode}): "
                    f"{(completed.stderr or completed.stdout).strip()}")
    return completed


def open_docker(*args: str, error: type[Exception] = DockerError) -> subprocess.Popen[str]:
    """Start a long-running ``docker ARGS...`` (e.g. ``stats``) with its output piped; the caller ends it."""
    try:
        return subprocess.Popen(["docker", *args], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    except FileNotFoundError:
        raise error(f"the docker CLI is not installed: {INSTALL_HINT}") from None


def parse_json_objects(text: str) -> list[dict[str, Any]]:
    """Docker prints ``--format json`` as one JSON array (older compose) or one object per line (newer)."""
    text = text.strip()
    if not text:
        return []
    if text.startswith("["):
        loaded: list[dict[str, Any]] = json.loads(text)
        return loaded
    return [json.loads(line) for line in text.splitlines() if line.strip()]


def compose_args(project: str, files: Sequence[str] = ()) -> list[str]:
    """``compose --project-name P -f F ...``: the prefix of every compose command."""
    return ["compose", "--project-name", project, *[arg for file in files for arg in ("-f", file)]]
