"""What a running stack looks like to tests: endpoints and service handles (plain, JSON-serialisable values)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

import pytest_blissful.stack.kubernetes_client as kubernetes_client
import pytest_blissful.stack.kubernetes_resources as kubernetes_resources
from pytest_blissful.stack.kubernetes_client import Cluster
from pytest_blissful.stack.kubernetes_ready import ResourceStatus


@dataclass(frozen=True)
class ServiceHandle:
    """One container of a service: what chaos code targets (kill, pause, network faults...)."""

    service: str
    container_id: str
    container_name: str
    published: dict[int, int] = field(default_factory=dict)  # container port -> host port on 127.0.0.1

    def url(self, container_port: int, scheme: str = "http") -> str:
        try:
            return f"{scheme}://127.0.0.1:{self.published[container_port]}"
        except KeyError:
            raise KeyError(
                f"service {self.service!r} publishes no port {container_port} "
                f"(published: {sorted(self.published) or 'none'})"
            ) from None


@dataclass(frozen=True)
class Stack:
    """A system under test that is up and healthy."""

    name: str
    kind: Literal["compose", "external", "kubernetes"]
    base_url: str
    project: str | None = None
    compose_files: tuple[str, ...] = ()
    services: dict[str, tuple[ServiceHandle, ...]] = field(default_factory=dict)
    kubernetes: dict[str, Any] = field(default_factory=dict)  # namespace, kubeconfig, context... (kind kubernetes)

    @property
    def namespace(self) -> str | None:
        """The Kubernetes namespace of a ``kubernetes`` stack."""
        return self.kubernetes.get("namespace")

    def resource(self, ref: str) -> ResourceStatus:
        """Readiness of a Kubernetes object of this stack: ``stack.resource("deployment/api").ready``
        (also ``.exists``, ``.reason``, ``.explain()``)."""
        return kubernetes_resources.status(self._cluster(), str(self.namespace), ref)

    def _cluster(self) -> Cluster:
        if self.kind != "kubernetes":
            raise RuntimeError(f"stack {self.name!r} is a {self.kind} stack, not a Kubernetes one")
        return kubernetes_client.cluster_of(self.kubernetes)

    def service(self, name: str) -> tuple[ServiceHandle, ...]:
        """All replicas (containers) of a compose service."""
        try:
            return self.services[name]
        except KeyError:
            known = ", ".join(sorted(self.services)) or "none (external target)"
            raise KeyError(f"stack {self.name!r} has no service {name!r}; services: {known}") from None

    def endpoint(self, service: str, container_port: int) -> str:
        """``http://127.0.0.1:PORT`` of a service's published container port (first replica)."""
        return self.service(service)[0].url(container_port)

    def logs(self, service: str, tail: int | None = None) -> str:
        """Combined stdout+stderr of every replica of ``service`` (Kubernetes: every pod behind the Service or
        workload of that name, read through the API)."""
        if self.kind == "kubernetes":
            return kubernetes_resources.logs(self._cluster(), str(self.namespace), service, tail)
        if self.kind != "compose" or self.project is None:
            raise RuntimeError(f"stack {self.name!r} is an external target: its logs are not reachable from here")
        self.service(service)
        from pytest_blissful._docker import compose_args, docker

        command = [*compose_args(self.project), "logs", "--no-color", "--no-log-prefix"]
        if tail is not None:
            command += ["--tail", str(tail)]
        completed = docker(*command, service, check=False, error=RuntimeError)
        if completed.returncode != 0:
            raise RuntimeError(f"docker compose logs {service} failed: {completed.stderr.strip()}")
        return completed.stdout + completed.stderr

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Stack:
        services = {
            name: tuple(
                ServiceHandle(
                    service=h["service"],
                    container_id=h["container_id"],
                    container_name=h["container_name"],
                    published={int(k): int(v) for k, v in h["published"].items()},
                )
                for h in handles
            )
            for name, handles in data.get("services", {}).items()
        }
        return cls(
            name=data["name"],
            kind=data["kind"],
            base_url=data["base_url"],
            project=data.get("project"),
            compose_files=tuple(data.get("compose_files", ())),
            services=services,
            kubernetes=dict(data.get("kubernetes") or {}),
        )
