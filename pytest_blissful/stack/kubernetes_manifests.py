"""Manifests to apply: YAML files, directories of them, or Kustomize directories (``kubectl kustomize``)."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from pytest_blissful.stack.errors import StackError

KUSTOMIZATION_FILES = ("kustomization.yaml", "kustomization.yml", "Kustomization")
RUN_LABEL = "blissful.io/run-id"
MANAGED_BY = {"app.kubernetes.io/managed-by": "pytest-blissful"}


@dataclass(frozen=True)
class Manifest:
    """One object and where it came from (a file, or a Kustomize directory)."""

    source: str
    body: dict[str, Any]

    @property
    def kind(self) -> str:
        return str(self.body["kind"])

    @property
    def api_version(self) -> str:
        return str(self.body["apiVersion"])

    @property
    def name(self) -> str:
        return str(self.body["metadata"]["name"])

    @property
    def ref(self) -> str:
        return f"{self.kind.lower()}/{self.name}"


def load_manifests(paths: Sequence[Path], kubectl: str | None = None) -> list[Manifest]:
    """Every object of ``paths`` in order (a Kustomize directory is built first)."""
    found: list[Manifest] = []
    for path in paths:
        if not path.exists():
            raise StackError(f"manifest path not found: {path} (stack.kubernetes.manifests)")
        if path.is_dir() and any((path / name).is_file() for name in KUSTOMIZATION_FILES):
            found += _documents(_kustomize(path, kubectl), str(path))
        elif path.is_dir():
            files = sorted(p for p in path.iterdir() if p.suffix in (".yaml", ".yml", ".json") and p.is_file())
            if not files:
                raise StackError(f"no manifests (*.yaml, *.yml, *.json) in {path}")
            for file in files:
                found += _documents(file.read_text(encoding="utf-8"), str(file))
        else:
            found += _documents(path.read_text(encoding="utf-8"), str(path))
    if not found:
        raise StackError(f"no objects in {', '.join(map(str, paths))}")
    return found


def _kustomize(directory: Path, kubectl: str | None) -> str:
    if kubectl is None:
        from pytest_blissful.stack.kubernetes_client import kubectl as find_kubectl

        kubectl = find_kubectl()
    completed = subprocess.run([kubectl, "kustomize", str(directory)], capture_output=True, text=True,
                               timeout=120, check=False)
    if completed.returncode != 0:
        raise StackError(f"kustomize build of {directory} failed: {completed.stderr.strip()}")
    return completed.stdout


def _documents(text: str, source: str) -> list[Manifest]:
    try:
        documents = list(yaml.safe_load_all(text))
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{source}:{mark.line + 1}" if mark else source
        raise StackError(f"{where}: invalid YAML: {exc.problem}") from None
    found = []
    for index, document in enumerate(documents):
        if document is None:
            continue
        if isinstance(document, dict) and str(document.get("kind", "")).endswith("List") and "items" in document:
            items = list(document["items"] or [])
        else:
            items = [document]
        for item in items:
            if not _is_object(item):
                raise StackError(f"{source}: document {index + 1} is not a Kubernetes object (needs apiVersion, "
                                 "kind and metadata.name)")
            found.append(Manifest(source, item))
    return found


def _is_object(document: Any) -> bool:
    return (isinstance(document, dict) and bool(document.get("kind")) and bool(document.get("apiVersion"))
            and isinstance(document.get("metadata"), dict) and bool(document["metadata"].get("name")))


def labelled(manifest: Manifest, run_id: str, namespace: str | None) -> dict[str, Any]:
    """A copy of the object carrying the run's labels, in ``namespace`` (None: cluster-scoped)."""
    import copy

    body = copy.deepcopy(manifest.body)
    metadata = body.setdefault("metadata", {})
    metadata["labels"] = {**(metadata.get("labels") or {}), **MANAGED_BY, RUN_LABEL: run_id}
    if namespace is None:
        metadata.pop("namespace", None)
    else:
        metadata["namespace"] = namespace
    return body
