"""Compose stacks through testcontainers' ``DockerCompose``, with a fixed project name per run."""

from __future__ import annotations

import dataclasses
import os
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from pytest_blissful.stack.model import ServiceHandle, Stack

_SETUP_HINT = ("build or pull them first (`docker compose -f FILE build` / `pull`); in a pytest-blissful checkout "
               "on an offline machine, ./scripts/setup.sh builds the demo's")


class StackError(Exception):
    """The stack could not be brought up or down; the message says which step and why."""


def demo_compose_file() -> Path:
    """The embedded demo stack: shipped inside the wheel, or the repository's fixtures/ in a checkout."""
    packaged = Path(__file__).resolve().parent.parent / "_demo" / "compose.yaml"
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "fixtures" / "demo" / "compose.yaml"


def _compose(files: Sequence[Path], project: str, env: Mapping[str, str], timeout_s: float) -> Any:
    # Ryuk cannot be pulled offline and we clean up ourselves (ledger); report localhost, not the bridge gateway.
    os.environ.setdefault("TESTCONTAINERS_RYUK_DISABLED", "true")
    os.environ.setdefault("TESTCONTAINERS_CONNECTION_MODE", "docker_host")
    from testcontainers.compose import DockerCompose  # heavy: imported only when a stack is needed

    class ProjectCompose(DockerCompose):
        """DockerCompose with an explicit project name and extra interpolation variables."""

        @property
        def compose_command_property(self) -> list[str]:
            command = ["docker", "compose", "--project-name", project]
            for file in files:
                command += ["-f", str(file)]
            return command

        def _run_command(self, cmd: Any, context: str | None = None) -> subprocess.CompletedProcess[bytes]:
            return subprocess.run(
                cmd, capture_output=True, check=True, cwd=context or str(self.context),
                env={**os.environ, **env}, timeout=timeout_s + 60,
            )

        def start(self) -> None:
            self._run_command([*self.compose_command_property, "up", "--wait", "--wait-timeout",
                               str(max(1, int(timeout_s))), "--remove-orphans"])

    return ProjectCompose(context=str(files[0].parent), compose_file_name=[str(f) for f in files])


def validate_compose(files: Sequence[Path], env: Mapping[str, str]) -> None:
    for file in files:
        if not file.is_file():
            raise StackError(f"compose file not found: {file}")
    command = ["docker", "compose"] + [arg for f in files for arg in ("-f", str(f))] + ["config", "--quiet"]
    try:
        completed = subprocess.run(command, capture_output=True, text=True, env={**os.environ, **env},
                                   timeout=60, check=False)
    except FileNotFoundError:
        raise StackError("the docker CLI is not installed: install Docker (docs.docker.com/engine/install); "
                         "in a pytest-blissful checkout ./scripts/setup.sh docker compose does it") from None
    if completed.returncode != 0:
        names = ", ".join(str(f) for f in files)
        raise StackError(f"invalid compose file ({names}): {completed.stderr.strip()}")


def compose_up(
    name: str, files: Sequence[Path], project: str, env: Mapping[str, str], entry_service: str,
    entry_port: int, timeout_s: float,
) -> Stack:
    validate_compose(files, env)
    compose = _compose(files, project, env, timeout_s)
    try:
        compose.start()
    except subprocess.CalledProcessError as exc:
        raise StackError(_explain_up_failure(project, files, env, exc)) from None
    except subprocess.TimeoutExpired as exc:
        raise StackError(_explain_up_failure(project, files, env, exc, timeout_s)) from None
    services: dict[str, list[ServiceHandle]] = {}
    for container in compose.get_containers():
        published = {
            int(p.TargetPort): int(p.PublishedPort)
            for p in (container.Publishers or [])
            if p.PublishedPort and p.URL in ("127.0.0.1", "0.0.0.0", "::", "")
        }
        handle = ServiceHandle(service=container.Service, container_id=container.ID,
                               container_name=container.Name, published=published)
        services.setdefault(container.Service, []).append(handle)
    stack = Stack(
        name=name, kind="compose", base_url="", project=project,
        compose_files=tuple(str(f) for f in files),
        services={k: tuple(sorted(v, key=lambda h: h.container_name)) for k, v in sorted(services.items())},
    )
    try:
        base_url = stack.endpoint(entry_service, entry_port)
    except KeyError as exc:
        raise StackError(f"entry service of stack {name!r}: {exc.args[0]} (set stack.entry_service / "
                         "stack.entry_port in blissful.yaml; publish it as '127.0.0.1::PORT')") from None
    return dataclasses.replace(stack, base_url=base_url)


def compose_down(project: str, timeout_s: float = 60) -> None:
    """Remove every container, network and volume of ``project`` (works without the compose files)."""
    command = ["docker", "compose", "--project-name", project, "down", "--volumes", "--remove-orphans",
               "--timeout", "3"]
    completed = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s, check=False)
    if completed.returncode != 0:
        raise StackError(f"`docker compose down` of project {project} failed: {completed.stderr.strip()}")


def _explain_up_failure(project: str, files: Sequence[Path], env: Mapping[str, str],
                        exc: subprocess.CalledProcessError | subprocess.TimeoutExpired, timeout_s: float = 0) -> str:
    stderr = exc.stderr.decode(errors="replace").strip() if isinstance(exc.stderr, bytes) else ""
    timed_out = isinstance(exc, subprocess.TimeoutExpired)
    if isinstance(exc, subprocess.CalledProcessError):
        headline = f"`docker compose up` of project {project} failed (exit {exc.returncode}):"
    else:
        headline = f"`docker compose up` of project {project} did not finish within {timeout_s:.0f} s:"
    lines = [headline, _tail(stderr, 15)]
    base = ["docker", "compose", "--project-name", project] + [a for f in files for a in ("-f", str(f))]
    missing = _missing_images(base, env)
    if missing:
        lines.append(f"image(s) missing locally and not pullable: {', '.join(missing)}; {_SETUP_HINT}")
    ps = subprocess.run([*base, "ps", "--all", "--format", "{{.Service}}: {{.Status}}"], capture_output=True,
                        text=True, env={**os.environ, **env}, timeout=30, check=False)
    if ps.stdout.strip():
        lines.append("services:\n" + _indent(ps.stdout.strip()))
    for service, status in _failed_services(ps.stdout, still_starting=timed_out):
        own = subprocess.run([*base, "logs", "--no-color", "--no-log-prefix", "--tail", "15", service],
                             capture_output=True, text=True, env={**os.environ, **env}, timeout=30, check=False)
        lines.append(f"service {service!r} did not come up ({status}); its last log lines:\n"
                     + _indent(own.stdout.replace("\x1b[2K", "").strip() or "(no output)"))
    logs = subprocess.run([*base, "logs", "--no-color", "--tail", "8"], capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=30, check=False)
    if logs.stdout.strip():
        lines.append("last log lines:\n" + _indent(_tail(logs.stdout.strip(), 40)))
    return "\n".join(lines)


def _failed_services(ps_output: str, still_starting: bool = False) -> list[tuple[str, str]]:
    """(service, status) of the services that exited or are unhealthy (with ``still_starting``: or never passed a
    healthcheck), from ``ps`` lines "service: status"."""
    failed = []
    for line in ps_output.splitlines():
        service, _, status = line.partition(": ")
        starting = still_starting and "(health: starting)" in status
        if status.startswith("Exited") or "(unhealthy)" in status or starting:
            failed.append((service, status))
    return failed


def _missing_images(base: list[str], env: Mapping[str, str]) -> list[str]:
    listed = subprocess.run([*base, "config", "--images"], capture_output=True, text=True,
                            env={**os.environ, **env}, timeout=30, check=False)
    missing = []
    for image in sorted(set(listed.stdout.split())):
        inspect = subprocess.run(["docker", "image", "inspect", image], capture_output=True, timeout=30, check=False)
        if inspect.returncode != 0:
            missing.append(image)
    return missing


def _tail(text: str, count: int) -> str:
    return "\n".join(text.splitlines()[-count:])


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())
