"""Compose stacks through the docker CLI (``pytest_blissful._docker``), with a fixed project name per run.

Nothing here changes the test process's environment: the stack's interpolation variables (``stack.env``) go to
the ``docker compose`` child processes only.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from pathlib import Path

from pytest_blissful._docker import DockerError, compose_args, docker, parse_json_objects
from pytest_blissful.stack.errors import StackError
from pytest_blissful.stack.model import ServiceHandle, Stack

_SETUP_HINT = ("build or pull them first (`docker compose build` / `docker compose pull`; in a checkout of "
               "pytest-blissful on an offline machine, ./scripts/setup.sh builds the demo's)")
_LOOPBACK = ("127.0.0.1", "0.0.0.0", "::", "")


def demo_compose_file() -> Path:
    """The embedded demo stack: shipped inside the wheel, or the repository's fixtures/ in a checkout."""
    packaged = Path(__file__).resolve().parent.parent / "_demo" / "compose.yaml"
    if packaged.is_file():
        return packaged
    return Path(__file__).resolve().parents[2] / "fixtures" / "demo" / "compose.yaml"


def validate_compose(files: Sequence[Path], env: Mapping[str, str]) -> None:
    for file in files:
        if not file.is_file():
            raise StackError(f"compose file not found: {file}")
    completed = docker("compose", *[arg for f in files for arg in ("-f", str(f))], "config", "--quiet",
                       env=env, check=False, error=StackError)
    if completed.returncode != 0:
        names = ", ".join(str(f) for f in files)
        raise StackError(f"invalid compose file ({names}): {completed.stderr.strip()}")


def compose_up(
    name: str, files: Sequence[Path], project: str, env: Mapping[str, str], entry_service: str | None,
    entry_port: int | None, timeout_s: float,
) -> Stack:
    """``docker compose up --wait``; then the stack's services, published ports and entry URL."""
    validate_compose(files, env)
    base = compose_args(project, [str(f) for f in files])
    try:
        docker(*base, "up", "--wait", "--wait-timeout", str(max(1, int(timeout_s))), "--remove-orphans",
               env=env, timeout=timeout_s + 60, cwd=str(files[0].parent), error=DockerError)
    except DockerError as exc:
        raise StackError(_explain_up_failure(project, files, env, str(exc))) from None
    stack = Stack(name=name, kind="compose", base_url="", project=project,
                  compose_files=tuple(str(f) for f in files), services=services_of(project, files, env))
    service, port = entry_point(stack, entry_service, entry_port)
    try:
        base_url = stack.endpoint(service, port)
    except KeyError as exc:
        raise StackError(f"entry service of stack {name!r}: {exc.args[0]} (set stack.entry_service / "
                         "stack.entry_port in blissful.yaml; publish it as '127.0.0.1::PORT')") from None
    return dataclasses.replace(stack, base_url=base_url)


def services_of(project: str, files: Sequence[Path], env: Mapping[str, str]) -> dict[str, tuple[ServiceHandle, ...]]:
    """Every container of the project by service (replicas sorted by name), with its loopback-published ports."""
    listed = docker(*compose_args(project, [str(f) for f in files]), "ps", "--all", "--format", "json",
                    env=env, error=StackError)
    services: dict[str, list[ServiceHandle]] = {}
    for container in parse_json_objects(listed.stdout):
        published = {
            int(p["TargetPort"]): int(p["PublishedPort"])
            for p in (container.get("Publishers") or [])
            if p.get("PublishedPort") and p.get("URL", "") in _LOOPBACK
        }
        handle = ServiceHandle(service=container["Service"], container_id=container["ID"],
                               container_name=container["Name"], published=published)
        services.setdefault(handle.service, []).append(handle)
    return {k: tuple(sorted(v, key=lambda h: h.container_name)) for k, v in sorted(services.items())}


def entry_point(stack: Stack, entry_service: str | None, entry_port: int | None) -> tuple[str, int]:
    """The service and container port that receive the traffic: as configured, else the only one published."""
    if entry_service is None:
        publishing = [name for name, handles in stack.services.items() if any(h.published for h in handles)]
        if len(publishing) != 1:
            found = f"services publishing a port: {', '.join(publishing)}" if publishing else "none publishes a port"
            raise StackError(f"stack {stack.name!r}: set stack.entry_service in blissful.yaml to the service that "
                             f"receives the traffic ({found})")
        entry_service = publishing[0]
    if entry_port is None:
        try:
            ports = sorted(stack.service(entry_service)[0].published)
        except KeyError as exc:
            raise StackError(f"stack.entry_service: {exc.args[0]}") from None
        if len(ports) != 1:
            raise StackError(
                f"stack {stack.name!r}: set stack.entry_port in blissful.yaml to the container port of "
                f"{entry_service!r} that receives the traffic (published: {ports or 'none'})")
        entry_port = ports[0]
    return entry_service, entry_port


def compose_down(project: str, timeout_s: float = 60) -> None:
    """Remove every container, network and volume of ``project`` (works without the compose files)."""
    completed = docker(*compose_args(project), "down", "--volumes", "--remove-orphans", "--timeout", "3",
                       timeout=timeout_s, check=False, error=StackError)
    if completed.returncode != 0:
        raise StackError(f"`docker compose down` of project {project} failed: {completed.stderr.strip()}")


def _explain_up_failure(project: str, files: Sequence[Path], env: Mapping[str, str], error: str) -> str:
    lines = [f"`docker compose up` of project {project} failed:", _tail(error, 15)]
    base = compose_args(project, [str(f) for f in files])
    timed_out = "did not finish within" in error or "not healthy after" in error
    missing = _missing_images(base, env)
    if missing:
        lines.append(f"image(s) missing locally and not pullable: {', '.join(missing)}; {_SETUP_HINT}")
    ps = docker(*base, "ps", "--all", "--format", "{{.Service}}: {{.Status}}", env=env, timeout=30, check=False,
                error=StackError)
    if ps.stdout.strip():
        lines.append("services:\n" + _indent(ps.stdout.strip()))
    for service, status in _failed_services(ps.stdout, still_starting=timed_out):
        own = docker(*base, "logs", "--no-color", "--no-log-prefix", "--tail", "15", service, env=env, timeout=30,
                     check=False, error=StackError)
        lines.append(f"service {service!r} did not come up ({status}); its last log lines:\n"
                     + _indent(own.stdout.replace("\x1b[2K", "").strip() or "(no output)"))
    logs = docker(*base, "logs", "--no-color", "--tail", "8", env=env, timeout=30, check=False, error=StackError)
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
    listed = docker(*base, "config", "--images", env=env, timeout=30, check=False, error=StackError)
    return [image for image in sorted(set(listed.stdout.split()))
            if docker("image", "inspect", image, timeout=30, check=False, error=StackError).returncode != 0]


def _tail(text: str, count: int) -> str:
    return "\n".join(text.splitlines()[-count:])


def _indent(text: str) -> str:
    return "\n".join("    " + line for line in text.splitlines())
